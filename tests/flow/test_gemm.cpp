// compute::gemm (OpenBLAS where built, else the loop) against the plain triple loop.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <vector>

#include "fabtwin/compute/gemm.hpp"

using namespace fabtwin;

namespace {
std::vector<double> random_matrix(std::size_t n, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}
}  // namespace

TEST_CASE("gemm equals the plain loop for row-major shapes, strides and beta", "[flow][gemm]") {
  std::mt19937_64 rng(7);
  struct Shape {
    std::size_t m, n, k, pad;
    double alpha, beta;
  };
  const Shape shapes[] = {{1, 1, 1, 0, 1, 0},      {7, 5, 3, 0, 1, 0},  {33, 106, 926, 0, 1, 0},
                          {64, 17, 40, 3, 0.5, 2}, {5, 9, 1, 1, -1, 1}, {3, 4, 0, 0, 1, 0.5}};
  for (const Shape& s : shapes) {
    const std::size_t lda = s.k + s.pad, ldb = s.n + s.pad, ldc = s.n + s.pad;
    const auto a = random_matrix(s.m * lda, rng), b = random_matrix(std::max<std::size_t>(1, s.k) * ldb, rng);
    auto c1 = random_matrix(s.m * ldc, rng);
    auto c2 = c1;
    compute::gemm(s.m, s.n, s.k, s.alpha, a.data(), lda, b.data(), ldb, s.beta, c1.data(), ldc);
    compute::gemm_reference(s.m, s.n, s.k, s.alpha, a.data(), lda, b.data(), ldb, s.beta, c2.data(), ldc);
    INFO("m " << s.m << " n " << s.n << " k " << s.k << " on " << compute::cpu_blas_name());
    for (std::size_t i = 0; i < s.m; ++i)
      for (std::size_t j = 0; j < ldc; ++j) {
        const double x = c1[i * ldc + j], y = c2[i * ldc + j];
        if (j >= s.n)
          CHECK(x == y);  // padding untouched
        else
          CHECK(std::abs(x - y) <= 1e-12 * (1 + std::abs(y)) * std::max<std::size_t>(1, s.k));
      }
  }
}

TEST_CASE("gemm in float agrees with the double loop to float precision", "[flow][gemm]") {
  std::mt19937_64 rng(11);
  const std::size_t m = 20, n = 30, k = 50;
  const auto a = random_matrix(m * k, rng), b = random_matrix(k * n, rng);
  std::vector<float> af(a.begin(), a.end()), bf(b.begin(), b.end()), cf(m * n, 0.0f);
  std::vector<double> c(m * n, 0.0);
  compute::gemm(m, n, k, 1.0f, af.data(), k, bf.data(), n, 0.0f, cf.data(), n);
  compute::gemm_reference(m, n, k, 1.0, a.data(), k, b.data(), n, 0.0, c.data(), n);
  for (std::size_t i = 0; i < m * n; ++i) CHECK(std::abs(cf[i] - c[i]) <= 1e-4 * (1 + std::abs(c[i])));
}

TEST_CASE("gemm with an empty result touches nothing", "[flow][gemm]") {
  std::vector<double> c{42.0};
  compute::gemm(0, 1, 3, 1.0, nullptr, 3, nullptr, 1, 0.0, c.data(), 1);
  compute::gemm(1, 0, 3, 1.0, nullptr, 3, nullptr, 1, 0.0, c.data(), 1);
  CHECK(c[0] == 42.0);
}
