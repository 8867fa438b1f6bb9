#include "structure.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace fabtwin::flow::detail {

namespace {
constexpr double kMsPerHour = 3'600'000.0;

double hours(const model::Quantity& q) { return static_cast<double>(q.duration().count()) / kMsPerHour; }
double mean_hours(const model::Distribution& d) { return d.mean_ms() / kMsPerHour; }

std::uint32_t wafers_of(const model::Model& m, model::ProductId p) {
  for (const auto& o : m.orders())
    if (o.product == p) return o.pieces;
  return 25;
}
}  // namespace

std::vector<double> release_rates(const model::Model& m) {
  std::vector<double> r(m.products().size(), 0.0);
  for (const auto& o : m.orders()) {
    const double iv = mean_hours(o.interval);
    if (o.repeat_count == 0 || iv <= 0) continue;
    r[o.product.index()] += o.lots_per_release / iv;
  }
  return r;
}

FabStructure build_structure(const model::Model& m) {
  FabStructure f;
  f.G = static_cast<int>(m.tool_groups().size());
  f.P = static_cast<int>(m.products().size());
  std::vector<int> offset(f.P);
  int K = 0;
  for (int p = 0; p < f.P; ++p) {
    offset[p] = K;
    K += static_cast<int>(m.route_of(model::ProductId{static_cast<std::uint32_t>(p)}).step_count);
  }
  const int sink0 = K;
  K += f.P;
  f.K = K;
  f.group_of.assign(K, -1);
  f.product_of.assign(K, 0);
  f.step_of.assign(K, -1);
  f.entry.assign(K, 0.0);
  f.nominal_work_hours.assign(K, 0.0);
  f.wall_hours.assign(K, 0.0);
  f.transport_hours.assign(K, 0.0);
  f.wip0.assign(K, 0.0);
  std::map<std::pair<std::uint32_t, std::uint32_t>, double> transport;
  for (const auto& t : m.transports()) transport[{t.from.value, t.to.value}] = mean_hours(t.time);

  // Outgoing routing per state: (destination, share).
  std::vector<std::vector<std::pair<int, double>>> out(K);
  for (int p = 0; p < f.P; ++p) {
    const model::ProductId pid{static_cast<std::uint32_t>(p)};
    const auto steps = m.route_steps(m.product(pid).route);
    const int n = static_cast<int>(steps.size());
    const double wafers = wafers_of(m, pid);
    f.product_of[sink0 + p] = p;
    // E(i): where a lot about to consider step i performs its next step (sampling skips).
    std::vector<std::map<int, double>> E(n + 1);
    E[n][sink0 + p] = 1.0;
    for (int i = n - 1; i >= 0; --i) {
      const double q = std::clamp(steps[i].sample_percent / 100.0, 0.0, 1.0);
      if (q > 0) E[i][offset[p] + i] += q;
      if (q < 1)
        for (const auto& [k, v] : E[i + 1]) E[i][k] += (1 - q) * v;
    }
    for (const auto& [k, v] : E[0]) f.entry[k] += v;
    for (int i = 0; i < n; ++i) {
      const model::Step& st = steps[i];
      const int k = offset[p] + i;
      const model::ToolGroup& tg = m.tool_group(st.tool_group);
      f.group_of[k] = static_cast<int>(st.tool_group.index());
      f.product_of[k] = p;
      f.step_of[k] = static_cast<int>(m.route(st.route).first_step.value) + i;
      const double lu = hours(tg.load_time) + hours(tg.unload_time);
      const double pt = mean_hours(st.process_time);
      double work = 0, wall = 0;
      switch (st.process_unit) {
        case model::ProcessUnit::PerLot:
          work = wall = pt;
          break;
        case model::ProcessUnit::PerPiece:
          work = wafers * pt;
          wall = st.part_interval ? pt + (wafers - 1) * hours(*st.part_interval) : wafers * pt;
          break;
        case model::ProcessUnit::PerBatch: {
          const double lots = st.batch_max > 0 ? std::max(1.0, std::floor(st.batch_max / wafers)) : 1.0;
          work = pt / lots;
          wall = pt;
          break;
        }
      }
      f.nominal_work_hours[k] = work + lu;
      f.wall_hours[k] = wall + lu;
      if (i > 0) {
        const auto from = m.tool_group(steps[i - 1].tool_group).location.value;
        const auto it = transport.find({from, tg.location.value});
        if (it != transport.end()) f.transport_hours[k] = it->second;
      }
      const double r = st.rework_step ? std::clamp(st.rework_percent / 100.0, 0.0, 1.0) : 0.0;
      if (r > 0) {
        const int j =
            offset[p] + static_cast<int>(st.rework_step->value - m.route(st.route).first_step.value);
        out[k].push_back({j, r});
      }
      for (const auto& [d, v] : E[i + 1]) out[k].push_back({d, (1 - r) * v});
    }
  }
  for (const auto& w : m.wip()) {
    const int p = static_cast<int>(w.product.index());
    const auto& route = m.route_of(w.product);
    f.wip0[offset[p] + static_cast<int>(w.current_step.value - route.first_step.value)] += 1.0;
  }
  // Predecessor lists (CSR) from the outgoing lists.
  std::vector<std::vector<std::pair<int, double>>> in(K);
  for (int k = 0; k < K; ++k)
    for (const auto& [d, v] : out[k])
      if (v > 0) in[d].push_back({k, v});
  f.pred_offset.assign(K + 1, 0);
  for (int k = 0; k < K; ++k) {
    f.pred_offset[k + 1] = f.pred_offset[k] + static_cast<int>(in[k].size());
    for (const auto& [s, v] : in[k]) {
      f.pred_src.push_back(s);
      f.pred_prob.push_back(v);
    }
  }
  // Visits per released lot: v = entry + R^T v (rework loops converge geometrically).
  f.visits = f.entry;
  for (int it = 0; it < 10000; ++it) {
    double change = 0;
    for (int k = 0; k < K; ++k) {
      double v = f.entry[k];
      for (int j = f.pred_offset[k]; j < f.pred_offset[k + 1]; ++j)
        v += f.visits[f.pred_src[j]] * f.pred_prob[j];
      change = std::max(change, std::abs(v - f.visits[k]));
      f.visits[k] = v;
    }
    if (change < 1e-13) break;
  }
  f.release_per_hour = release_rates(m);
  return f;
}

}  // namespace fabtwin::flow::detail
