#pragma once
// FABTWIN_HD marks functions compiled for host and device (one kernel body, two launchers).
#if defined(__CUDACC__)
#define FABTWIN_HD __host__ __device__
#define FABTWIN_HD_INLINE __host__ __device__ __forceinline__
#else
#define FABTWIN_HD
#define FABTWIN_HD_INLINE inline
#endif
