#include "fabtwin/whatif/output.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "fabtwin/io/csv.hpp"
#include "fabtwin/io/json.hpp"
#include "fabtwin/io/output_file.hpp"
#include "fabtwin/yield/png.hpp"

#if FABTWIN_HAVE_STB_EASY_FONT
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wuseless-cast"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wcast-qual"
#include <stb/stb_easy_font.h>
#pragma GCC diagnostic pop
#endif

namespace fabtwin::whatif {

namespace {

using io::json::Value;

std::string num(double v) { return std::isfinite(v) ? io::json::format_number(v) : std::string(); }
Value jnum(double v) { return std::isfinite(v) ? Value(v) : Value(); }

}  // namespace

Results summarise_batch(const Batch& b, const std::vector<MetricDef>& defs,
                        const std::vector<PairResult>& pairs) {
  const std::size_t S = b.scenarios.size(), R = b.spec.replications;
  if (pairs.size() != S * R) throw std::logic_error("summarise_batch: not every pair has a result");
  Results res;
  res.defs = defs;
  for (std::size_t s = 0; s < S; ++s) {
    res.scenario_names.push_back(b.scenarios[s].name);
    res.shared_warmup.push_back(shares_warmup(b, s));
    std::uint64_t ev = 0;
    for (std::size_t r = 0; r < R; ++r) ev += pairs[r * S + s].events;
    res.events.push_back(ev);
  }
  for (std::size_t s = 0; s < S; ++s)
    for (std::size_t d = 0; d < defs.size(); ++d) {
      Row row;
      row.scenario = s;
      row.def = d;
      for (std::size_t r = 0; r < R; ++r) row.values.push_back(pairs[r * S + s].values[d]);
      row.summary = summarise(row.values);
      if (s > 0) {
        std::vector<double> base;
        for (std::size_t r = 0; r < R; ++r) base.push_back(pairs[r * S].values[d]);
        row.diff = paired_difference(row.values, base);
      }
      res.rows.push_back(std::move(row));
    }
  return res;
}

std::string results_csv(const Results& r) {
  std::string out =
      "scenario,metric,subject,replications,mean,sd,ci95_low,ci95_high,diff_mean,diff_ci95_low,diff_ci95_"
      "high,"
      "flow_estimate\n";
  for (const Row& row : r.rows) {
    const MetricDef& d = r.defs[row.def];
    io::append_csv_field(out, r.scenario_names[row.scenario]);
    out += ',' + d.metric + ',';
    io::append_csv_field(out, d.subject);
    const Summary& s = row.summary;
    out += ',' + std::to_string(s.n) + ',' + num(s.mean) + ',' + num(s.sd) + ',' + num(s.lo()) + ',' +
           num(s.hi());
    if (row.diff)
      out += ',' + num(row.diff->mean) + ',' + num(row.diff->lo()) + ',' + num(row.diff->hi());
    else
      out += ",,,";
    out += ',' + (row.flow_estimate ? num(*row.flow_estimate) : std::string()) + '\n';
  }
  return out;
}

std::string results_json(const Batch& b, const Results& r) {
  const Spec& spec = b.spec;
  Value root = Value::object();
  root.add("schema", "fabtwin.v1.WhatIfResults");
  root.add("name", spec.name);
  root.add("base", b.checkpoint.empty() ? Value(b.base_model.name()) : Value("checkpoint"));
  root.add("start_days", b.start_days);
  root.add("warmup_days", spec.warmup_days);
  root.add("horizon_days", spec.horizon_days);
  root.add("replications", spec.replications);
  root.add("seed", spec.seed);
  root.add("common_random_numbers", spec.common_random_numbers);
  root.add("confidence", 0.95);
  Value& scen = root.add("scenarios", Value::array());
  for (std::size_t s = 0; s < r.scenario_names.size(); ++s) {
    Value sv = Value::object();
    sv.add("name", r.scenario_names[s]);
    sv.add("warmup", b.checkpoint.empty() ? (r.shared_warmup[s] ? "shared" : "own") : "checkpoint");
    sv.add("events", r.events[s]);
    Value& metrics = sv.add("metrics", Value::array());
    for (const Row& row : r.rows) {
      if (row.scenario != s) continue;
      Value mv = Value::object();
      mv.add("metric", r.defs[row.def].metric);
      mv.add("subject", r.defs[row.def].subject);
      mv.add("n", row.summary.n);
      mv.add("mean", jnum(row.summary.mean));
      mv.add("sd", jnum(row.summary.sd));
      mv.add("ci95", Value(io::json::Array{jnum(row.summary.lo()), jnum(row.summary.hi())}));
      if (row.diff) {
        Value dv = Value::object();
        dv.add("n", row.diff->n);
        dv.add("mean", jnum(row.diff->mean));
        dv.add("ci95", Value(io::json::Array{jnum(row.diff->lo()), jnum(row.diff->hi())}));
        mv.add("diff_vs_base", std::move(dv));
      } else {
        mv.add("diff_vs_base", Value());
      }
      mv.add("flow_estimate", row.flow_estimate ? jnum(*row.flow_estimate) : Value());
      Value vals = Value::array();
      for (double v : row.values) vals.push_back(jnum(v));
      mv.add("values", std::move(vals));
      metrics.push_back(std::move(mv));
    }
    scen.push_back(std::move(sv));
  }
  return io::json::write(root) + "\n";
}

namespace {

struct Canvas {
  yield::Image img;
  void rect(int x0, int y0, int x1, int y1, std::uint32_t rgb) {  // inclusive
    for (int y = std::max(0, y0); y <= std::min<int>(y1, static_cast<int>(img.height) - 1); ++y)
      for (int x = std::max(0, x0); x <= std::min<int>(x1, static_cast<int>(img.width) - 1); ++x)
        img.set(static_cast<std::uint32_t>(x), static_cast<std::uint32_t>(y), (rgb >> 16) & 0xff,
                (rgb >> 8) & 0xff, rgb & 0xff);
  }
  int width(const std::string& s, int scale) const {
#if FABTWIN_HAVE_STB_EASY_FONT
    return stb_easy_font_width(const_cast<char*>(s.c_str())) * scale;
#else
    (void)s, (void)scale;
    return 0;
#endif
  }
  // Text with its top-left at (x, y), `scale` pixels per font unit; returns its width.
  int text(int x, int y, const std::string& s, int scale = 1, std::uint32_t rgb = 0x202020) {
#if FABTWIN_HAVE_STB_EASY_FONT
    static thread_local char buf[64 * 1024];
    const int quads = stb_easy_font_print(0, 0, const_cast<char*>(s.c_str()), nullptr, buf, sizeof buf);
    const float* v = reinterpret_cast<const float*>(buf);
    for (int q = 0; q < quads; ++q) {
      const float* p = v + q * 16;  // 4 vertices x (x, y, z, color)
      const int qx0 = static_cast<int>(p[0]), qy0 = static_cast<int>(p[1]);
      const int qx1 = static_cast<int>(p[8]), qy1 = static_cast<int>(p[9]);
      rect(x + qx0 * scale, y + qy0 * scale, x + qx1 * scale - 1, y + qy1 * scale - 1, rgb);
    }
    return stb_easy_font_width(const_cast<char*>(s.c_str())) * scale;
#else
    (void)x, (void)y, (void)s, (void)scale, (void)rgb;
    return 0;
#endif
  }
};

std::string short_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, std::fabs(v) >= 100 ? "%.0f" : std::fabs(v) >= 10 ? "%.1f" : "%.3g", v);
  return buf;
}

}  // namespace

std::vector<std::uint8_t> results_chart(const Results& r) {
  // Panels: the headline metrics over all products, in this order, where reported.
  const std::pair<const char*, const char*> headline[] = {
      {"throughput_lots_per_day", "throughput (lots/day)"},
      {"cycle_time_mean_days", "mean cycle time (days)"},
      {"wip_lots", "WIP (lots)"},
      {"on_time", "on-time share"}};
  std::vector<std::pair<std::size_t, std::string>> panels;  // def index, title
  for (const auto& [metric, title] : headline)
    for (std::size_t d = 0; d < r.defs.size(); ++d)
      if (r.defs[d].metric == metric && r.defs[d].subject == "all") panels.emplace_back(d, title);
  const std::size_t S = r.scenario_names.size();
  const int pw = std::max(360, static_cast<int>(S) * 28 + 80), ph = 360, legend = 260;
  const int W = static_cast<int>(std::max<std::size_t>(panels.size(), 1)) * pw + legend;
  const int H = std::max(ph, static_cast<int>(S) * 14 + 70);
  Canvas c{yield::Image(static_cast<std::uint32_t>(W), static_cast<std::uint32_t>(H))};
  const std::uint32_t sim_colour = 0x1f5fa8, flow_colour = 0xe07b00;
  for (std::size_t p = 0; p < panels.size(); ++p) {
    const std::size_t d = panels[p].first;
    const int x0 = static_cast<int>(p) * pw + 64, x1 = static_cast<int>(p + 1) * pw - 12, y0 = 40,
              y1 = ph - 40;
    double lo = INFINITY, hi = -INFINITY;
    for (const Row& row : r.rows) {
      if (row.def != d) continue;
      for (double v : {row.summary.mean, row.summary.lo(), row.summary.hi(),
                       row.flow_estimate.value_or(row.summary.mean)})
        if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    }
    if (!std::isfinite(lo)) lo = 0, hi = 1;
    if (hi - lo < 1e-12 * std::max(1.0, std::fabs(hi))) lo -= 0.5, hi += 0.5;
    const double pad = 0.08 * (hi - lo);
    lo -= pad, hi += pad;
    auto ypix = [&](double v) {
      return y1 - static_cast<int>(std::lround((v - lo) / (hi - lo) * (y1 - y0)));
    };
    c.text(x0, 12, panels[p].second, c.width(panels[p].second, 2) <= x1 - x0 ? 2 : 1);
    c.rect(x0, y0, x0, y1, 0x000000);
    c.rect(x0, y1, x1, y1, 0x000000);
    for (int t = 0; t <= 4; ++t) {
      const double v = lo + (hi - lo) * t / 4;
      const int y = ypix(v);
      c.rect(x0 - 4, y, x0, y, 0x000000);
      for (int x = x0 + 1; x < x1; x += 4) c.rect(x, y, x, y, 0xd0d0d0);
      c.text(x0 - 52, y - 3, short_number(v), 1);
    }
    const double step = static_cast<double>(x1 - x0) / static_cast<double>(S);
    for (const Row& row : r.rows) {
      if (row.def != d) continue;
      const int x = x0 + static_cast<int>((static_cast<double>(row.scenario) + 0.5) * step);
      c.text(x - 3, y1 + 8, std::to_string(row.scenario), 1);
      const Summary& s = row.summary;
      if (std::isfinite(s.half_width)) {
        c.rect(x, ypix(s.hi()), x + 1, ypix(s.lo()), sim_colour);
        c.rect(x - 4, ypix(s.hi()), x + 5, ypix(s.hi()), sim_colour);
        c.rect(x - 4, ypix(s.lo()), x + 5, ypix(s.lo()), sim_colour);
      }
      if (std::isfinite(s.mean)) c.rect(x - 3, ypix(s.mean) - 3, x + 4, ypix(s.mean) + 3, sim_colour);
      if (row.flow_estimate && std::isfinite(*row.flow_estimate)) {
        const int fx = x + 9, fy = ypix(*row.flow_estimate);
        c.rect(fx - 3, fy - 3, fx + 3, fy - 2, flow_colour),
            c.rect(fx - 3, fy + 2, fx + 3, fy + 3, flow_colour);
        c.rect(fx - 3, fy - 3, fx - 2, fy + 3, flow_colour),
            c.rect(fx + 2, fy - 3, fx + 3, fy + 3, flow_colour);
      }
    }
  }
  const int lx = static_cast<int>(std::max<std::size_t>(panels.size(), 1)) * pw + 8;
  c.text(lx, 12, "scenarios", 2);
  for (std::size_t s = 0; s < S; ++s)
    c.text(lx, 40 + static_cast<int>(s) * 14, std::to_string(s) + "  " + r.scenario_names[s], 1);
  const int ly = 40 + static_cast<int>(S) * 14 + 10;
  c.rect(lx, ly, lx + 7, ly + 6, sim_colour);
  c.text(lx + 14, ly, "simulation mean, 95% CI", 1);
  c.rect(lx, ly + 14, lx + 7, ly + 20, flow_colour);
  c.rect(lx + 2, ly + 16, lx + 5, ly + 18, 0xffffff);
  c.text(lx + 14, ly + 14, "flow-model estimate", 1);
  return yield::encode_png(c.img);
}

void write_outputs(const Batch& b, const Results& r, const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw io::OutputError(dir, ec.message());
  auto put = [&](const char* name, std::string_view bytes) {
    if (auto w = io::write_file(dir / name, bytes); !w.ok())
      throw io::OutputError(dir / name, w.error().message);
  };
  put("results.csv", results_csv(r));
  put("results.json", results_json(b, r));
  const auto png = results_chart(r);
  put("chart.png", std::string_view(reinterpret_cast<const char*>(png.data()), png.size()));
}

}  // namespace fabtwin::whatif
