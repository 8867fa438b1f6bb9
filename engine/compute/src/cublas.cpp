// compute::gemm_device on cuBLAS. Row-major C = A * B is column-major C^T = B^T * A^T, so the
// operands go in swapped: cublas(n, m, k, B, A) (no transposes).
#include "fabtwin/compute/cublas.hpp"

#include <utility>

namespace fabtwin::compute {

namespace {
const char* status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS:
      return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED:
      return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE:
      return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH:
      return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR:
      return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED:
      return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR:
      return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return "CUBLAS_STATUS_NOT_SUPPORTED";
    default:
      return "CUBLAS_STATUS_(unknown)";
  }
}
}  // namespace

void cublas_check(cublasStatus_t s, const char* call, const char* file, int line) {
  if (s == CUBLAS_STATUS_SUCCESS) return;
  throw CublasError(std::string(file) + ":" + std::to_string(line) + ": " + status_name(s) + " in `" + call +
                    "`");
}

CublasHandle::CublasHandle(cudaStream_t stream) {
  FABTWIN_CUBLAS_CHECK(cublasCreate(&h_));
  // Reproducible results: no atomics-based algorithms.
  FABTWIN_CUBLAS_CHECK(cublasSetAtomicsMode(h_, CUBLAS_ATOMICS_NOT_ALLOWED));
  if (stream) FABTWIN_CUBLAS_CHECK(cublasSetStream(h_, stream));
}
CublasHandle::~CublasHandle() {
  if (h_) cublasDestroy(h_);
}
CublasHandle::CublasHandle(CublasHandle&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
CublasHandle& CublasHandle::operator=(CublasHandle&& o) noexcept {
  if (this != &o) {
    if (h_) cublasDestroy(h_);
    h_ = std::exchange(o.h_, nullptr);
  }
  return *this;
}

void gemm_device(const CublasHandle& h, std::size_t m, std::size_t n, std::size_t k, double alpha,
                 const double* a, std::size_t lda, const double* b, std::size_t ldb, double beta, double* c,
                 std::size_t ldc) {
  if (m == 0 || n == 0) return;
  FABTWIN_CUBLAS_CHECK(cublasDgemm(h.get(), CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(n),
                                   static_cast<int>(m), static_cast<int>(k), &alpha, b, static_cast<int>(ldb),
                                   a, static_cast<int>(lda), &beta, c, static_cast<int>(ldc)));
}

void gemm_device(const CublasHandle& h, std::size_t m, std::size_t n, std::size_t k, float alpha,
                 const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta, float* c,
                 std::size_t ldc) {
  if (m == 0 || n == 0) return;
  FABTWIN_CUBLAS_CHECK(cublasSgemm(h.get(), CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(n),
                                   static_cast<int>(m), static_cast<int>(k), &alpha, b, static_cast<int>(ldb),
                                   a, static_cast<int>(lda), &beta, c, static_cast<int>(ldc)));
}

}  // namespace fabtwin::compute
