#include "fabtwin/yield/commonality.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_map>

namespace fabtwin::yield {

std::uint32_t YieldRecords::add_history(std::span<const StepTool> steps, std::uint32_t stratum) {
  pairs.insert(pairs.end(), steps.begin(), steps.end());
  history_offset.push_back(static_cast<std::uint32_t>(pairs.size()));
  const auto h = static_cast<std::uint32_t>(history_offset.size() - 2);
  if (history_stratum.size() < h) history_stratum.resize(h, 0);
  history_stratum.push_back(stratum);
  return h;
}

std::string_view to_string(Level level) {
  switch (level) {
    case Level::StepTool:
      return "step_tool";
    case Level::Tool:
      return "tool";
    case Level::ToolGroup:
      return "tool_group";
  }
  return "?";
}

std::optional<Level> parse_level(std::string_view name) {
  for (Level l : {Level::StepTool, Level::Tool, Level::ToolGroup})
    if (to_string(l) == name) return l;
  return std::nullopt;
}

std::array<std::size_t, 3> tests_per_level(std::span<const CommonalityResult> results) {
  std::array<std::size_t, 3> n{};
  for (const auto& r : results) ++n[static_cast<std::size_t>(r.level)];
  return n;
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

double f_upper_tail(double f, double df1, double df2) {
  if (std::isnan(f) || !(df1 > 0) || !(df2 > 0)) return std::numeric_limits<double>::quiet_NaN();
  if (f <= 0) return 1.0;
  if (std::isinf(f)) return 0.0;
  return beta_inc(df2 / 2.0, df1 / 2.0, df2 / (df2 + df1 * f));
}

double student_t_cdf(double t, double df) {
  if (std::isnan(t) || !(df > 0)) return std::numeric_limits<double>::quiet_NaN();
  const double tail = student_t_tail(t, df);
  return t < 0 ? tail : 1.0 - tail;
}

namespace {

struct Group {
  Moments wafers, units;
  void add(const Group& o) {
    wafers.add(o.wafers);
    units.add(o.units);
  }
};

// p of a t statistic under the alternative.
double p_of_t(double t, double df, Alternative alt) {
  const double tail = student_t_tail(t, df);  // P(T > |t|)
  if (alt == Alternative::TwoSided) return std::clamp(2.0 * tail, 0.0, 1.0);
  return std::clamp(t < 0 ? tail : 1.0 - tail, 0.0, 1.0);
}

// 1. StepTool: each (step, tool) pair against the rest of its step.
void step_tool_level(const YieldRecords& rec, std::span<const Group> hist,
                     std::span<const std::uint32_t> group_of, const CommonalityOptions& opt,
                     std::vector<CommonalityResult>& out) {
  // The histories that went through each (step, tool) and each step (each history counted once
  // per distinct pair and once per distinct step).
  std::unordered_map<std::uint64_t, Group> by_pair;
  std::unordered_map<std::uint32_t, Group> by_step;
  std::vector<StepTool> h;
  for (std::size_t i = 0; i < hist.size(); ++i) {
    if (hist[i].wafers.n == 0) continue;
    h.assign(rec.pairs.begin() + rec.history_offset[i], rec.pairs.begin() + rec.history_offset[i + 1]);
    std::sort(h.begin(), h.end());
    h.erase(std::unique(h.begin(), h.end()), h.end());
    for (std::size_t j = 0; j < h.size(); ++j) {
      by_pair[key(h[j])].add(hist[i]);
      if (j == 0 || h[j].step != h[j - 1].step) by_step[h[j].step.value].add(hist[i]);
    }
  }
  for (const auto& [k, g] : by_pair) {
    const Group& step = by_step[static_cast<std::uint32_t>(k >> 32)];
    const Moments& in = g.units;
    const Moments other = step.units.minus(in);
    if (in.n < opt.min_units || other.n < opt.min_units) continue;
    CommonalityResult r;
    r.level = Level::StepTool;
    r.pair = StepTool{model::StepId(static_cast<std::uint32_t>(k >> 32)),
                      model::ToolId(static_cast<std::uint32_t>(k))};
    if (r.pair.tool.index() < group_of.size() && group_of[r.pair.tool.index()] != UINT32_MAX)
      r.group = model::ToolGroupId(group_of[r.pair.tool.index()]);
    const Moments wo = step.wafers.minus(g.wafers);
    r.n_in = static_cast<std::uint32_t>(g.wafers.n);
    r.n_out = static_cast<std::uint32_t>(wo.n);
    r.units_in = static_cast<std::uint32_t>(in.n);
    r.units_out = static_cast<std::uint32_t>(other.n);
    r.yield_in = g.wafers.mean();
    r.yield_out = wo.mean();
    r.difference = r.yield_in - r.yield_out;
    const double diff = in.mean() - other.mean();  // on the test units
    r.effect = diff;
    double se2 = 0, df = 0;
    if (opt.variance == VarianceModel::Pooled) {
      // Under H0 (the tool makes no difference) both groups share one variance: estimate it from
      // both. A group of a few lots whose yields happen to agree cannot fake a tiny error then.
      const double dfp = in.n + other.n - 2;
      const double sp2 = dfp > 0 ? ((in.n - 1) * in.var() + (other.n - 1) * other.var()) / dfp : 0.0;
      se2 = sp2 * (1.0 / in.n + 1.0 / other.n);
      df = dfp;
    } else {
      const double vi = in.var() / in.n, vo = other.var() / other.n;
      se2 = vi + vo;
      const double den = (vi > 0 ? vi * vi / (in.n - 1) : 0.0) + (vo > 0 ? vo * vo / (other.n - 1) : 0.0);
      df = den > 0 ? se2 * se2 / den : in.n + other.n - 2;
    }
    if (se2 > 0) {
      r.statistic = diff / std::sqrt(se2);
      r.p = p_of_t(r.statistic, df, opt.alternative);
    } else {  // no spread at all: any difference is certain
      r.statistic = diff == 0 ? 0.0 : std::copysign(std::numeric_limits<double>::infinity(), diff);
      df = in.n + other.n - 2;
      const bool hit = opt.alternative == Alternative::Lower ? diff < 0 : diff != 0;
      r.p = hit ? 0.0 : 1.0;
    }
    r.df1 = df;
    out.push_back(r);
  }
}

// Tool groups per tool: given, or derived (tools that ran a common step share a group, named by
// the lowest tool id of the group). UINT32_MAX: no group.
std::vector<std::uint32_t> tool_groups(const YieldRecords& rec) {
  std::uint32_t tools = 0;
  for (const auto& p : rec.pairs)
    if (p.tool.valid()) tools = std::max(tools, p.tool.value + 1);
  std::vector<std::uint32_t> g(tools, UINT32_MAX);
  if (!rec.tool_group.empty()) {
    for (std::uint32_t t = 0; t < tools && t < rec.tool_group.size(); ++t)
      if (rec.tool_group[t].valid()) g[t] = rec.tool_group[t].value;
    return g;
  }
  std::vector<std::uint32_t> parent(tools);
  std::iota(parent.begin(), parent.end(), 0u);
  auto find = [&](std::uint32_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  };
  std::unordered_map<std::uint32_t, std::uint32_t> first_tool_of_step;
  for (const auto& p : rec.pairs) {
    if (!p.tool.valid()) continue;
    auto [it, fresh] = first_tool_of_step.try_emplace(p.step.value, p.tool.value);
    if (!fresh) {
      const std::uint32_t a = find(it->second), b = find(p.tool.value);
      if (a != b) parent[std::max(a, b)] = std::min(a, b);  // the root stays the lowest id
    }
  }
  for (const auto& p : rec.pairs)
    if (p.tool.valid()) g[p.tool.value] = find(p.tool.value);
  return g;
}

// Symmetric cross-product matrix of centered columns; residualize() regresses every other column
// on column k and keeps the residuals' cross-products (one Gauss-Jordan sweep, k then dropped).
struct CrossProducts {
  std::size_t n = 0;
  std::vector<double> a;
  std::vector<double> diag0;  // diagonal before any residualization (for the rank tolerance)
  double& at(std::size_t i, std::size_t j) { return a[i * n + j]; }
  double at(std::size_t i, std::size_t j) const { return a[i * n + j]; }
  // False (and nothing changed) when column k is (numerically) a combination of those already swept.
  bool residualize(std::size_t k) {
    const double d = at(k, k);
    if (!(d > 1e-9 * diag0[k]) || !(d > 0)) return false;
    for (std::size_t i = 0; i < n; ++i) {
      if (i == k) continue;
      const double f = at(i, k) / d;
      if (f == 0) continue;
      for (std::size_t j = 0; j < n; ++j)
        if (j != k) at(i, j) -= f * at(k, j);
    }
    for (std::size_t j = 0; j < n; ++j) at(k, j) = at(j, k) = 0;
    return true;
  }
};

// 2 + 3. Tool and ToolGroup: within each group, a unit's doses x_t (its steps on tool t), its
// number of the group's steps n_G and its stratum; y = its yield. Per tool: t test of b in
// y ~ stratum + n_G + x_t. Per group: F test of the tools' doses together in
// y ~ stratum + n_G + x_1 + ... + x_K (the doses sum to n_G, so K - 1 contrasts at most).
void tool_levels(const YieldRecords& rec, std::span<const Group> hist,
                 std::span<const std::uint32_t> group_of, const CommonalityOptions& opt, bool want_tool,
                 bool want_group, std::vector<CommonalityResult>& out) {
  // Dense strata.
  std::unordered_map<std::uint32_t, std::uint32_t> stratum_index;
  std::vector<std::uint32_t> stratum(hist.size(), 0);
  for (std::size_t i = 0; i < hist.size(); ++i) {
    const std::uint32_t s = i < rec.history_stratum.size() ? rec.history_stratum[i] : 0;
    stratum[i] = stratum_index.try_emplace(s, static_cast<std::uint32_t>(stratum_index.size())).first->second;
  }
  // Strata differ in spread (a larger die yields lower and more variably): a unit is weighted by
  // 1 / its stratum's variance (weighted least squares). With one pooled variance, a tool used
  // mostly by the noisier product gets too small a standard error (tested on SMT2020_HVLM: null
  // runs flagged a tool in 3 of 15 seeds at each of the Tool and ToolGroup levels instead of ~5 %).
  std::vector<Moments> stratum_units(stratum_index.size());
  for (std::size_t i = 0; i < hist.size(); ++i) stratum_units[stratum[i]].add(hist[i].units);
  double pooled_ss = 0, pooled_df = 0;
  for (const Moments& m : stratum_units)
    if (m.n > 1) pooled_ss += m.var() * (m.n - 1), pooled_df += m.n - 1;
  const double pooled_var = pooled_df > 0 && pooled_ss > 0 ? pooled_ss / pooled_df : 1.0;
  std::vector<double> inv_var(stratum_index.size());
  for (std::size_t s = 0; s < inv_var.size(); ++s) {
    const Moments& m = stratum_units[s];
    inv_var[s] = 1.0 / (m.n >= 10 && m.var() > 0 ? m.var() : pooled_var);  // few units: the pooled variance
  }
  // Per group: entries (history, tool, count), in history order.
  struct Entry {
    std::uint32_t history, tool, count;
  };
  std::unordered_map<std::uint32_t, std::vector<Entry>> by_group;
  std::vector<std::uint32_t> tools;
  for (std::size_t i = 0; i < hist.size(); ++i) {
    if (hist[i].units.n == 0) continue;
    tools.clear();
    for (std::uint32_t k = rec.history_offset[i]; k < rec.history_offset[i + 1]; ++k) {
      const model::ToolId t = rec.pairs[k].tool;
      if (t.valid() && t.index() < group_of.size() && group_of[t.index()] != UINT32_MAX)
        tools.push_back(t.value);
    }
    std::sort(tools.begin(), tools.end());
    for (std::size_t a = 0; a < tools.size();) {
      std::size_t b = a;
      while (b < tools.size() && tools[b] == tools[a]) ++b;
      by_group[group_of[tools[a]]].push_back(
          Entry{static_cast<std::uint32_t>(i), tools[a], static_cast<std::uint32_t>(b - a)});
      a = b;
    }
  }
  std::vector<std::uint32_t> group_ids;
  for (const auto& [g, e] : by_group) group_ids.push_back(g);
  std::sort(group_ids.begin(), group_ids.end());

  for (const std::uint32_t g : group_ids) {
    const std::vector<Entry>& entries = by_group[g];
    // Local tool columns: 0 = n_G, 1..K = tools, K + 1 = y.
    std::vector<std::uint32_t> gtools;
    for (const auto& e : entries) gtools.push_back(e.tool);
    std::sort(gtools.begin(), gtools.end());
    gtools.erase(std::unique(gtools.begin(), gtools.end()), gtools.end());
    const std::size_t K = gtools.size();
    if (K < 2) continue;
    auto col_of = [&](std::uint32_t tool) {
      return 1 +
             static_cast<std::size_t>(std::lower_bound(gtools.begin(), gtools.end(), tool) - gtools.begin());
    };
    const std::size_t P = K + 2, Y = K + 1;
    CrossProducts cp;
    cp.n = P;
    cp.a.assign(P * P, 0.0);
    std::vector<double> stratum_w(stratum_index.size(), 0.0), stratum_s(stratum_index.size() * P, 0.0);
    // Per tool: in (>= 1 step on it) and out (steps of the group, none on it) moments.
    std::vector<Group> tool_in(K);
    std::vector<double> only_on(K, 0.0);  // units whose group steps all ran on that tool
    Group all;
    double units = 0;
    std::vector<std::pair<std::size_t, double>> x;  // sparse row: (column, value)
    for (std::size_t a = 0; a < entries.size();) {
      std::size_t b = a;
      const std::uint32_t h = entries[a].history;
      x.clear();
      double n_g = 0;
      for (; b < entries.size() && entries[b].history == h; ++b) {
        x.emplace_back(col_of(entries[b].tool), entries[b].count);
        n_g += entries[b].count;
      }
      a = b;
      const Group& hg = hist[h];
      const std::uint32_t s = stratum[h];
      const double iv = inv_var[s];
      const double w = hg.units.n * iv, ys = hg.units.sum * iv;
      units += hg.units.n;
      all.add(hg);
      if (x.size() == 1) only_on[x[0].first - 1] += hg.units.n;
      x.emplace_back(0, n_g);
      for (const auto& [c, v] : x) {
        if (c != 0) tool_in[c - 1].add(hg);
        for (const auto& [c2, v2] : x) cp.at(c, c2) += w * v * v2;
        cp.at(c, Y) += v * ys;
        cp.at(Y, c) += v * ys;
      }
      cp.at(Y, Y) += hg.units.sum2 * iv;
      stratum_w[s] += w;
      for (const auto& [c, v] : x) stratum_s[s * P + c] += w * v;
      stratum_s[s * P + Y] += ys;
    }
    double strata = 0;
    for (std::size_t s = 0; s < stratum_w.size(); ++s) {
      if (stratum_w[s] <= 0) continue;
      ++strata;
      for (std::size_t i = 0; i < P; ++i)
        for (std::size_t j = 0; j < P; ++j)
          cp.at(i, j) -= stratum_s[s * P + i] * stratum_s[s * P + j] / stratum_w[s];
    }
    for (std::size_t i = 0; i < P; ++i) cp.at(i, i) = std::max(0.0, cp.at(i, i));
    cp.diag0.resize(P);
    for (std::size_t i = 0; i < P; ++i) cp.diag0[i] = cp.at(i, i);
    const double covariates = cp.residualize(0) ? 1.0 : 0.0;  // n_G (constant within a route: dropped)
    const double syy0 = cp.at(Y, Y);

    // Per tool.
    std::vector<CommonalityResult> rows;
    std::vector<std::size_t> tested_cols;
    for (std::size_t k = 0; k < K; ++k) {
      const std::size_t c = k + 1;
      const Group& in = tool_in[k];
      Group o = all;
      o.wafers = all.wafers.minus(in.wafers);
      o.units = all.units.minus(in.units);
      // Units whose group steps did not all run on this tool: the comparison.
      const double not_all = units - only_on[k];
      if (in.units.n < opt.min_units || not_all < opt.min_units) continue;
      const double sxx = cp.at(c, c), sxy = cp.at(c, Y);
      const double df = units - strata - covariates - 1;
      if (!(sxx > 1e-9 * cp.diag0[c]) || !(sxx > 0) || df < 1) continue;
      CommonalityResult r;
      r.level = Level::Tool;
      r.pair = StepTool{model::StepId{}, model::ToolId(gtools[k])};
      r.group = model::ToolGroupId(g);
      r.n_in = static_cast<std::uint32_t>(in.wafers.n);
      r.n_out = static_cast<std::uint32_t>(o.wafers.n);
      r.units_in = static_cast<std::uint32_t>(in.units.n);
      r.units_out = static_cast<std::uint32_t>(o.units.n);
      r.yield_in = in.wafers.mean();
      r.yield_out = o.wafers.mean();
      r.difference = r.yield_in - r.yield_out;
      const double bcoef = sxy / sxx;
      const double rss = std::max(0.0, syy0 - sxy * sxy / sxx);
      r.effect = bcoef;
      r.df1 = df;
      if (rss > 1e-15 * std::max(syy0, 1e-300)) {
        r.statistic = bcoef / std::sqrt(rss / df / sxx);
        r.p = p_of_t(r.statistic, df, opt.alternative);
      } else {  // a perfect fit: any slope is certain
        r.statistic = bcoef == 0 ? 0.0 : std::copysign(std::numeric_limits<double>::infinity(), bcoef);
        const bool hit = opt.alternative == Alternative::Lower ? bcoef < 0 : bcoef != 0;
        r.p = hit ? 0.0 : 1.0;
      }
      rows.push_back(r);
      tested_cols.push_back(c);
    }
    if (want_group && rows.size() >= 2) {
      CrossProducts full = cp;
      double q = 0;
      for (std::size_t c : tested_cols) q += full.residualize(c) ? 1.0 : 0.0;
      const double df2 = units - strata - covariates - q;
      if (q >= 1 && df2 >= 1) {
        const double rss1 = std::max(0.0, full.at(Y, Y));
        const auto worst = std::min_element(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
          if (a.statistic != b.statistic) return a.statistic < b.statistic;
          return a.pair.tool < b.pair.tool;
        });
        CommonalityResult r = *worst;
        r.level = Level::ToolGroup;
        r.df1 = q;
        r.df2 = df2;
        const double explained = std::max(0.0, syy0 - rss1);
        if (rss1 > 1e-15 * std::max(syy0, 1e-300)) {
          r.statistic = (explained / q) / (rss1 / df2);
          r.p = std::clamp(f_upper_tail(r.statistic, q, df2), 0.0, 1.0);
        } else {
          r.statistic = explained > 0 ? std::numeric_limits<double>::infinity() : 0.0;
          r.p = explained > 0 ? 0.0 : 1.0;
        }
        out.push_back(r);
      }
    }
    if (want_tool) out.insert(out.end(), rows.begin(), rows.end());
  }
}

void correct(std::vector<CommonalityResult>& level_rows, const CommonalityOptions& opt) {
  std::sort(level_rows.begin(), level_rows.end(), [](const CommonalityResult& a, const CommonalityResult& b) {
    if (a.p != b.p) return a.p < b.p;
    if (a.difference != b.difference) return a.difference < b.difference;
    return a.pair < b.pair;
  });
  const double m = static_cast<double>(level_rows.size());
  double running = 0.0;
  for (std::size_t i = 0; i < level_rows.size(); ++i) {
    double adj = level_rows[i].p;
    if (opt.correction == Correction::Bonferroni) adj = std::min(1.0, m * level_rows[i].p);
    if (opt.correction == Correction::Holm) {
      adj = std::min(1.0, (m - static_cast<double>(i)) * level_rows[i].p);
      running = std::max(running, adj);  // Holm adjusted p-values are monotone
      adj = running;
    }
    level_rows[i].p_adjusted = adj;
    level_rows[i].significant = adj < opt.significance;
  }
}

}  // namespace

std::vector<CommonalityResult> commonality(const YieldRecords& rec, const CommonalityOptions& opt) {
  // Per history: wafer moments (for yields) and the history's test-unit moments.
  const std::size_t nh = rec.histories();
  std::vector<Moments> wafers(nh);
  for (std::size_t w = 0; w < rec.wafers(); ++w) {
    const double y = rec.wafer_yield[w];
    Moments& m = wafers[rec.wafer_history[w]];
    m.n += 1;
    m.sum += y;
    m.sum2 += y * y;
  }
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
  auto wants = [&](Level l) {
    return std::find(opt.levels.begin(), opt.levels.end(), l) != opt.levels.end();
  };
  const std::vector<std::uint32_t> group_of = tool_groups(rec);
  std::vector<CommonalityResult> out;
  if (wants(Level::StepTool)) {
    std::vector<CommonalityResult> rows;
    step_tool_level(rec, hist, group_of, opt, rows);
    correct(rows, opt);
    out.insert(out.end(), rows.begin(), rows.end());
  }
  if (wants(Level::Tool) || wants(Level::ToolGroup)) {
    std::vector<CommonalityResult> rows;
    tool_levels(rec, hist, group_of, opt, wants(Level::Tool), wants(Level::ToolGroup), rows);
    for (Level l : {Level::Tool, Level::ToolGroup}) {
      std::vector<CommonalityResult> level_rows;
      for (const auto& r : rows)
        if (r.level == l) level_rows.push_back(r);
      correct(level_rows, opt);
      out.insert(out.end(), level_rows.begin(), level_rows.end());
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const CommonalityResult& a, const CommonalityResult& b) {
    if (a.p_adjusted != b.p_adjusted) return a.p_adjusted < b.p_adjusted;
    if (a.p != b.p) return a.p < b.p;
    if (a.level != b.level) return a.level < b.level;
    if (a.difference != b.difference) return a.difference < b.difference;
    return a.pair < b.pair;
  });
  return out;
}

}  // namespace fabtwin::yield
