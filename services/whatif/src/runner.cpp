#include "fabtwin/whatif/runner.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "fabtwin/io/json.hpp"
#include "fabtwin/model/time.hpp"

namespace fabtwin::whatif {

using model::SimTime;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool has(const Spec& s, Metric m) {
  return std::find(s.metrics.begin(), s.metrics.end(), m) != s.metrics.end();
}

double percentile(const std::vector<double>& sorted, double q) {  // nearest rank, as des::Kpis
  if (sorted.empty()) return kNaN;
  const std::size_t rank = static_cast<std::size_t>(std::ceil(q * sorted.size()));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

std::int64_t ms(double days) { return model::round_ms(days * model::kMsPerDay).count(); }

// Runs `sim` to `end_ms` in one-day steps, reporting each step's simulated days.
void run_to(des::Simulation& sim, std::int64_t end_ms, const std::function<void(double)>& step) {
  const std::int64_t day = ms(1);
  for (std::int64_t t = sim.now().time_since_epoch().count(); t < end_ms;) {
    const std::int64_t next = std::min(end_ms, t + day);
    sim.run_until(SimTime{model::Duration{next}});
    step(static_cast<double>(next - t) / model::kMsPerDay);
    t = next;
  }
}

// The figures of one finished run, measured over [w0, now].
std::vector<double> measure(const Batch& b, const std::vector<MetricDef>& defs, const des::Simulation& sim,
                            std::int64_t w0) {
  const Spec& spec = b.spec;
  const model::Model& m = b.base_model;
  const std::size_t np = m.products().size();
  const double span = static_cast<double>(sim.now().time_since_epoch().count() - w0) / model::kMsPerDay;
  std::vector<std::vector<double>> ct(np + 1);  // [product], [np] = all
  std::vector<std::size_t> on_time(np + 1, 0);
  double wafers = 0;
  for (const des::CompletedLot& c : sim.completed_lots()) {
    if (c.completed.time_since_epoch().count() < w0) continue;
    const double d = model::to_days(c.completed - c.released);
    const bool ok = c.completed <= c.due;
    for (std::size_t i : {static_cast<std::size_t>(c.product.index()), np}) {
      ct[i].push_back(d);
      on_time[i] += ok;
    }
    wafers += c.wafers;
  }
  for (auto& v : ct) std::sort(v.begin(), v.end());
  std::vector<double> wip(np + 1, 0);
  std::size_t wip_n = 0;
  for (const des::WipSample& w : sim.wip_samples()) {
    if (w.at.time_since_epoch().count() < w0) continue;
    ++wip_n;
    wip[np] += w.lots;
    for (std::size_t p = 0; p < np && p < w.per_product.size(); ++p) wip[p] += w.per_product[p];
  }
  std::optional<des::Kpis> kpis;
  if (has(spec, Metric::Utilisation)) kpis = sim.kpis();

  auto product_index = [&](const std::string& subject) {
    if (subject == "all") return np;
    return static_cast<std::size_t>(m.find_product(subject)->index());
  };
  std::vector<double> out;
  out.reserve(defs.size());
  for (const MetricDef& d : defs) {
    if (d.metric == "throughput_lots_per_day") {
      out.push_back(span > 0 ? ct[np].size() / span : kNaN);
    } else if (d.metric == "throughput_wafers_per_day") {
      out.push_back(span > 0 ? wafers / span : kNaN);
    } else if (d.metric == "cycle_time_mean_days") {
      const auto& v = ct[product_index(d.subject)];
      double s = 0;
      for (double x : v) s += x;
      out.push_back(v.empty() ? kNaN : s / v.size());
    } else if (d.metric.starts_with("cycle_time_p")) {
      const double q = std::stod(d.metric.substr(12)) / 100;
      out.push_back(percentile(ct[product_index(d.subject)], q));
    } else if (d.metric == "on_time") {
      const std::size_t i = product_index(d.subject);
      out.push_back(ct[i].empty() ? kNaN : static_cast<double>(on_time[i]) / ct[i].size());
    } else if (d.metric == "wip_lots") {
      out.push_back(wip_n ? wip[product_index(d.subject)] / wip_n : kNaN);
    } else if (d.metric == "utilisation") {
      const auto it = std::find_if(kpis->tool_groups.begin(), kpis->tool_groups.end(),
                                   [&](const des::ToolGroupKpis& g) { return g.name == d.subject; });
      out.push_back(it->productive + it->setup);
    } else {
      throw std::logic_error("unknown metric " + d.metric);
    }
  }
  return out;
}

}  // namespace

std::vector<MetricDef> metric_defs(const Batch& b) {
  const Spec& s = b.spec;
  std::vector<std::string> subjects{"all"};
  for (const model::Product& p : b.base_model.products()) subjects.push_back(p.name);
  std::vector<MetricDef> defs;
  for (Metric m : s.metrics) {
    switch (m) {
      case Metric::Throughput:
        defs.push_back({"throughput_lots_per_day", "all"});
        defs.push_back({"throughput_wafers_per_day", "all"});
        break;
      case Metric::CycleTime:
        for (const auto& subj : subjects) {
          defs.push_back({"cycle_time_mean_days", subj});
          for (double p : s.percentiles)
            defs.push_back({"cycle_time_p" + io::json::format_number(p) + "_days", subj});
        }
        break;
      case Metric::Wip:
        for (const auto& subj : subjects) defs.push_back({"wip_lots", subj});
        break;
      case Metric::OnTime:
        for (const auto& subj : subjects) defs.push_back({"on_time", subj});
        break;
      case Metric::Utilisation:
        if (s.groups.empty())
          for (const model::ToolGroup& g : b.base_model.tool_groups())
            defs.push_back({"utilisation", g.name});
        else
          for (const auto& g : s.groups) defs.push_back({"utilisation", g});
        break;
    }
  }
  return defs;
}

std::uint64_t pair_seed(const Spec& spec, std::size_t scenario, std::uint32_t replication) {
  if (spec.common_random_numbers) return spec.seed + replication;
  return spec.seed + scenario * spec.replications + replication;
}

bool shares_warmup(const Batch& b, std::size_t scenario) {
  if (!b.checkpoint.empty()) return true;  // every pair starts from the checkpoint
  return b.spec.warmup_days > 0 && b.spec.common_random_numbers && !b.scenarios[scenario].own_warmup;
}

std::pair<std::size_t, std::size_t> share(std::size_t pairs, int rank, int ranks) {
  const auto r = static_cast<std::size_t>(rank), n = static_cast<std::size_t>(ranks);
  return {pairs * r / n, pairs * (r + 1) / n};
}

namespace {

// Runs task(i) for i in [0, n) on `threads` threads; rethrows the first failure.
template <class F>
void parallel_for(std::size_t n, unsigned threads, F&& task) {
  std::atomic<std::size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto worker = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < n;) {
      try {
        task(i);
      } catch (...) {
        std::lock_guard lock(error_mutex);
        if (!error) error = std::current_exception();
        next = n;
      }
    }
  };
  const unsigned t =
      std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>(std::max<std::size_t>(n, 1))));
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < t; ++i) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
}

des::Simulation make(model::Result<des::Simulation> r, const std::string& what) {
  if (!r.ok()) throw std::runtime_error(what + ": " + r.error().what());
  des::Simulation sim = std::move(r.value());
  if (sim.mode() == des::Mode::Follow) sim.set_mode(des::Mode::Autonomous);  // a live twin's state
  return sim;
}

}  // namespace

double total_days(const Batch& b, std::size_t first, std::size_t last) {
  const std::size_t S = b.scenarios.size();
  const std::int64_t t0 = ms(b.start_days);
  const std::int64_t w0 = b.base_options.warmup.count();
  const std::int64_t end = w0 + ms(b.spec.horizon_days);
  std::size_t warm = 0;
  std::optional<std::uint32_t> last_rep;
  double total = 0;
  for (std::size_t k = first; k < last; ++k) {
    const bool shares = shares_warmup(b, k % S);
    const auto r = static_cast<std::uint32_t>(k / S);
    if (b.checkpoint.empty() && shares && last_rep != r) {
      ++warm;
      last_rep = r;
    }
    total += static_cast<double>(shares ? end - w0 : end - t0) / model::kMsPerDay;
  }
  return total + static_cast<double>(warm) * static_cast<double>(w0 - t0) / model::kMsPerDay;
}

std::vector<PairResult> run_pairs(const Batch& b, const std::vector<MetricDef>& defs, std::size_t first,
                                  std::size_t last, const RunOptions& o) {
  const Spec& spec = b.spec;
  const std::size_t S = b.scenarios.size();
  const std::int64_t t0 = ms(b.start_days);
  const std::int64_t w0 = b.base_options.warmup.count();  // absolute warm-up end
  const std::int64_t end = w0 + ms(spec.horizon_days);

  // Replications needing a shared warm state from the base model (a checkpoint base has one).
  std::vector<std::uint32_t> warm_reps;
  if (b.checkpoint.empty())
    for (std::size_t k = first; k < last; ++k) {
      const auto r = static_cast<std::uint32_t>(k / S);
      if (shares_warmup(b, k % S) && (warm_reps.empty() || warm_reps.back() != r)) warm_reps.push_back(r);
    }
  double total = 0;
  for (std::size_t k = first; k < last; ++k)
    total += static_cast<double>((shares_warmup(b, k % S) ? end - w0 : end - t0)) / model::kMsPerDay;
  total += static_cast<double>(warm_reps.size()) * static_cast<double>(w0 - t0) / model::kMsPerDay;
  std::mutex progress_mutex;
  double done = 0;
  auto step = [&](double days) {
    if (!o.progress) return;
    std::lock_guard lock(progress_mutex);
    done += days;
    o.progress(done, total);
  };

  std::vector<std::string> warm(warm_reps.size());
  std::vector<std::uint64_t> warm_events(warm_reps.size());
  parallel_for(warm_reps.size(), o.threads, [&](std::size_t i) {
    des::Options opt = b.base_options;
    opt.seed = pair_seed(spec, 0, warm_reps[i]);
    des::Simulation sim = make(des::Simulation::create(b.base_model, opt), "base");
    run_to(sim, w0, step);
    warm[i] = sim.save();
    warm_events[i] = sim.events();
  });

  std::vector<PairResult> out(last - first);
  parallel_for(last - first, o.threads, [&](std::size_t i) {
    const std::size_t k = first + i, s = k % S;
    const auto r = static_cast<std::uint32_t>(k / S);
    const Batch::Entry& e = b.scenarios[s];
    des::Options opt = e.options;
    opt.seed = pair_seed(spec, s, r);
    const std::string what = "scenario '" + e.name + "' replication " + std::to_string(r);
    std::optional<des::Simulation> sim;
    std::uint64_t events0 = 0;
    if (!b.checkpoint.empty()) {
      sim.emplace(make(des::Simulation::restore_changed(e.model, opt, b.checkpoint), what));
      events0 = sim->events();
    } else if (shares_warmup(b, s)) {
      const auto it = std::lower_bound(warm_reps.begin(), warm_reps.end(), r);
      sim.emplace(make(des::Simulation::restore_changed(e.model, opt, warm[it - warm_reps.begin()]), what));
    } else {
      sim.emplace(make(des::Simulation::create(e.model, opt), what));
    }
    run_to(*sim, end, step);
    out[i].values = measure(b, defs, *sim, w0);
    out[i].events = sim->events() - events0;
  });
  return out;
}

}  // namespace fabtwin::whatif
