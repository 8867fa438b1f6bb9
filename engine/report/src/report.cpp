#include "fabtwin/report/report.hpp"

#include <system_error>

#include "fabtwin/io/csv.hpp"
#include "fabtwin/io/json.hpp"
#include "fabtwin/io/output_file.hpp"

namespace fabtwin::report {

using namespace fabtwin::des;

namespace json = fabtwin::io::json;
using namespace fabtwin::model;

namespace {

json::Value class_json(const ClassKpis& c) {
  json::Value o = json::Value::object();
  o.add("completed_lots", c.completed_lots);
  o.add("completed_wafers", c.completed_wafers);
  json::Value ct = json::Value::object();
  ct.add("mean", c.cycle_time_days.mean);
  ct.add("p50", c.cycle_time_days.p50);
  ct.add("p90", c.cycle_time_days.p90);
  ct.add("p99", c.cycle_time_days.p99);
  ct.add("min", c.cycle_time_days.min);
  ct.add("max", c.cycle_time_days.max);
  o.add("cycle_time_days", std::move(ct));
  o.add("raw_process_time_days", c.raw_process_time_days);
  o.add("x_factor", c.x_factor);
  o.add("on_time", c.on_time);
  o.add("tardiness_days", c.tardiness_days);
  if (c.priority) o.add("priority", c.priority);
  return o;
}

}  // namespace

std::string kpis_json(const Simulation& sim, const Kpis& k, double wall_seconds) {
  json::Value o = json::Value::object();
  o.add("model", sim.model().name());
  o.add("rule", sim.options().rule.empty() ? std::string("model") : sim.options().rule);
  o.add("seed", static_cast<double>(sim.options().seed));
  o.add("days", k.simulated_days);
  o.add("warmup_days", k.warmup_days);
  o.add("counted_lots", sim.options().count_initial_wip
                            ? "released during the run and initial WIP, after warm-up"
                            : "released during the run, after warm-up");
  json::Value products = json::Value::object();
  for (const auto& c : k.products) products.add(c.name, class_json(c));
  o.add("products", std::move(products));
  json::Value classes = json::Value::object();
  for (const auto& c : k.classes) classes.add(c.name, class_json(c));
  o.add("classes", std::move(classes));
  json::Value orders = json::Value::object();
  for (const auto& c : k.orders) orders.add(c.name, class_json(c));
  o.add("orders", std::move(orders));
  json::Value tp = json::Value::object();
  tp.add("lots_per_day", k.throughput_lots_per_day);
  tp.add("wafers_per_day", k.throughput_wafers_per_day);
  o.add("throughput", std::move(tp));
  o.add("mean_wip_lots", k.mean_wip_lots);
  json::Value cqt = json::Value::object();
  cqt.add("checked", static_cast<double>(k.cqt_checks));
  cqt.add("violations", static_cast<double>(k.cqt_violations));
  o.add("cqt", std::move(cqt));
  o.add("lots_released", static_cast<double>(k.lots_released));
  o.add("lots_completed", static_cast<double>(k.lots_completed));
  o.add("lots_in_fab", static_cast<double>(sim.lots_in_fab()));
  o.add("events", static_cast<double>(k.events));
  if (wall_seconds >= 0) {
    o.add("wall_seconds", wall_seconds);
    o.add("events_per_second", wall_seconds > 0 ? k.events / wall_seconds : 0.0);
  }
  return json::write(o);
}

void write_outputs(const Simulation& sim, const Kpis& k, double /*wall_seconds: not written*/,
                   const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw io::OutputError(dir, ec.message());
  const Model& m = sim.model();
  const auto& d = m.data();
  {
    io::OutputFile f(dir / "kpis.json");
    f.write(kpis_json(sim, k, -1));  // the file holds no wall-clock figures: same run, same bytes
    f.write("\n");
    f.close();
  }
  {
    io::CsvWriter f(dir / "lots.csv");
    f.row("lot", "product", "priority", "wafers", "initial_wip", "released_day", "completed_day", "due_day",
          "cycle_time_days", "x_factor", "on_time", "tardiness_days", "steps", "reworks");
    for (const CompletedLot& cl : sim.completed_lots()) {
      const double rel = to_days(cl.released.time_since_epoch());
      const double done = to_days(cl.completed.time_since_epoch());
      const double due = to_days(cl.due.time_since_epoch());
      const double ct = done - rel;
      const double rpt = k.products[cl.product.index()].raw_process_time_days;
      f.row(sim.lot_name(cl.key), d.products[cl.product.index()].name, cl.priority, cl.wafers,
            cl.key.source == 0, rel, done, due, ct, rpt > 0 ? ct / rpt : 0.0, cl.completed <= cl.due,
            cl.completed > cl.due ? done - due : 0.0, cl.steps_performed, cl.reworks);
    }
    f.close();
  }
  {
    io::CsvWriter f(dir / "toolgroups.csv");
    // SEMI E10 shares: productive + standby + engineering + scheduled_down + unscheduled_down +
    // non_scheduled = 1; scheduled_down = setup + pm.
    f.row("tool_group", "area", "tools", "productive", "standby", "engineering", "scheduled_down", "setup",
          "pm", "unscheduled_down", "non_scheduled", "utilisation_of_uptime", "mean_queue_lots",
          "mean_queue_hours", "lots_started", "wafers_started");
    for (const auto& t : k.tool_groups)
      f.row(t.name, t.area, t.tools, t.productive, t.standby, t.engineering, t.scheduled_down, t.setup, t.pm,
            t.unscheduled_down, t.non_scheduled, t.utilisation_of_uptime, t.mean_queue_lots,
            t.mean_queue_hours, t.lots_started, t.wafers_started);
    f.close();
  }
  {
    io::CsvWriter f(dir / "wip.csv");
    f.field("day").field("lots");
    for (const auto& prod : m.products()) f.field(prod.name);
    f.end_row();
    for (const WipSample& w : sim.wip_samples()) {
      f.field(to_days(w.at.time_since_epoch())).field(w.lots);
      for (auto n : w.per_product) f.field(n);
      f.end_row();
    }
    f.close();
  }
}

}  // namespace fabtwin::report
