#pragma once
// The yield Monte Carlo kernel body: one source for the CPU launcher (mc_cpu.cpp) and the CUDA
// launcher (mc_cuda.cu). Everything here is FABTWIN_HD and uses only integer arithmetic and the
// deterministic double math of det_math.hpp, so a wafer's map is the same bit for bit on either.
//
// Per wafer (plan_wafer): the cluster factor G ~ Gamma(alpha, 1/alpha), the pass threshold for
// random defects, the signature events that fire and the scratch geometry, and (optionally) the
// defect counts per area. Per die (simulate_group*): one 32-bit Philox word u per die; the die
// passes when u < 2^32 e^{-lambda} (lambda: its killer-defect mean), and a failing die's cause is
// read from where u falls in the failing interval (no further random numbers).
//
// Random numbers: Philox4x32-10, key = (seed, kYieldStream), counter = (wafer uid low, wafer uid
// high, index, purpose << 24 | draw): index is the die group (4 dies per Philox block), the step
// of a signature event, or the area of a defect count.
#include <cstdint>

#include "det_math.hpp"
#include "fabtwin/compute/hd.hpp"
#include "fabtwin/compute/philox.hpp"
#include "fabtwin/yield/monte_carlo.hpp"
#include "fabtwin/yield/rates.hpp"

namespace fabtwin::yield::detail {

using compute::Philox4x32;
using compute::RandomKey;

inline constexpr std::uint32_t kYieldStream = 0x59494C44u;  // "YILD"
enum Purpose : std::uint32_t {
  kPurposeDie = 1,
  kPurposeGamma = 2,
  kPurposeEvent = 3,
  kPurposeScratch = 4,
  kPurposeCount = 5
};
inline constexpr double kTwo32 = 4294967296.0;

// Uniform configuration of one run (same for every wafer of a batch).
struct KernelConfig {
  RandomKey key;
  std::uint32_t n_dies = 0;         // dies per wafer
  std::uint32_t map_stride = 0;     // bytes per wafer in the map buffer (multiple of 4)
  std::uint32_t count_defects = 1;  // draw defects_by_area (0: leave them 0)
  double alpha = 0.0;               // cluster parameter; <= 0: no clustering (G = 1)
  double die_area_cm2 = 1.0;
  double usable_area_cm2 = 0.0;
  double usable_radius_mm = 147.0;
  double die_half_w_mm = 5.0, die_half_h_mm = 5.0;
  double scratch_half_length_mm = 50.0, scratch_half_width_mm = 1.0;
  double scratch_reach_mm = 8.0;  // circumradius of a die grown by the scratch half width (prefilter)
};

// Per-die tables of one die grid (device or host pointers).
struct DieTables {
  const double* x = nullptr;         // die centre x (mm)
  const double* y = nullptr;         // die centre y (mm)
  const double* w_centre = nullptr;  // centre-signature weight 0..1
  const double* w_edge = nullptr;    // edge-ring weight 0..1
};

struct ScratchSeg {
  double x0, y0, x1, y1;  // end points (mm)
  double nx, ny, c;       // the line: n . p = c, |n| = 1 (prefilter: dies farther than reach are missed)
  double lambda;          // killer defects per crossed die
};

// Everything the die loop needs for one wafer.
struct WaferPlan {
  std::uint64_t uid;
  std::uint64_t t_pass;  // without signatures a die passes iff u < t_pass (0..2^32)
  double lambda_random;  // killer defects per die from random/clustered defects (A D G)
  double lambda_centre;  // killer defects per die at centre weight 1 (sum of active events)
  double lambda_edge;    // the same for the edge ring
  double g;              // cluster factor G
  std::uint32_t n_areas;
  std::uint32_t n_scratches;
  std::uint32_t has_signatures;  // 0: the fast path applies to every die
  std::uint32_t pad_;
  std::uint64_t
      area_bound[kMaxAreas];   // fast path: a failing u < area_bound[a] belongs to area a (first such a)
  double area_cum[kMaxAreas];  // cumulative share of the killer density by area (last = 1)
  ScratchSeg scratch[kMaxScratches];
  std::uint32_t defects_by_area[kMaxAreas];
};

// Uniform in the open interval (0, 1) from two words: 52 random bits, (k + 1/2) 2^-52, exact in a
// double. (With 53 bits, as compute::u01_open, the largest value rounds to 1.0.)
FABTWIN_HD_INLINE double open_uniform(std::uint32_t hi, std::uint32_t lo) {
  const std::uint64_t k = ((static_cast<std::uint64_t>(hi) << 32) | lo) >> 12;
  return (static_cast<double>(k) + 0.5) * (1.0 / 4503599627370496.0);
}

// Sequential Philox words for one (wafer, index, purpose); used by the per-wafer draws.
struct Stream {
  RandomKey key;
  std::uint32_t c0, c1, c2, c3;
  std::uint32_t draw = 0;
  std::uint32_t buf[4] = {0, 0, 0, 0};
  int pos = 4;

  FABTWIN_HD Stream(RandomKey k, std::uint64_t uid, std::uint32_t index, std::uint32_t purpose)
      : key(k),
        c0(static_cast<std::uint32_t>(uid)),
        c1(static_cast<std::uint32_t>(uid >> 32)),
        c2(index),
        c3(purpose << 24) {}
  FABTWIN_HD std::uint32_t next_u32() {
    if (pos == 4) {
      const Philox4x32 r =
          compute::philox4x32_10(Philox4x32{{c0, c1, c2, c3 | (draw & 0xffffffu)}}, key.k0, key.k1);
      ++draw;
      buf[0] = r.v[0];
      buf[1] = r.v[1];
      buf[2] = r.v[2];
      buf[3] = r.v[3];
      pos = 0;
    }
    return buf[pos++];
  }
  FABTWIN_HD double uniform();
};

FABTWIN_HD_INLINE double Stream::uniform() {
  const std::uint32_t hi = next_u32();
  const std::uint32_t lo = next_u32();
  return open_uniform(hi, lo);
}

// Standard normal by Marsaglia's polar method.
FABTWIN_HD_INLINE double draw_normal(Stream& s) {
  for (;;) {
    const double a = 2.0 * s.uniform() - 1.0;
    const double b = 2.0 * s.uniform() - 1.0;
    const double r2 = a * a + b * b;
    if (r2 >= 1.0 || r2 == 0.0) continue;
    return a * det_sqrt(-2.0 * det_log(r2) / r2);
  }
}

// Gamma(shape, 1) by Marsaglia and Tsang (2000); shape < 1 by boosting with U^{1/shape}.
FABTWIN_HD_INLINE double draw_gamma(double shape, Stream& s) {
  const bool boost = shape < 1.0;
  const double a = boost ? shape + 1.0 : shape;
  const double d = a - 1.0 / 3.0;
  const double c = 1.0 / det_sqrt(9.0 * d);
  double g;
  for (;;) {
    const double x = draw_normal(s);
    double v = 1.0 + c * x;
    if (v <= 0.0) continue;
    v = v * v * v;
    const double u = s.uniform();
    const double x2 = x * x;
    if (u < 1.0 - 0.0331 * (x2 * x2)) {
      g = d * v;
      break;
    }
    if (det_log(u) < 0.5 * x2 + d * (1.0 - v + det_log(v))) {
      g = d * v;
      break;
    }
  }
  if (boost) g = g * det_exp(det_log(s.uniform()) / shape);
  return g;
}

// Poisson(mu): inversion below mu = 10, Hormann's PTRS (transformed rejection) above.
FABTWIN_HD_INLINE std::uint32_t draw_poisson(double mu, Stream& s) {
  if (!(mu > 0.0)) return 0;
  if (mu < 10.0) {
    const double u = s.uniform();
    double p = det_exp(-mu);
    double f = p;
    std::uint32_t k = 0;
    while (u > f && k < 200) {
      ++k;
      p = p * mu / static_cast<double>(k);
      f += p;
    }
    return k;
  }
  if (mu > 4.0e9) mu = 4.0e9;
  const double slam = det_sqrt(mu);
  double loglam = 0.0;  // ln mu, computed when the squeeze does not decide
  const double b = 0.931 + 2.53 * slam;
  const double a = -0.059 + 0.02483 * b;
  const double invalpha = 1.1239 + 1.1328 / (b - 3.4);
  const double vr = 0.9277 - 3.6224 / (b - 2.0);
  for (;;) {
    const double u = s.uniform() - 0.5;
    const double v = s.uniform();
    const double us = 0.5 - det_abs(u);
    const double kd = det_floor((2.0 * a / us + b) * u + mu + 0.43);
    if (us >= 0.07 && v <= vr) return static_cast<std::uint32_t>(kd);
    if (kd < 0.0 || (us < 0.013 && v > us)) continue;
    if (loglam == 0.0) loglam = det_log(mu);
    if (det_log(v) + det_log(invalpha) - det_log(a / (us * us) + b) <=
        -mu + kd * loglam - det_lgamma(kd + 1.0))
      return static_cast<std::uint32_t>(kd);
  }
}

// 2^32 q for q in [0, 1] (truncated): a die passes iff its word u < threshold(q), P = q up to 2^-32.
FABTWIN_HD_INLINE std::uint64_t to_threshold(double q) {
  if (!(q > 0.0)) return 0;
  if (q >= 1.0) return 1ull << 32;
  return static_cast<std::uint64_t>(q * kTwo32);
}

FABTWIN_HD_INLINE void plan_wafer(const KernelConfig& k, const WaferRates& r, std::uint64_t uid,
                                  WaferPlan& p) {
  p.uid = uid;
  double g = 1.0;
  if (k.alpha > 0.0) {
    Stream s(k.key, uid, 0, kPurposeGamma);
    g = draw_gamma(k.alpha, s) / k.alpha;
  }
  p.g = g;
  const std::uint32_t na = r.n_areas < kMaxAreas ? r.n_areas : kMaxAreas;
  p.n_areas = na;
  double dsum = 0.0;
  for (std::uint32_t a = 0; a < na; ++a) dsum += r.kill_density[a];
  p.lambda_random = k.die_area_cm2 * dsum * g;
  p.t_pass = to_threshold(det_exp(-p.lambda_random));
  const double span = static_cast<double>((1ull << 32) - p.t_pass);
  double c = 0.0;
  for (std::uint32_t a = 0; a < kMaxAreas; ++a) {
    if (a < na) c += r.kill_density[a];
    const double cum = (a + 1 >= na || !(dsum > 0.0)) ? 1.0 : c / dsum;
    p.area_cum[a] = cum;
    p.area_bound[a] = p.t_pass + static_cast<std::uint64_t>(span * cum);
    p.defects_by_area[a] = 0;
  }
  // Signature events.
  p.lambda_centre = 0.0;
  p.lambda_edge = 0.0;
  p.n_scratches = 0;
  p.pad_ = 0;
  const std::uint32_t ne = r.n_events < kMaxEvents ? r.n_events : kMaxEvents;
  for (std::uint32_t e = 0; e < ne; ++e) {
    const SignatureEvent& ev = r.events[e];
    const std::uint32_t kind = static_cast<std::uint32_t>(ev.kind);
    if (kind == 0 || !(ev.intensity > 0.0)) continue;
    Stream fire(k.key, uid, ev.step, (kPurposeEvent << 4) | kind);
    if (!(fire.uniform() < ev.probability)) continue;
    const double lam = k.die_area_cm2 * ev.intensity;
    if (ev.kind == Signature::Centre) {
      p.lambda_centre += lam;
    } else if (ev.kind == Signature::EdgeRing) {
      p.lambda_edge += lam;
    } else if (ev.kind == Signature::Scratch && p.n_scratches < kMaxScratches) {
      Stream geo(k.key, uid, ev.step, (kPurposeScratch << 4) | kind);
      double cx, cy;
      for (;;) {  // centre uniform on the usable disc
        cx = 2.0 * geo.uniform() - 1.0;
        cy = 2.0 * geo.uniform() - 1.0;
        if (cx * cx + cy * cy < 1.0) break;
      }
      double dx, dy, r2;
      for (;;) {  // direction uniform on the circle
        dx = 2.0 * geo.uniform() - 1.0;
        dy = 2.0 * geo.uniform() - 1.0;
        r2 = dx * dx + dy * dy;
        if (r2 < 1.0 && r2 > 1e-6) break;
      }
      const double len = det_sqrt(r2);
      const double inv = k.scratch_half_length_mm / len;
      cx = cx * k.usable_radius_mm;
      cy = cy * k.usable_radius_mm;
      ScratchSeg& sc = p.scratch[p.n_scratches++];
      sc.x0 = cx - dx * inv;
      sc.y0 = cy - dy * inv;
      sc.x1 = cx + dx * inv;
      sc.y1 = cy + dy * inv;
      sc.nx = -dy / len;
      sc.ny = dx / len;
      sc.c = sc.nx * cx + sc.ny * cy;
      sc.lambda = lam;
    }
  }
  p.has_signatures = (p.lambda_centre > 0.0 || p.lambda_edge > 0.0 || p.n_scratches > 0) ? 1u : 0u;
  if (k.count_defects) {
    for (std::uint32_t a = 0; a < na; ++a) {
      Stream s(k.key, uid, a, kPurposeCount);
      p.defects_by_area[a] = draw_poisson(k.usable_area_cm2 * r.defect_density[a] * g, s);
    }
  }
}

// Liang-Barsky: does segment (x0,y0)-(x1,y1) meet the box [xmin,xmax] x [ymin,ymax]?
FABTWIN_HD_INLINE bool segment_hits_box(const ScratchSeg& s, double xmin, double xmax, double ymin,
                                        double ymax) {
  const double dx = s.x1 - s.x0, dy = s.y1 - s.y0;
  double t0 = 0.0, t1 = 1.0;
  const double pp[4] = {-dx, dx, -dy, dy};
  const double qq[4] = {s.x0 - xmin, xmax - s.x0, s.y0 - ymin, ymax - s.y0};
  for (int i = 0; i < 4; ++i) {
    if (pp[i] == 0.0) {
      if (qq[i] < 0.0) return false;
      continue;
    }
    const double t = qq[i] / pp[i];
    if (pp[i] < 0.0) {
      if (t > t1) return false;
      if (t > t0) t0 = t;
    } else {
      if (t < t0) return false;
      if (t < t1) t1 = t;
    }
  }
  return true;
}

// Fast path (no signature at this die): bin of a die with word u, counting its area.
template <class Sink>
FABTWIN_HD_INLINE std::uint32_t die_code_fast(const WaferPlan& p, std::uint32_t u, Sink& sink) {
  if (u < p.t_pass) return kBinPass;
  std::uint32_t a = 0;
  while (a + 1 < p.n_areas && u >= p.area_bound[a]) ++a;
  sink.area(a);
  return kBinRandom;
}

// General path: signatures raise the killer rate of die i by its position.
template <class Sink>
FABTWIN_HD_INLINE std::uint32_t die_code_general(const KernelConfig& k, const DieTables& t,
                                                 const WaferPlan& p, std::uint32_t i, std::uint32_t u,
                                                 Sink& sink) {
  const double lc = p.lambda_centre * t.w_centre[i];
  const double le = p.lambda_edge * t.w_edge[i];
  double ls = 0.0;
  if (p.n_scratches > 0) {
    const double xmin = t.x[i] - k.die_half_w_mm - k.scratch_half_width_mm;
    const double xmax = t.x[i] + k.die_half_w_mm + k.scratch_half_width_mm;
    const double ymin = t.y[i] - k.die_half_h_mm - k.scratch_half_width_mm;
    const double ymax = t.y[i] + k.die_half_h_mm + k.scratch_half_width_mm;
    for (std::uint32_t s = 0; s < p.n_scratches; ++s) {
      const ScratchSeg& sc = p.scratch[s];
      if (det_abs(sc.nx * t.x[i] + sc.ny * t.y[i] - sc.c) > k.scratch_reach_mm)
        continue;  // far from the line
      if (segment_hits_box(sc, xmin, xmax, ymin, ymax)) ls += sc.lambda;
    }
  }
  const double sig = (lc + le) + ls;
  if (!(sig > 0.0)) return die_code_fast(p, u, sink);
  const double lam = p.lambda_random + sig;
  const std::uint64_t tp = to_threshold(det_exp(-lam));
  if (u < tp) return kBinPass;
  // Position of u in the failing interval [tp, 2^32) -> cause, in proportion to the rates.
  double x = static_cast<double>(u - tp) / static_cast<double>((1ull << 32) - tp) * lam;
  if (x < p.lambda_random) {
    const double share = x / p.lambda_random;
    std::uint32_t a = 0;
    while (a + 1 < p.n_areas && share >= p.area_cum[a]) ++a;
    sink.area(a);
    return kBinRandom;
  }
  x -= p.lambda_random;
  if (x < lc) return kBinCentre;
  x -= lc;
  if (x < le) return kBinEdgeRing;
  if (ls > 0.0) return kBinScratch;
  return le > 0.0 ? kBinEdgeRing : kBinCentre;  // rounding at the top of the interval
}

// Four dies (one Philox block): group g covers dies 4g .. 4g+3. Returns their bins packed little
// endian (die 4g in the low byte; 0 for padding past the last die). Only failing dies reach the
// sink (sink.fail(bin), and sink.area(a) for random-defect fails): passes are dies minus fails.
// kGeneral must be p.has_signatures != 0 (the launchers choose per wafer; the fast variant needs
// neither the die tables nor floating point).
template <bool kGeneral, class Sink>
FABTWIN_HD_INLINE std::uint32_t simulate_group(const KernelConfig& k, const DieTables& t, const WaferPlan& p,
                                               std::uint32_t g, Sink& sink) {
  const Philox4x32 r =
      compute::philox4x32_10(Philox4x32{{static_cast<std::uint32_t>(p.uid),
                                         static_cast<std::uint32_t>(p.uid >> 32), g, kPurposeDie << 24}},
                             k.key.k0, k.key.k1);
  std::uint32_t packed = 0;
  const std::uint32_t first = g * 4;
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
  for (std::uint32_t j = 0; j < 4; ++j) {
    const std::uint32_t i = first + j;
    if (i >= k.n_dies) break;
    std::uint32_t code;
    if constexpr (kGeneral)
      code = die_code_general(k, t, p, i, r.v[j], sink);
    else
      code = die_code_fast(p, r.v[j], sink);
    if (code != kBinPass) {
      sink.fail(code);
      packed |= code << (8 * j);
    }
  }
  return packed;
}

// Summary fields known from the plan alone (the fail counts are added by the launcher, then
// finish_summary derives the passes).
FABTWIN_HD_INLINE void start_summary(const KernelConfig& k, const WaferPlan& p, WaferSummary& s) {
  s.dies = k.n_dies;
  s.pass = 0;
  for (std::uint32_t b = 0; b < kBinCount; ++b) s.bins[b] = 0;
  for (std::uint32_t a = 0; a < kMaxAreas; ++a) {
    s.killed_by_area[a] = 0;
    s.defects_by_area[a] = p.defects_by_area[a];
  }
  s.cluster_factor = p.g;
}

FABTWIN_HD_INLINE void finish_summary(WaferSummary& s) {
  std::uint32_t fails = 0;
  for (std::uint32_t b = 1; b < kBinCount; ++b) fails += s.bins[b];
  s.pass = s.dies - fails;
  s.bins[kBinPass] = s.pass;
}

}  // namespace fabtwin::yield::detail
