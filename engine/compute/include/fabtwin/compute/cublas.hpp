#pragma once
// cuBLAS behind the same shapes as gemm.hpp: row-major C = alpha * A * B + beta * C on device
// pointers. CublasHandle is the move-only owner of a cublasHandle_t bound to a stream; every cuBLAS
// call goes through FABTWIN_CUBLAS_CHECK (throws CudaError-like CublasError naming file:line and
// the status). CUDA builds only (the target links CUDA::cublas).
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <stdexcept>
#include <string>

namespace fabtwin::compute {

class CublasError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws CublasError "file:line: CUBLAS_STATUS_X in `call`" unless `s` is CUBLAS_STATUS_SUCCESS.
void cublas_check(cublasStatus_t s, const char* call, const char* file, int line);

class CublasHandle {
 public:
  explicit CublasHandle(cudaStream_t stream = nullptr);
  ~CublasHandle();
  CublasHandle(CublasHandle&& o) noexcept;
  CublasHandle& operator=(CublasHandle&& o) noexcept;
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;
  cublasHandle_t get() const { return h_; }

 private:
  cublasHandle_t h_ = nullptr;
};

// Device pointers; same shapes and leading dimensions as compute::gemm. Asynchronous on the
// handle's stream.
void gemm_device(const CublasHandle& h, std::size_t m, std::size_t n, std::size_t k, double alpha,
                 const double* a, std::size_t lda, const double* b, std::size_t ldb, double beta, double* c,
                 std::size_t ldc);
void gemm_device(const CublasHandle& h, std::size_t m, std::size_t n, std::size_t k, float alpha,
                 const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta, float* c,
                 std::size_t ldc);

}  // namespace fabtwin::compute

#define FABTWIN_CUBLAS_CHECK(call) ::fabtwin::compute::cublas_check((call), #call, __FILE__, __LINE__)
