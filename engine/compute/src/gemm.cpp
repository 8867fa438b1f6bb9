// compute::gemm on the CPU: OpenBLAS's cblas where the build found it (FABTWIN_HAS_BLAS), else the
// plain loop.
#include "fabtwin/compute/gemm.hpp"

#if FABTWIN_HAS_BLAS
#include <cblas.h>
#endif

namespace fabtwin::compute {

namespace {

template <class T>
void loop_gemm(std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a, std::size_t lda, const T* b,
               std::size_t ldb, T beta, T* c, std::size_t ldc) {
  for (std::size_t i = 0; i < m; ++i) {
    T* ci = c + i * ldc;
    for (std::size_t j = 0; j < n; ++j) ci[j] = beta == T(0) ? T(0) : beta * ci[j];
    for (std::size_t p = 0; p < k; ++p) {
      const T aip = alpha * a[i * lda + p];
      if (aip == T(0)) continue;
      const T* bp = b + p * ldb;
      for (std::size_t j = 0; j < n; ++j) ci[j] += aip * bp[j];
    }
  }
}

}  // namespace

void gemm_reference(std::size_t m, std::size_t n, std::size_t k, double alpha, const double* a,
                    std::size_t lda, const double* b, std::size_t ldb, double beta, double* c,
                    std::size_t ldc) {
  loop_gemm(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm(std::size_t m, std::size_t n, std::size_t k, double alpha, const double* a, std::size_t lda,
          const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc) {
  if (m == 0 || n == 0) return;
#if FABTWIN_HAS_BLAS
  if (k > 0) {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta, c,
                static_cast<int>(ldc));
    return;
  }
#endif
  loop_gemm(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm(std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a, std::size_t lda,
          const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
  if (m == 0 || n == 0) return;
#if FABTWIN_HAS_BLAS
  if (k > 0) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta, c,
                static_cast<int>(ldc));
    return;
  }
#endif
  loop_gemm(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

std::string_view cpu_blas_name() { return FABTWIN_HAS_BLAS ? "openblas" : "loop"; }

#if FABTWIN_HAS_BLAS
extern "C" void openblas_set_num_threads(int);
#endif

void cpu_blas_single_threaded() {
#if FABTWIN_HAS_BLAS
  openblas_set_num_threads(1);
#endif
}

}  // namespace fabtwin::compute
