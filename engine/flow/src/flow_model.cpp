#include <cmath>
#include <optional>
#include <stdexcept>
#include <string>

#include "fabtwin/flow/flow.hpp"
#include "launch.hpp"
#include "structure.hpp"

namespace fabtwin::flow {

struct FlowModel::Impl {
  model::Model model;
  Calibration cal;
  detail::FabStructure fab;
  std::vector<double> workload;  // K x G
};

FlowModel::FlowModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FlowModel::FlowModel(const FlowModel& o) : impl_(std::make_unique<Impl>(*o.impl_)) {}
FlowModel& FlowModel::operator=(const FlowModel& o) {
  if (this != &o) impl_ = std::make_unique<Impl>(*o.impl_);
  return *this;
}
FlowModel::FlowModel(FlowModel&&) noexcept = default;
FlowModel& FlowModel::operator=(FlowModel&&) noexcept = default;
FlowModel::~FlowModel() = default;

const model::Model& FlowModel::model() const { return impl_->model; }
const Calibration& FlowModel::calibration() const { return impl_->cal; }
std::size_t FlowModel::states() const { return static_cast<std::size_t>(impl_->fab.K); }
std::size_t FlowModel::tool_groups() const { return static_cast<std::size_t>(impl_->fab.G); }
std::span<const double> FlowModel::workload() const { return impl_->workload; }

model::Result<FlowModel> FlowModel::create(const model::Model& base, const Calibration& cal) {
  auto err = [&](std::string field, std::string msg) {
    return model::Error{"calibration", 0, std::move(field), std::move(msg)};
  };
  if (cal.groups.size() != base.tool_groups().size())
    return err("groups", "has " + std::to_string(cal.groups.size()) + " tool groups, the model '" +
                             base.name() + "' " + std::to_string(base.tool_groups().size()));
  for (std::size_t g = 0; g < cal.groups.size(); ++g) {
    const GroupCalibration& c = cal.groups[g];
    const std::string f = "groups[" + std::to_string(g) + "]";
    if (c.name != base.tool_groups()[g].name)
      return err(f + ".name", "'" + c.name + "' where the model has '" + base.tool_groups()[g].name + "'");
    auto bad = [](double v) { return !std::isfinite(v) || v < 0; };
    if (bad(c.work_hours) || bad(c.nominal_work_hours) || bad(c.process_hours) || bad(c.fixed_hours) ||
        bad(c.queue_k_hours))
      return err(f, "a time that is negative or not finite");
    if (!(c.availability > 0 && c.availability <= 1)) return err(f + ".availability", "must be in (0, 1]");
    for (const RuleCalibration& r : c.rules)
      if (bad(r.work_hours) || bad(r.process_hours) || bad(r.fixed_hours) || bad(r.queue_k_hours))
        return err(f + ".rules." + r.rule, "a time that is negative or not finite");
    if (c.tools == 0) return err(f + ".tools", "must be >= 1");
  }
  auto impl = std::make_unique<Impl>();
  impl->model = base;
  impl->cal = cal;
  impl->fab = detail::build_structure(base);
  const auto& fab = impl->fab;
  impl->workload.assign(static_cast<std::size_t>(fab.K) * fab.G, 0.0);
  for (int k = 0; k < fab.K; ++k) {
    const int g = fab.group_of[k];
    if (g < 0) continue;
    const GroupCalibration& c = cal.groups[g];
    const double scale = c.nominal_work_hours > 0 ? c.work_hours / c.nominal_work_hours : 0.0;
    impl->workload[static_cast<std::size_t>(k) * fab.G + g] =
        scale > 0 ? fab.nominal_work_hours[k] * scale : c.work_hours;
  }
  return FlowModel(std::move(impl));
}

double busy_share(double w, double sojourn, double k) {
  if (!(w > 0)) return 0.0;
  return 2.0 * w / detail::clearing_denominator(w, sojourn, k);
}

std::vector<ScenarioResult> FlowModel::run(std::span<const ScenarioInput> scenarios,
                                           const RunOptions& o) const {
  const auto& fab = impl_->fab;
  const auto& cal = impl_->cal;
  if (!(o.period_hours > 0) || !std::isfinite(o.period_hours))
    throw std::invalid_argument("flow run: period_hours must be > 0");
  if (!(o.days > 0) || !(o.warmup_days >= 0) || !std::isfinite(o.days) || !std::isfinite(o.warmup_days))
    throw std::invalid_argument("flow run: days must be > 0 and warmup_days >= 0");
  const int S = static_cast<int>(scenarios.size());
  const int G = fab.G, P = fab.P, K = fab.K;
  std::vector<double> cap(static_cast<std::size_t>(S) * G), sojourn(cap.size()), queue_k(cap.size()),
      work(cap.size()), release(static_cast<std::size_t>(S) * P);
  for (int s = 0; s < S; ++s) {
    const ScenarioInput& in = scenarios[s];
    auto check_len = [&](std::size_t n, std::size_t want, const char* field) {
      if (n != 0 && n != want)
        throw std::invalid_argument("flow scenario '" + in.name + "': " + field + " has " +
                                    std::to_string(n) + " values, expected " + std::to_string(want));
    };
    check_len(in.tools.size(), G, "tools");
    check_len(in.availability.size(), G, "availability");
    check_len(in.work_factor.size(), G, "work_factor");
    check_len(in.release_factor.size(), P, "release_factor");
    check_len(in.rule.size(), G, "rule");
    for (int g = 0; g < G; ++g) {
      const GroupCalibration& c = cal.groups[g];
      const double n = in.tools.empty() ? c.tools : in.tools[g];
      const double a = in.availability.empty() ? c.availability : in.availability[g];
      const double wf = in.work_factor.empty() ? 1.0 : in.work_factor[g];
      const std::string where = "flow scenario '" + in.name + "', tool group " + c.name + ": ";
      if (!(n >= 1)) throw std::invalid_argument(where + "tools must be >= 1");
      if (!(a > 0 && a <= 1)) throw std::invalid_argument(where + "availability must be in (0, 1]");
      if (!(wf > 0) || !std::isfinite(wf)) throw std::invalid_argument(where + "work_factor must be > 0");
      // Under another base rank rule: that rule's work, sojourn and queue parameters.
      const RuleCalibration* r = nullptr;
      if (!in.rule.empty() && !in.rule[g].empty()) {
        r = c.under(in.rule[g]);
        if (!r) throw std::invalid_argument(where + "no calibration under rule '" + in.rule[g] + "'");
      }
      const double work_rule = r && c.work_hours > 0 ? r->work_hours / c.work_hours : 1.0;
      const std::size_t i = static_cast<std::size_t>(s) * G + g;
      cap[i] = n * a;
      work[i] = wf * work_rule;
      const double fixed = r ? r->fixed_hours : c.fixed_hours,
                   process = r ? r->process_hours : c.process_hours,
                   k = r ? r->queue_k_hours : c.queue_k_hours;
      sojourn[i] = fixed + process * wf;
      // Heavy traffic in a multi-server queue: the wait scales with the service time / servers.
      queue_k[i] = k * wf * c.tools / n;
    }
    for (int p = 0; p < P; ++p) {
      const double f = in.release_factor.empty() ? 1.0 : in.release_factor[p];
      if (!(f >= 0) || !std::isfinite(f))
        throw std::invalid_argument("flow scenario '" + in.name + "': release_factor must be >= 0");
      release[static_cast<std::size_t>(s) * P + p] = fab.release_per_hour[p] * f;
    }
  }
  detail::Problem pb;
  pb.st = detail::Structure{K,
                            G,
                            P,
                            fab.group_of.data(),
                            fab.product_of.data(),
                            fab.entry.data(),
                            fab.pred_offset.data(),
                            fab.pred_src.data(),
                            fab.pred_prob.data()};
  pb.workload = impl_->workload.data();
  pb.wip0 = fab.wip0.data();
  pb.S = S;
  pb.params = detail::Params{cap.data(), sojourn.data(), queue_k.data(), work.data(), release.data()};
  pb.dt = o.period_hours;
  pb.warm_periods = std::llround(o.warmup_days * 24.0 / o.period_hours);
  pb.measure_periods = std::max<long long>(1, std::llround(o.days * 24.0 / o.period_hours));
  detail::Outputs out;
  out.acc_wip.assign(static_cast<std::size_t>(S) * K, 0.0);
  out.acc_rho.assign(static_cast<std::size_t>(S) * G, 0.0);
  out.wip_warm.assign(static_cast<std::size_t>(S) * K, 0.0);
  out.wip_end.assign(static_cast<std::size_t>(S) * K, 0.0);
  std::optional<detail::Progress> progress;
  if (o.progress) {
    progress.emplace(o.progress, static_cast<double>(S) * (pb.warm_periods + pb.measure_periods),
                     o.period_hours / 24.0);
    pb.progress = &*progress;
  }
  if (S > 0) {
    if (o.backend == compute::Backend::Cuda)
      detail::run_cuda(pb, out);
    else
      detail::run_cpu(pb, std::max(1u, o.threads), out);
  }
  if (progress) progress->rethrow();
  const double M = static_cast<double>(pb.measure_periods);
  const double days = M * o.period_hours / 24.0;
  std::vector<ScenarioResult> res(S);
  for (int s = 0; s < S; ++s) {
    ScenarioResult& r = res[s];
    r.name = scenarios[s].name;
    r.product_throughput.assign(P, 0.0);
    r.product_wip.assign(P, 0.0);
    r.product_cycle_time_days.assign(P, 0.0);
    r.utilisation.assign(G, 0.0);
    for (int k = 0; k < K; ++k)
      if (fab.group_of[k] >= 0)
        r.product_wip[fab.product_of[k]] += out.acc_wip[static_cast<std::size_t>(s) * K + k] / M;
    for (int k = 0; k < K; ++k) {
      const std::size_t i = static_cast<std::size_t>(s) * K + k;
      if (fab.group_of[k] >= 0) {
        r.wip_start_lots += out.wip_warm[i];
        r.wip_end_lots += out.wip_end[i];
      } else {
        r.completed_lots += out.wip_end[i] - out.wip_warm[i];
      }
    }
    for (int p = 0; p < P; ++p)
      r.released_lots += release[static_cast<std::size_t>(s) * P + p] * M * o.period_hours;
    for (int p = 0; p < P; ++p) {
      const std::size_t i = static_cast<std::size_t>(s) * K + (K - P + p);
      r.product_throughput[p] = (out.wip_end[i] - out.wip_warm[i]) / days;
      if (r.product_throughput[p] > 0)
        r.product_cycle_time_days[p] = r.product_wip[p] / r.product_throughput[p];
      r.throughput_lots_per_day += r.product_throughput[p];
      r.wip_lots += r.product_wip[p];
    }
    if (r.throughput_lots_per_day > 0) r.cycle_time_days = r.wip_lots / r.throughput_lots_per_day;
    for (int g = 0; g < G; ++g) r.utilisation[g] = out.acc_rho[static_cast<std::size_t>(s) * G + g] / M;
  }
  return res;
}

}  // namespace fabtwin::flow
