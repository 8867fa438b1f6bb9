// Backend discovery. Compiled as C++ in every build; the CUDA runtime API is used only where the
// build has CUDA (FABTWIN_HAS_CUDA), linking CUDA::cudart.
#include "fabtwin/compute/backend.hpp"

#if FABTWIN_HAS_CUDA
#include <cuda_runtime_api.h>
#endif

namespace fabtwin::compute {

std::optional<Backend> parse_backend(std::string_view s) {
  if (s == "cpu") return Backend::Cpu;
  if (s == "cuda") return Backend::Cuda;
  return std::nullopt;
}

bool cuda_built() { return FABTWIN_HAS_CUDA != 0; }

bool cuda_available() {
#if FABTWIN_HAS_CUDA
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device / no driver" error
    return false;
  }
  return n > 0;
#else
  return false;
#endif
}

std::string cuda_device_name() {
#if FABTWIN_HAS_CUDA
  if (!cuda_available()) return "";
  cudaDeviceProp p{};
  if (cudaGetDeviceProperties(&p, 0) != cudaSuccess) return "";
  return std::string(p.name) + " (sm_" + std::to_string(p.major) + std::to_string(p.minor) + ", " +
         std::to_string(p.multiProcessorCount) + " SMs)";
#else
  return "";
#endif
}

}  // namespace fabtwin::compute
