#pragma once
// Analytic die-yield models for a die of critical area A (cm^2) and killer defect density D
// (defects/cm^2); AD is the mean number of killer defects per die.
#include <cmath>

namespace fabtwin::yield {

// Poisson (random, unclustered defects): e^{-AD}.
inline double yield_poisson(double ad) { return std::exp(-ad); }
// Murphy (triangular density distribution): ((1 - e^{-AD}) / AD)^2; 1 at AD = 0.
inline double yield_murphy(double ad) {
  if (ad <= 0) return 1.0;
  const double t = -std::expm1(-ad) / ad;
  return t * t;
}
// Seeds (exponential density distribution): 1 / (1 + AD).
inline double yield_seeds(double ad) { return 1.0 / (1.0 + ad); }
// Negative binomial (Stapper; gamma-distributed density, cluster parameter alpha > 0):
// (1 + AD/alpha)^{-alpha}. alpha <= 0 or infinite means no clustering: the Poisson yield.
inline double yield_negative_binomial(double ad, double alpha) {
  if (!(alpha > 0) || std::isinf(alpha)) return yield_poisson(ad);
  return std::exp(-alpha * std::log1p(ad / alpha));
}

struct AnalyticYields {
  double poisson, murphy, seeds, negative_binomial;
};
inline AnalyticYields analytic_yields(double ad, double alpha) {
  return {yield_poisson(ad), yield_murphy(ad), yield_seeds(ad), yield_negative_binomial(ad, alpha)};
}

}  // namespace fabtwin::yield
