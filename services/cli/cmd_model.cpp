// fabtwin model show PATH [--json] | fabtwin model convert PATH --out FILE
#include <cstdio>
#include <map>
#include <memory>

#include "commands.hpp"
#include "fabtwin/io/json.hpp"
#include "fabtwin/io/load.hpp"
#include "fabtwin/io/output_file.hpp"

namespace fabtwin::cli {

namespace json = fabtwin::io::json;
using namespace fabtwin::model;

namespace {

struct ModelOptions {
  std::string path;
  std::string out;
  bool json = false;
};

Model load_or_throw(const std::string& path) {
  auto m = io::load_model(path);
  if (!m.ok()) throw std::runtime_error(m.error().what());
  return std::move(m).value();
}

json::Value summary(const Model& m) {
  const auto& d = m.data();
  json::Value o = json::Value::object();
  o.add("name", d.name);
  o.add("areas", d.areas.size());
  o.add("tool_groups", d.tool_groups.size());
  o.add("tools", d.tools.size());
  std::size_t delay_tools = 0, cascading = 0, batching = 0;
  for (const auto& g : d.tool_groups) {
    if (d.locations[g.location.index()].name == "Delay") delay_tools += g.tool_count;
    if (g.cascade_capacity > 1) ++cascading;
  }
  for (const auto& s : d.steps)
    if (s.batch_max > 0) ++batching;
  o.add("real_tools", d.tools.size() - delay_tools);
  o.add("delay_tools", delay_tools);
  o.add("cascading_tool_groups", cascading);
  o.add("products", d.products.size());
  json::Value routes = json::Value::object();
  for (const auto& r : d.routes) routes.add(r.name, r.step_count);
  o.add("routes", std::move(routes));
  json::Value prods = json::Value::object();
  for (const auto& p : d.products) prods.add(p.name, d.routes[p.route.index()].name);
  o.add("product_routes", std::move(prods));
  o.add("steps", d.steps.size());
  o.add("batching_steps", batching);
  o.add("setups", d.setups.size());
  o.add("setup_groups", d.setup_groups.size());
  o.add("orders", d.orders.size());
  o.add("wip_lots", d.wip.size());
  std::size_t down = 0, pm_cal = 0, pm_pieces = 0;
  for (const auto& c : d.pm_calendars) (c.trigger == PmTrigger::Pieces ? pm_pieces : pm_cal)++;
  down = d.down_calendars.size();
  json::Value cal = json::Value::object();
  cal.add("breakdown", down);
  cal.add("pm_by_time", pm_cal);
  cal.add("pm_by_wafers", pm_pieces);
  cal.add("attachments", d.attachments.size());
  o.add("calendars", std::move(cal));
  return o;
}

int show(const ModelOptions& o) {
  const Model m = load_or_throw(o.path);
  if (o.json) {
    std::printf("%s\n", json::write(summary(m)).c_str());
    return 0;
  }
  const auto& d = m.data();
  const auto s = summary(m);
  auto num = [&](const char* k) { return static_cast<long long>(s.find(k)->as_number()); };
  std::printf("model %s\n", d.name.c_str());
  std::printf("  areas           %lld\n", num("areas"));
  std::printf("  tool groups     %lld (%lld cascading)\n", num("tool_groups"), num("cascading_tool_groups"));
  std::printf("  tools           %lld (%lld real, %lld delay units)\n", num("tools"), num("real_tools"),
              num("delay_tools"));
  std::printf("  products        %lld\n", num("products"));
  for (const auto& p : d.products) {
    const auto& r = d.routes[p.route.index()];
    std::printf("    %-14s route %-8s %u steps\n", p.name.c_str(), r.name.c_str(), r.step_count);
  }
  std::printf("  setups          %lld in %lld setup groups\n", num("setups"), num("setup_groups"));
  std::printf("  orders          %lld\n", num("orders"));
  for (const auto& o : d.orders)
    std::printf("    %-16s %-8s prio %u every %g %s x %u\n", o.lot_prefix.c_str(),
                d.products[o.product.index()].name.c_str(), o.priority, o.interval.mean(),
                std::string(to_string(o.interval.unit)).c_str(), o.repeat_count);
  std::printf("  initial WIP     %lld lots\n", num("wip_lots"));
  const auto* cal = s.find("calendars");
  std::printf("  calendars       %lld breakdown, %lld PM by time, %lld PM by wafers, %lld attachments\n",
              static_cast<long long>(cal->find("breakdown")->as_number()),
              static_cast<long long>(cal->find("pm_by_time")->as_number()),
              static_cast<long long>(cal->find("pm_by_wafers")->as_number()),
              static_cast<long long>(cal->find("attachments")->as_number()));
  return 0;
}

int convert(const ModelOptions& o) {
  const Model m = load_or_throw(o.path);
  io::OutputFile f(o.out);
  f.write(io::to_native_json(m));
  f.write("\n");
  f.close();
  std::fprintf(stderr, "wrote %s\n", o.out.c_str());
  return 0;
}

}  // namespace

void add_model_commands(CLI::App& root, Commands& out) {
  CLI::App* model = add_command(root, "model", "Summarise or convert a fab model");
  auto o = std::make_shared<ModelOptions>();
  CLI::App* show_cmd =
      add_command(*model, "show", "Summarise a model: tool groups, tools, routes, orders, WIP, ...");
  required(show_cmd->add_option("PATH", o->path, "a native JSON model file or an SMT2020 folder"));
  show_cmd->add_flag("--json", o->json, "print one JSON object instead of the text summary");
  out.push_back({show_cmd, [o] { return show(*o); }});
  CLI::App* convert_cmd = add_command(*model, "convert", "Write a model in the native JSON format");
  required(convert_cmd->add_option("PATH", o->path, "a native JSON model file or an SMT2020 folder"));
  required(convert_cmd->add_option("--out", o->out, "the JSON file to write")->type_name("FILE"));
  out.push_back({convert_cmd, [o] { return convert(*o); }});
}

}  // namespace fabtwin::cli
