// What-if spec reading: the shipped examples load; each class of bad input is refused with an
// error naming the file, the line and the JSON path; nothing runs when a scenario is refused.
#include <catch2/catch.hpp>
#include <fstream>

#include "fabtwin/des/scenario.hpp"
#include "fabtwin/io/file.hpp"
#include "fabtwin/io/load.hpp"
#include "fabtwin/whatif/spec.hpp"
#include "temp_dir.hpp"
#include "test_paths.hpp"
#include "whatif_support.hpp"

using namespace fabtwin;
using namespace fabtwin::whatif;

namespace {

const std::filesystem::path kDir = test::source_dir() / "twin_models" / "whatif";

// A valid spec with `extra` members added (or replacing earlier ones: later keys are removed first).
std::string spec_text(const std::string& body) {
  return "{\n\"base\": {\"model\": \"../minifab.json\"},\n" + body + "\n}";
}
const std::string kCore = "\"horizon_days\": 10,\n\"replications\": 3,\n";
const std::string kScen = "\"scenarios\": [{\"name\": \"a\", \"deltas\": []}]";

model::Error spec_error(const std::string& text) {
  auto r = parse_spec(text, "spec.json", kDir);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().file == "spec.json");
  return r.error();
}

model::Error batch_error(const std::string& text) {
  auto r = parse_spec(text, "spec.json", kDir);
  REQUIRE(r.ok());
  auto b = load_batch(std::move(r.value()));
  REQUIRE_FALSE(b.ok());
  CHECK(b.error().file == "spec.json");
  return b.error();
}

}  // namespace

TEST_CASE("the shipped what-if examples load") {
  for (const char* f : {"minifab.json", "minifab-screen.json", "minifab-budget.json"}) {
    auto s = read_spec(kDir / f);
    INFO(f << ": " << (s.ok() ? "" : s.error().what()));
    REQUIRE(s.ok());
    auto b = load_batch(std::move(s.value()));
    INFO((b.ok() ? "" : b.error().what()));
    REQUIRE(b.ok());
    CHECK(b->scenarios.front().name == "base");
    CHECK(b->scenarios.size() == b->spec.scenarios.size() + 1);
  }
  for (const char* f : {"hvlm.json", "hvlm-screen.json", "hvlm-budget.json"}) {
    auto s = read_spec(kDir / f);
    INFO(f << ": " << (s.ok() ? "" : s.error().what()));
    REQUIRE(s.ok());
    CHECK(s->model.filename() == "SMT2020_HVLM");
  }
}

TEST_CASE("a minimal spec takes its defaults") {
  auto s = parse_spec(spec_text(kCore + kScen), "spec.json", kDir);
  REQUIRE(s.ok());
  CHECK(s->seed == 1);
  CHECK(s->warmup_days == 0);
  CHECK(s->common_random_numbers);
  CHECK(s->metrics.size() == 5);
  CHECK(s->percentiles == std::vector<double>{50, 90});
  CHECK(s->model == (kDir / "../minifab.json").lexically_normal());
  auto b = load_batch(std::move(s.value()));
  REQUIRE(b.ok());
  CHECK_FALSE(b->scenarios[1].own_warmup);
}

TEST_CASE("spec errors name the file, the line and the JSON path") {
  SECTION("not JSON") {
    const auto e = spec_error("{\"base\": ");
    CHECK(e.line == 1);
  }
  SECTION("not an object") {
    CHECK(spec_error("[1]").message.find("expected an object") != std::string::npos);
  }
  SECTION("unknown key") {
    const auto e = spec_error(spec_text(kCore + "\"horizon\": 3,\n" + kScen));
    CHECK(e.field == "horizon");
    CHECK(e.line == 5);
    CHECK(e.message.find("unknown key") != std::string::npos);
  }
  SECTION("missing key") {
    const auto e = spec_error(spec_text("\"replications\": 3,\n" + kScen));
    CHECK(e.field == "horizon_days");
  }
  SECTION("wrong type") {
    const auto e = spec_error(spec_text("\"horizon_days\": \"10\",\n\"replications\": 3,\n" + kScen));
    CHECK(e.field == "horizon_days");
    CHECK(e.line == 3);
    CHECK(e.message.find("expected a number") != std::string::npos);
  }
  SECTION("out of range") {
    CHECK(spec_error(spec_text("\"horizon_days\": 0,\n\"replications\": 3,\n" + kScen)).field ==
          "horizon_days");
    CHECK(spec_error(spec_text("\"horizon_days\": 5,\n\"replications\": 1,\n" + kScen)).field ==
          "replications");
    CHECK(spec_error(spec_text(kCore + "\"warmup_days\": -1,\n" + kScen)).field == "warmup_days");
  }
  SECTION("not a whole number") {
    const auto e = spec_error(spec_text("\"horizon_days\": 5,\n\"replications\": 2.5,\n" + kScen));
    CHECK(e.field == "replications");
    CHECK(e.message.find("whole") != std::string::npos);
  }
  SECTION("base") {
    CHECK(spec_error("{\"base\": {}, " + kCore + kScen + "}").field == "base");
    CHECK(spec_error("{\"base\": {\"file\": \"x\"}, " + kCore + kScen + "}").field == "base.file");
    // {"live": true}: the served twin's state (WhatIfService); anything else for "live" is refused,
    // and so is a model or checkpoint beside it.
    const auto live = spec_error("{\"base\": {\"live\": \"localhost:7400\"}, " + kCore + kScen + "}");
    CHECK(live.field == "base.live");
    CHECK(spec_error("{\"base\": {\"live\": false}, " + kCore + kScen + "}").field == "base.live");
    CHECK(spec_error("{\"base\": {\"live\": true, \"checkpoint\": \"w.state\"}, " + kCore + kScen + "}")
              .field == "base.checkpoint");
    auto ok = parse_spec("{\"base\": {\"live\": true}, " + kCore + kScen + "}", "spec.json", kDir);
    REQUIRE(ok.ok());
    CHECK(ok->live);
    CHECK(ok->model.empty());
    // The reader alone cannot run it: load_batch names base.live and the service.
    auto refused = load_batch(std::move(ok.value()));
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().field == "base.live");
    CHECK(refused.error().message.find("whatif submit") != std::string::npos);
  }
  SECTION("metrics, percentiles, rule") {
    CHECK(spec_error(spec_text(kCore + "\"metrics\": [\"speed\"],\n" + kScen)).field == "metrics[0]");
    CHECK(spec_error(spec_text(kCore + "\"metrics\": [\"wip\", \"wip\"],\n" + kScen)).field == "metrics[1]");
    CHECK(spec_error(spec_text(kCore + "\"metrics\": [],\n" + kScen)).field == "metrics");
    CHECK(spec_error(spec_text(kCore + "\"percentiles\": [90, 50],\n" + kScen)).field == "percentiles[1]");
    CHECK(spec_error(spec_text(kCore + "\"percentiles\": [0],\n" + kScen)).field == "percentiles[0]");
    CHECK(spec_error(spec_text(kCore + "\"rule\": \"fastest\",\n" + kScen)).field == "rule");
  }
  SECTION("scenarios") {
    CHECK(spec_error(spec_text(kCore + "\"scenarios\": {}")).field == "scenarios");
    CHECK(spec_error(spec_text(kCore + "\"scenarios\": [{\"deltas\": []}]")).field == "scenarios[0].name");
    CHECK(spec_error(spec_text(kCore + "\"scenarios\": [{\"name\": \"base\", \"deltas\": []}]")).field ==
          "scenarios[0].name");
    CHECK(spec_error(spec_text(kCore + "\"scenarios\": [{\"name\": \"a\", \"deltas\": []}, {\"name\": \"a\", "
                                       "\"deltas\": []}]"))
              .field == "scenarios[1].name");
    // A delta's shape, as scenario_io reads it, under the scenario's path.
    const auto e =
        spec_error(spec_text(kCore + "\"scenarios\": [{\"name\": \"a\", \"deltas\": [\n"
                                     "{\"tool_count\": {\"group\": \"Litho_E\", \"count\": \"2\"}}]}]"));
    CHECK(e.field == "scenarios[0].deltas[0].tool_count.count");
    CHECK(e.line == 6);
  }
}

TEST_CASE("batch errors: the model, groups and each scenario's deltas against the model") {
  SECTION("a delta the model refuses names the scenario's path and the delta's line") {
    const auto e =
        batch_error(spec_text(kCore + "\"scenarios\": [{\"name\": \"ok\", \"deltas\": []},\n"
                                      "{\"name\": \"a\", \"deltas\": [\n"
                                      "{\"tool_count\": {\"group\": \"Litho_X\", \"count\": 2}}]}]"));
    CHECK(e.field == "scenarios[1].deltas[0].tool_count.group");
    CHECK(e.line == 7);
  }
  SECTION("an unknown utilisation group") {
    CHECK(batch_error(spec_text(kCore + "\"groups\": [\"Litho_X\"],\n" + kScen)).field == "groups");
  }
  SECTION("a model that cannot be read") {
    const auto e = batch_error("{\"base\": {\"model\": \"nowhere.json\"}, " + kCore + kScen + "}");
    CHECK(e.field == "base.model");
  }
  SECTION("a checkpoint that is not a state file") {
    test::TempDir tmp("whatif_spec");
    std::ofstream(tmp.file("bad.state")) << "hello";
    const auto e =
        batch_error("{\"base\": {\"checkpoint\": \"" + tmp.file("bad.state") + "\"}, " + kCore + kScen + "}");
    CHECK(e.field == "base.checkpoint");
    CHECK(e.message.find("not a fabtwin state file") != std::string::npos);
  }
}

TEST_CASE("a checkpoint base: the state file's model, deltas that keep its tables or add tools") {
  test::TempDir tmp("whatif_ckpt");
  const std::string state = test::write_state_file(tmp.file("warm.state"), 4);
  const std::string base = "{\"base\": {\"checkpoint\": \"" + state + "\"}, " + kCore;
  auto ok = parse_spec(base +
                           "\"warmup_days\": 1, \"scenarios\": [{\"name\": \"cr\", \"deltas\": [{\"rule\": "
                           "{\"group\": \"Diffusion_AB\", \"rule\": \"cr\"}}]}]}",
                       "spec.json", kDir);
  REQUIRE(ok.ok());
  auto b = load_batch(std::move(ok.value()));
  REQUIRE(b.ok());
  CHECK(b->start_days == 4);
  CHECK(b->base_options.warmup.count() == 5 * 86'400'000LL);
  // Added tools join the saved state; fewer tools do not fit it.
  auto more = parse_spec(base +
                             "\"scenarios\": [{\"name\": \"litho\", \"deltas\": [{\"tool_count\": "
                             "{\"group\": \"Litho_E\", \"count\": 2}}]}]}",
                         "spec.json", kDir);
  REQUIRE(more.ok());
  auto mb = load_batch(std::move(more.value()));
  REQUIRE(mb.ok());
  CHECK_FALSE(mb->scenarios[1].own_warmup);
  auto fewer = parse_spec(base +
                              "\"scenarios\": [{\"name\": \"one diffusion\", \"deltas\": [{\"tool_count\": "
                              "{\"group\": \"Diffusion_AB\", \"count\": 1}}]}]}",
                          "spec.json", kDir);
  REQUIRE(fewer.ok());
  auto fb = load_batch(std::move(fewer.value()));
  REQUIRE(fb.ok());
  CHECK_FALSE(fb->scenarios[1].own_warmup);
}

TEST_CASE(
    "own_warmup: a checkpoint base continues its state or refuses; a model base warms tool changes up") {
  const model::Model m = io::load_model(test::minifab()).value();
  Batch b;
  b.base_model = m;
  des::Options o;
  auto sim = des::Simulation::create(m, o).value();
  sim.run_until(model::SimTime{model::round_ms(2 * model::kMsPerDay)});
  b.checkpoint = sim.save();
  // A model whose tables do not fit the state (another order): an Error from a checkpoint base,
  // its own warm-up from a model base.
  model::ModelData d = m.data();
  d.orders.push_back(d.orders[0]);
  d.orders.back().lot_prefix += "_extra";
  const model::Model other = model::Model::build(std::move(d)).value();
  auto refused = own_warmup(b, other, o, b.checkpoint);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.error().message, Catch::Contains("do not fit the model"));
  CHECK(own_warmup(b, m, o, b.checkpoint).value() == false);
  Batch mb;
  mb.base_model = m;
  const std::string t0 = des::Simulation::create(m, o).value().save();
  CHECK(own_warmup(mb, other, o, t0).value() == true);
  CHECK(own_warmup(mb, m, o, t0).value() == false);
  // Another tool count: from a checkpoint base the tools join its state; a model base compares
  // fabs that had them from the start.
  des::Scenario sc;
  sc.name = "2 litho";
  sc.deltas.push_back(des::Delta{des::ToolCountDelta{"Litho_E", 2}});
  auto more = des::apply_scenario(m, o, sc, des::RuleRegistry{});
  REQUIRE(more.ok());
  CHECK(own_warmup(b, more->model, o, b.checkpoint).value() == false);
  CHECK(own_warmup(mb, more->model, o, t0).value() == true);
}
