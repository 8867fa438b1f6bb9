#pragma once
// The flow model's per-period update, written once for the CPU and CUDA launchers (DESIGN
// decision 3). Layout: scenario-major, row s of an S x K (or S x G) array is scenario s.
//   clear_group:  per (s, g): the share of the group's WIP that leaves this period, from the load.
//   update_state: per (s, k): next WIP = stay + gathered inflow from predecessors + releases.
#include <cmath>

#include "fabtwin/compute/hd.hpp"

namespace fabtwin::flow::detail {

// Model structure, shared by all scenarios (device or host pointers).
struct Structure {
  int K = 0;                          // states: (product, step) pairs, then one sink per product
  int G = 0;                          // tool groups
  int P = 0;                          // products
  const int* group_of = nullptr;      // [K]: tool group of the state; -1 for a sink
  const int* product_of = nullptr;    // [K]
  const double* entry = nullptr;      // [K]: share of a product's releases entering the state
  const int* pred_offset = nullptr;   // [K + 1]: CSR over predecessors
  const int* pred_src = nullptr;      // source state
  const double* pred_prob = nullptr;  // share of the source's outflow that comes here
};

// Per-scenario parameters, S x G (group) or S x P (product).
struct Params {
  const double* cap = nullptr;      // tools * availability (tool-hours per hour)
  const double* sojourn = nullptr;  // fixed + process hours (at zero load)
  const double* queue_k = nullptr;  // k, hours
  const double* work = nullptr;     // work factor on the load
  const double* release = nullptr;  // lots per hour, S x P
};

// The busy share rho in [0, 1) for load w = W / cap hours of work per unit of capacity:
// w = rho * p + k * rho^2 / (1 - rho), i.e. (k - p) rho^2 + (p + w) rho - w = 0, taken in the form
// rho = 2 w / ((p + w) + sqrt((p + w)^2 + 4 (k - p) w)) (no cancellation, k == p included).
// The share of WIP that leaves per period of dt hours is X dt / W = rho dt / w; written without
// dividing by w so that it is finite at w = 0 (= dt / p), and capped at 1.
FABTWIN_HD_INLINE double clearing_denominator(double w, double p, double k) {
  const double a = p + w;
  double d = a * a + 4.0 * (k - p) * w;
  d = d > 0.0 ? d : 0.0;
  return a + sqrt(d);
}

FABTWIN_HD_INLINE void clear_group(int s, int g, const Structure& st, const Params& pr, double dt,
                                   const double* load, double* frac, double* acc_rho, bool measure) {
  const int i = s * st.G + g;
  const double cap = pr.cap[i];
  const double w = cap > 0.0 ? load[i] * pr.work[i] / cap : 0.0;
  const double den = clearing_denominator(w, pr.sojourn[i], pr.queue_k[i]);
  double f = den > 2.0 * dt ? 2.0 * dt / den : 1.0;
  if (cap <= 0.0) f = 0.0;
  frac[i] = f;
  if (measure) acc_rho[i] += w > 0.0 && den > 0.0 ? 2.0 * w / den : 0.0;
}

FABTWIN_HD_INLINE void update_state(int s, int k, const Structure& st, const Params& pr, double dt,
                                    const double* wip, const double* frac, double* next, double* acc_wip,
                                    bool measure) {
  const double* row = wip + static_cast<long long>(s) * st.K;
  const double* fr = frac + s * st.G;
  const int g = st.group_of[k];
  double v = g >= 0 ? row[k] * (1.0 - fr[g]) : row[k];
  for (int j = st.pred_offset[k]; j < st.pred_offset[k + 1]; ++j) {
    const int src = st.pred_src[j];
    v += row[src] * fr[st.group_of[src]] * st.pred_prob[j];
  }
  const double e = st.entry[k];
  if (e > 0.0) v += pr.release[s * st.P + st.product_of[k]] * dt * e;
  const long long idx = static_cast<long long>(s) * st.K + k;
  next[idx] = v;
  if (measure && g >= 0) acc_wip[idx] += v;
}

}  // namespace fabtwin::flow::detail
