#pragma once
// Replication statistics: mean, sample standard deviation and the 95 % confidence interval of the
// mean (Student t with n - 1 degrees of freedom); the paired difference of two scenarios run with
// the same seeds. Non-finite values (a metric a replication could not measure, e.g. the cycle time
// of a product with no completed lot) are left out (pairs: where either is).
#include <span>

namespace fabtwin::whatif {

// P(T <= t) for Student's t with `dof` (> 0) degrees of freedom.
double student_t_cdf(double t, double dof);
// The quantile: student_t_cdf(student_t_quantile(p, dof), dof) == p (p in (0, 1)), to 1e-12.
double student_t_quantile(double p, double dof);

struct Summary {
  std::size_t n = 0;
  double mean = 0, sd = 0;
  double half_width = 0;  // t(0.975, n - 1) * sd / sqrt(n); NaN when n < 2
  double lo() const { return mean - half_width; }
  double hi() const { return mean + half_width; }
};

Summary summarise(std::span<const double> values);
// Summary of a[i] - b[i] over the i where both are finite (a.size() == b.size()).
Summary paired_difference(std::span<const double> a, std::span<const double> b);

}  // namespace fabtwin::whatif
