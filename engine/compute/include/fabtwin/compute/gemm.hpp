#pragma once
// Dense matrix product behind one interface (DESIGN decision 3): C = alpha * A * B + beta * C, all
// row-major, on the CPU. OpenBLAS (cblas_dgemm / cblas_sgemm) where the build found it
// (FABTWIN_BLAS: AUTO, ON, OFF), else a plain loop. The GPU twin is cublas.hpp (CUDA builds).
// Shapes: A is m x k (leading dimension lda >= k), B is k x n (ldb >= n), C is m x n (ldc >= n).
// m, n or k of 0 is allowed (nothing is read; with k == 0, C = beta * C).
#include <cstddef>
#include <string_view>

namespace fabtwin::compute {

void gemm(std::size_t m, std::size_t n, std::size_t k, double alpha, const double* a, std::size_t lda,
          const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc);
void gemm(std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a, std::size_t lda,
          const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc);

// The plain triple loop gemm() falls back to, always built (tests compare the BLAS path with it).
void gemm_reference(std::size_t m, std::size_t n, std::size_t k, double alpha, const double* a,
                    std::size_t lda, const double* b, std::size_t ldb, double beta, double* c,
                    std::size_t ldc);

// "openblas" or "loop": what gemm() runs on the CPU in this build.
std::string_view cpu_blas_name();

// Makes the CPU BLAS use one thread per call (callers that split work over their own threads,
// like engine/flow, call this once). No effect with the plain loop.
void cpu_blas_single_threaded();

}  // namespace fabtwin::compute
