#include "fabtwin/yield/commonality.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <unordered_map>

namespace fabtwin::yield {

std::uint32_t YieldRecords::add_history(std::span<const StepTool> steps) {
  pairs.insert(pairs.end(), steps.begin(), steps.end());
  history_offset.push_back(static_cast<std::uint32_t>(pairs.size()));
  return static_cast<std::uint32_t>(history_offset.size() - 2);
}

void YieldRecords::add_wafer(std::uint32_t history, double die_yield) {
  assert(history < histories());
  wafer_history.push_back(history);
  wafer_yield.push_back(die_yield);
}

namespace {

// Continued fraction for the incomplete beta function (modified Lentz).
double beta_cf(double a, double b, double x) {
  constexpr double tiny = 1e-300, eps = 1e-15;
  double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
  if (std::fabs(d) < tiny) d = tiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= 10000; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    h *= d * c;
    aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
    d = 1.0 + aa * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1.0) < eps) break;
  }
  return h;
}

// Regularized incomplete beta I_x(a, b).
double beta_inc(double a, double b, double x) {
  if (x <= 0.0) return 0.0;
  if (x >= 1.0) return 1.0;
  const double lbt =
      std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  if (x < (a + 1.0) / (a + b + 2.0)) return std::exp(lbt) * beta_cf(a, b, x) / a;
  return 1.0 - std::exp(lbt) * beta_cf(b, a, 1.0 - x) / b;
}

struct Moments {
  double n = 0, sum = 0, sum2 = 0;
  void add(const Moments& o) {
    n += o.n;
    sum += o.sum;
    sum2 += o.sum2;
  }
  Moments minus(const Moments& o) const { return {n - o.n, sum - o.sum, sum2 - o.sum2}; }
  double mean() const { return n > 0 ? sum / n : 0.0; }
  // Sample variance (n - 1), clamped at 0 against rounding.
  double var() const { return n > 1 ? std::max(0.0, (sum2 - sum * sum / n) / (n - 1)) : 0.0; }
};

std::uint64_t key(StepTool p) { return (static_cast<std::uint64_t>(p.step.value) << 32) | p.tool.value; }

// P(T > |t|), accurate far into the tail.
double student_t_tail(double t, double df) {
  if (std::isinf(t)) return 0.0;
  const double x = df / (df + t * t);
  return 0.5 * beta_inc(df / 2.0, 0.5, x);
}

}  // namespace

double student_t_cdf(double t, double df) {
  if (std::isnan(t) || !(df > 0)) return std::numeric_limits<double>::quiet_NaN();
  const double tail = student_t_tail(t, df);
  return t < 0 ? tail : 1.0 - tail;
}

std::vector<PairResult> commonality(const YieldRecords& rec, const CommonalityOptions& opt) {
  // 1. Per history: wafer moments (for yields) and the history's test-unit moments.
  const std::size_t nh = rec.histories();
  std::vector<Moments> wafers(nh);
  for (std::size_t w = 0; w < rec.wafers(); ++w) {
    const double y = rec.wafer_yield[w];
    Moments& m = wafers[rec.wafer_history[w]];
    m.n += 1;
    m.sum += y;
    m.sum2 += y * y;
  }
  struct Group {
    Moments wafers, units;
    void add(const Group& o) {
      wafers.add(o.wafers);
      units.add(o.units);
    }
  };
  std::vector<Group> hist(nh);
  for (std::size_t i = 0; i < nh; ++i) {
    hist[i].wafers = wafers[i];
    if (opt.unit == TestUnit::Wafer) {
      hist[i].units = wafers[i];
    } else if (wafers[i].n > 0) {
      const double y = wafers[i].mean();
      hist[i].units = Moments{1, y, y * y};
    }
  }
  // 2. Per (step, tool) and per step: the histories that went through (each history counted once
  //    per distinct pair and once per distinct step).
  std::unordered_map<std::uint64_t, Group> by_pair;
  std::unordered_map<std::uint32_t, Group> by_step;
  std::vector<StepTool> h;
  for (std::size_t i = 0; i < nh; ++i) {
    if (hist[i].wafers.n == 0) continue;
    h.assign(rec.pairs.begin() + rec.history_offset[i], rec.pairs.begin() + rec.history_offset[i + 1]);
    std::sort(h.begin(), h.end());
    h.erase(std::unique(h.begin(), h.end()), h.end());
    for (std::size_t j = 0; j < h.size(); ++j) {
      by_pair[key(h[j])].add(hist[i]);
      if (j == 0 || h[j].step != h[j - 1].step) by_step[h[j].step.value].add(hist[i]);
    }
  }
  // 3. Welch t per pair against the rest of its step.
  std::vector<PairResult> out;
  out.reserve(by_pair.size());
  for (const auto& [k, g] : by_pair) {
    const Group& step = by_step[static_cast<std::uint32_t>(k >> 32)];
    const Moments& in = g.units;
    const Moments other = step.units.minus(in);
    if (in.n < opt.min_units || other.n < opt.min_units) continue;
    PairResult r;
    r.pair = StepTool{model::StepId(static_cast<std::uint32_t>(k >> 32)),
                      model::ToolId(static_cast<std::uint32_t>(k))};
    const Moments wo = step.wafers.minus(g.wafers);
    r.n_in = static_cast<std::uint32_t>(g.wafers.n);
    r.n_out = static_cast<std::uint32_t>(wo.n);
    r.units_in = static_cast<std::uint32_t>(in.n);
    r.units_out = static_cast<std::uint32_t>(other.n);
    r.yield_in = g.wafers.mean();
    r.yield_out = wo.mean();
    r.difference = r.yield_in - r.yield_out;
    const double diff = in.mean() - other.mean();  // on the test units
    double se2 = 0;
    if (opt.variance == VarianceModel::Pooled) {
      // Under H0 (the tool makes no difference) both groups share one variance: estimate it from
      // both. A group of a few lots whose yields happen to agree cannot fake a tiny error then.
      const double dfp = in.n + other.n - 2;
      const double sp2 = dfp > 0 ? ((in.n - 1) * in.var() + (other.n - 1) * other.var()) / dfp : 0.0;
      se2 = sp2 * (1.0 / in.n + 1.0 / other.n);
      r.df = dfp;
    } else {
      const double vi = in.var() / in.n, vo = other.var() / other.n;
      se2 = vi + vo;
      const double den = (vi > 0 ? vi * vi / (in.n - 1) : 0.0) + (vo > 0 ? vo * vo / (other.n - 1) : 0.0);
      r.df = den > 0 ? se2 * se2 / den : in.n + other.n - 2;
    }
    if (se2 > 0) {
      r.t = diff / std::sqrt(se2);
      const double tail = student_t_tail(r.t, r.df);  // P(T > |t|)
      if (opt.alternative == Alternative::TwoSided)
        r.p = 2.0 * tail;
      else
        r.p = r.t < 0 ? tail : 1.0 - tail;
    } else {  // no spread at all: any difference is certain
      r.t = diff == 0 ? 0.0 : std::copysign(std::numeric_limits<double>::infinity(), diff);
      r.df = in.n + other.n - 2;
      const bool hit = opt.alternative == Alternative::Lower ? diff < 0 : diff != 0;
      r.p = hit ? 0.0 : 1.0;
    }
    r.p = std::clamp(r.p, 0.0, 1.0);
    out.push_back(r);
  }
  // 4. Rank, then correct for the number of pairs tested.
  std::sort(out.begin(), out.end(), [](const PairResult& a, const PairResult& b) {
    if (a.p != b.p) return a.p < b.p;
    if (a.difference != b.difference) return a.difference < b.difference;
    return a.pair < b.pair;
  });
  const double m = static_cast<double>(out.size());
  double running = 0.0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    double adj = out[i].p;
    if (opt.correction == Correction::Bonferroni) adj = std::min(1.0, m * out[i].p);
    if (opt.correction == Correction::Holm) {
      adj = std::min(1.0, (m - static_cast<double>(i)) * out[i].p);
      running = std::max(running, adj);  // Holm adjusted p-values are monotone
      adj = running;
    }
    out[i].p_adjusted = adj;
    out[i].significant = adj < opt.significance;
  }
  return out;
}

}  // namespace fabtwin::yield
