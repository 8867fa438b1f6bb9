// WhatIfService against a real server (127.0.0.1:0) on the mini-fab: a job's progress stream
// (monotone, its total the batch's simulated days, ending DONE), its results byte for byte those
// of the same batch run in-process (whatif::run_pairs + write_outputs), a live-twin base that
// carries the twin's ingested state, the spec's errors named by field (INVALID_ARGUMENT), unknown
// jobs (NOT_FOUND), results before a job is done (FAILED_PRECONDITION), cancellation, and finished
// jobs kept in the twin's store across a restart (Watch, Results, ListJobs).
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "fabtwin/io/load.hpp"
#include "fabtwin/live/live_twin.hpp"
#include "fabtwin/server/server.hpp"
#include "fabtwin/v1/twin.grpc.pb.h"
#include "fabtwin/v1/whatif.grpc.pb.h"
#include "fabtwin/whatif/output.hpp"
#include "fabtwin/whatif/runner.hpp"
#include "fabtwin/whatif/screen.hpp"
#include "fabtwin/whatif/spec.hpp"
#include "temp_dir.hpp"
#include "test_paths.hpp"

using namespace fabtwin;

namespace {

namespace fs = std::filesystem;

const model::Model& minifab() {
  static const model::Model m = io::load_model(test::minifab()).value();
  return m;
}

std::chrono::system_clock::time_point in_seconds(double s) {
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(s));
}

struct Running {
  test::TempDir dir{"fabtwin_whatif_service"};
  std::unique_ptr<server::Server> server;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::WhatIfService::Stub> stub;

  Running() { start(); }
  void start() {
    live::LiveOptions o;
    o.sim.mode = des::Mode::Follow;
    o.db_path = (dir.path / "live.db").string();
    auto twin = live::LiveTwin::open(minifab(), o);
    if (!twin) FAIL(twin.error().what());
    auto s = server::Server::start(std::move(twin.value()), {.listen = "127.0.0.1:0", .whatif_threads = 2});
    if (!s) FAIL(s.error().what());
    server = std::move(s.value());
    channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server->port()),
                                  grpc::InsecureChannelCredentials());
    stub = v1::WhatIfService::NewStub(channel);
  }
  // A clean shutdown, then a new server on the same store.
  void restart() {
    stub.reset();
    channel.reset();
    server.reset();
    start();
  }

  grpc::Status submit(const std::string& spec, v1::SubmitReply& reply) {
    grpc::ClientContext ctx;
    ctx.set_deadline(in_seconds(60));
    v1::SubmitRequest req;
    req.set_spec_json(spec);
    req.set_label("test.json");
    return stub->Submit(&ctx, req, &reply);
  }
  std::string submit_ok(const std::string& spec) {
    v1::SubmitReply reply;
    const grpc::Status st = submit(spec, reply);
    INFO(st.error_message());
    REQUIRE(st.ok());
    REQUIRE(!reply.job_id().empty());
    return reply.job_id();
  }
  // Watches the job until it runs (the watch then cancelled).
  void wait_running(const std::string& id) {
    grpc::ClientContext ctx;
    ctx.set_deadline(in_seconds(600));
    v1::WatchRequest req;
    req.set_job_id(id);
    auto reader = stub->Watch(&ctx, req);
    v1::Progress p;
    while (reader->Read(&p) && p.state() != v1::RUNNING) {
    }
    REQUIRE(p.state() == v1::RUNNING);
    ctx.TryCancel();
    reader->Finish();
  }
  // Every Progress of the job until the stream ends.
  std::vector<v1::Progress> watch(const std::string& id, grpc::Status* status = nullptr) {
    grpc::ClientContext ctx;
    ctx.set_deadline(in_seconds(600));
    v1::WatchRequest req;
    req.set_job_id(id);
    auto reader = stub->Watch(&ctx, req);
    std::vector<v1::Progress> out;
    for (v1::Progress p; reader->Read(&p);) out.push_back(p);
    const grpc::Status st = reader->Finish();
    if (status)
      *status = st;
    else
      CHECK(st.ok());
    return out;
  }
  grpc::Status results(const std::string& id, v1::ResultsReply& reply) {
    grpc::ClientContext ctx;
    ctx.set_deadline(in_seconds(60));
    v1::ResultsRequest req;
    req.set_job_id(id);
    return stub->Results(&ctx, req, &reply);
  }
  grpc::Status list(std::uint32_t limit, v1::ListJobsReply& reply) {
    grpc::ClientContext ctx;
    ctx.set_deadline(in_seconds(60));
    v1::ListJobsRequest req;
    req.set_limit(limit);
    return stub->ListJobs(&ctx, req, &reply);
  }
  grpc::Status cancel(const std::string& id, v1::CancelReply& reply) {
    grpc::ClientContext ctx;
    ctx.set_deadline(in_seconds(60));
    v1::CancelRequest req;
    req.set_job_id(id);
    return stub->Cancel(&ctx, req, &reply);
  }
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The same batch run in-process, as `fabtwin whatif run` (or, with `screen`, `whatif screen`) does;
// the files it writes, and the simulated days of its runs.
struct Reference {
  std::string json, csv, png, screen_csv, screen_json;
  double days = 0;
};
Reference run_in_process(whatif::Batch b, bool screen = false) {
  auto fm = whatif::flow_model_for(b, screen);
  REQUIRE(fm.ok());
  std::optional<whatif::ScreenResult> screened;
  if (screen) {
    auto sr = whatif::screen(b, *fm.value(), 1);
    REQUIRE(sr.ok());
    screened.emplace(std::move(sr.value()));
  }
  const auto defs = whatif::metric_defs(b);
  const std::size_t pairs = b.scenarios.size() * b.spec.replications;
  const auto values = whatif::run_pairs(b, defs, 0, pairs, {.threads = 1});
  const auto r = whatif::summarise_with_flow(b, defs, values, fm.value() ? &*fm.value() : nullptr, 1);
  test::TempDir out{"fabtwin_whatif_ref"};
  whatif::write_outputs(b, r, out.path);
  Reference ref{read_file(out.path / "results.json"),
                read_file(out.path / "results.csv"),
                read_file(out.path / "chart.png"),
                "",
                "",
                whatif::total_days(b, 0, pairs)};
  if (screened) {
    const auto files = whatif::screen_files(b, *screened, r);
    ref.screen_csv = files[0].second;
    ref.screen_json = files[1].second;
  }
  return ref;
}

whatif::Batch batch_of(const std::string& spec) {
  auto parsed = whatif::parse_spec(spec, "test.json", "");
  REQUIRE(parsed.ok());
  auto batch = whatif::load_batch(std::move(parsed.value()));
  REQUIRE(batch.ok());
  return std::move(batch.value());
}

std::string model_spec(double horizon, double warmup, const std::string& extra = "") {
  return R"({"schema": "fabtwin.v1.WhatIf", "name": "service test", "base": {"model": ")" +
         test::minifab().string() + R"("}, "horizon_days": )" + std::to_string(horizon) +
         R"(, "warmup_days": )" + std::to_string(warmup) + R"(, "replications": 2, "seed": 3, )" + extra +
         R"("scenarios": [{"name": "diffusion by CR", "deltas": [{"rule": {"group": "Diffusion_AB", "rule": "cr"}}]}]})";
}

}  // namespace

TEST_CASE("a submitted batch: progress to DONE, results equal the in-process run byte for byte",
          "[services][whatif]") {
  Running r;
  // A long job holds the worker first, so that the watch below starts while the job is queued
  // (it would otherwise race the job's end); cancelled once the watch is on.
  const std::string blocker = r.submit_ok(model_spec(20000, 0));
  const std::string spec = model_spec(3, 1);
  v1::SubmitReply sub;
  REQUIRE(r.submit(spec, sub).ok());
  CHECK(sub.pairs() == 4);
  REQUIRE(sub.scenarios_size() == 2);
  CHECK(sub.scenarios(0) == "base");
  CHECK(sub.scenarios(1) == "diffusion by CR");
  CHECK_FALSE(sub.live_base());

  std::vector<v1::Progress> progress;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(in_seconds(600));
    v1::WatchRequest req;
    req.set_job_id(sub.job_id());
    auto reader = r.stub->Watch(&ctx, req);
    v1::Progress first;
    REQUIRE(reader->Read(&first));
    CHECK(first.state() == v1::QUEUED);
    CHECK(first.queue_position() <= 1);  // 1 until the worker has taken the blocker
    progress.push_back(first);
    v1::CancelReply can;
    REQUIRE(r.cancel(blocker, can).ok());
    for (v1::Progress p; reader->Read(&p);) progress.push_back(p);
    REQUIRE(reader->Finish().ok());
  }
  REQUIRE(progress.size() >= 2);
  // 2 scenarios x 2 replications x 3 days, plus each replication's shared 1-day warm-up.
  const double total = 2 * 2 * 3 + 2 * 1;
  // (Watch sends the newest state when the client reads slower than the job goes: how many
  // RUNNING states arrive is not fixed.)
  double last = -1;
  for (const auto& p : progress) {
    CHECK(p.total() == Approx(total));
    CHECK(p.done() >= last);
    last = p.done();
    if (&p != &progress.back()) CHECK((p.state() == v1::QUEUED || p.state() == v1::RUNNING));
  }
  CHECK(progress.back().state() == v1::DONE);
  CHECK(progress.back().done() == Approx(total));
  // A watch of a finished job: its final state at once.
  const auto again = r.watch(sub.job_id());
  REQUIRE(again.size() == 1);
  CHECK(again[0].state() == v1::DONE);

  v1::ResultsReply res;
  REQUIRE(r.results(sub.job_id(), res).ok());
  auto parsed = whatif::parse_spec(spec, "test.json", "");
  REQUIRE(parsed.ok());
  auto batch = whatif::load_batch(std::move(parsed.value()));
  REQUIRE(batch.ok());
  const std::size_t defs = whatif::metric_defs(batch.value()).size();
  const Reference ref = run_in_process(std::move(batch.value()));
  CHECK(res.results_json() == ref.json);
  CHECK(res.results_csv() == ref.csv);
  CHECK(res.chart_png() == ref.png);
  REQUIRE(res.rows_size() == static_cast<int>(2 * defs));
  CHECK(res.rows(0).scenario() == "base");
  CHECK_FALSE(res.rows(0).has_diff());
  const v1::ResultRow& scen = res.rows(static_cast<int>(defs));
  CHECK(scen.scenario() == "diffusion by CR");
  CHECK(scen.has_diff());
  CHECK(scen.values_size() == 2);
  CHECK(scen.ci_low() <= scen.mean());
  CHECK(scen.mean() <= scen.ci_high());
}

TEST_CASE("a live base is the served twin's state when submitted", "[services][whatif]") {
  Running r;
  const std::string spec =
      R"({"base": {"live": true}, "horizon_days": 4, "replications": 2, "metrics": ["utilisation", "throughput"],
          "groups": ["Litho_E"], "scenarios": []})";
  v1::SubmitReply before;
  REQUIRE(r.submit(spec, before).ok());
  CHECK(before.live_base());
  CHECK(before.base_time_ms() == 0);

  // The only Litho_E tool goes down (unscheduled) at 1 h.
  constexpr std::int64_t kDown = 3'600'000;
  {
    auto ingest = v1::IngestService::NewStub(r.channel);
    v1::IngestRequest req;
    v1::MesEvent& e = *req.add_events();
    e.set_id("down-1");
    e.set_time_ms(kDown);
    e.set_kind(v1::EVENT_KIND_TOOL_STATE);
    e.set_tool("Litho_E_1");
    e.set_state(v1::TOOL_STATE_UNSCHEDULED_DOWN);
    v1::IngestReply reply;
    grpc::ClientContext ctx;
    ctx.set_deadline(in_seconds(60));
    const grpc::Status st = ingest->Ingest(&ctx, req, &reply);
    INFO(st.error_message());
    REQUIRE(st.ok());
    REQUIRE(reply.results_size() == 1);
    REQUIRE(reply.results(0).outcome() == v1::OUTCOME_APPLIED);
  }
  v1::SubmitReply after;
  REQUIRE(r.submit(spec, after).ok());
  CHECK(after.base_time_ms() == kDown);
  CHECK(after.base_time_ms() == r.server->twin().now().time_since_epoch().count());

  REQUIRE(r.watch(before.job_id()).back().state() == v1::DONE);
  REQUIRE(r.watch(after.job_id()).back().state() == v1::DONE);
  v1::ResultsReply a, b;
  REQUIRE(r.results(before.job_id(), a).ok());
  REQUIRE(r.results(after.job_id(), b).ok());
  CHECK(a.results_json() != b.results_json());

  // The job ran from exactly the twin's state (nothing changed it since the submit: the clock is
  // still): the same batch in-process from a checkpoint of that state gives the same bytes.
  auto parsed = whatif::parse_spec(spec, "test.json", "");
  REQUIRE(parsed.ok());
  const std::string state = r.server->twin().read([](const des::Simulation& s) { return s.save(); });
  auto batch = whatif::load_batch(std::move(parsed.value()), whatif::LiveBase{minifab(), state});
  REQUIRE(batch.ok());
  CHECK(batch->start_days == Approx(1.0 / 24));
  CHECK(run_in_process(std::move(batch.value())).json == b.results_json());

  // A live base needs the server: the in-process reader refuses it, naming base.live.
  auto alone = whatif::parse_spec(spec, "test.json", "");
  REQUIRE(alone.ok());
  auto refused = whatif::load_batch(std::move(alone.value()));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().field == "base.live");
  CHECK(refused.error().message.find("whatif submit") != std::string::npos);

  // "What if a second litho tool came in now?" (the only one is down): added tools join the live
  // state idle; the job equals the same batch in-process from that state.
  const std::string more =
      R"({"base": {"live": true}, "horizon_days": 4, "replications": 2, "metrics": ["utilisation"],
          "groups": ["Litho_E"],
          "scenarios": [{"name": "2 litho", "deltas": [{"tool_count": {"group": "Litho_E", "count": 2}}]}]})";
  v1::SubmitReply grown;
  REQUIRE(r.submit(more, grown).ok());
  REQUIRE(r.watch(grown.job_id()).back().state() == v1::DONE);
  v1::ResultsReply g;
  REQUIRE(r.results(grown.job_id(), g).ok());
  CHECK(g.results_json().find("\"2 litho\"") != std::string::npos);
  auto parsed_more = whatif::parse_spec(more, "test.json", "");
  REQUIRE(parsed_more.ok());
  auto batch_more = whatif::load_batch(std::move(parsed_more.value()), whatif::LiveBase{minifab(), state});
  REQUIRE(batch_more.ok());
  CHECK(run_in_process(std::move(batch_more.value())).json == g.results_json());
}

TEST_CASE("a served screen and a flow block: the files of whatif screen and run byte for byte",
          "[services][whatif]") {
  Running r;
  const std::string model = test::minifab().string();
  // Litho_E at 1 or 2 tools under FIFO (its own) or SPT: 4 points, the best 2 confirmed.
  const std::string spec =
      R"({"name": "served screen", "base": {"model": ")" + model +
      R"("}, "horizon_days": 3, "warmup_days": 1, "replications": 2, "seed": 3,)"
      R"( "metrics": ["throughput", "cycle_time"], "screen": {"space": {"tool_count":)"
      R"( [{"group": "Litho_E", "counts": [1, 2]}], "rule": [{"group": "Litho_E", "rules":)"
      R"( ["fifo", "spt"]}]}, "design": {"type": "grid"}, "confirm": 2}})";
  v1::SubmitReply sub;
  REQUIRE(r.submit(spec, sub).ok());
  CHECK(sub.pairs() == 2);  // the base's, until the screen adds the confirmed points'
  const auto progress = r.watch(sub.job_id());
  REQUIRE_FALSE(progress.empty());
  INFO(progress.back().message());
  REQUIRE(progress.back().state() == v1::DONE);
  double screen_done = 0;
  for (const auto& p : progress)
    if (p.state() == v1::RUNNING) {
      CHECK((p.phase() == "screening" || p.phase() == "simulating"));
      if (p.phase() != "screening") continue;
      // the flow model's scenario-days (0 until its run starts): the base and 4 points, 150 days
      // warm-up + the horizon's 3
      if (p.screen_total() > 0) CHECK(p.screen_total() == Approx(5 * 153.0));
      CHECK(p.screen_done() >= screen_done);
      CHECK(p.done() == 0);
      screen_done = p.screen_done();
    } else {
      CHECK(p.screen_total() == 0);
    }
  v1::ResultsReply res;
  REQUIRE(r.results(sub.job_id(), res).ok());
  const Reference ref = run_in_process(batch_of(spec), true);
  CHECK(progress.back().total() == Approx(ref.days));
  CHECK(res.results_json() == ref.json);
  CHECK(res.results_csv() == ref.csv);
  CHECK(res.chart_png() == ref.png);
  CHECK(res.screen_csv() == ref.screen_csv);
  CHECK(res.screen_json() == ref.screen_json);
  CHECK(res.screen_csv().find("rank_SPT") != std::string::npos);
  CHECK(res.rows(res.rows_size() - 1).scenario().starts_with("#2 p"));

  // A "flow" block: the flow estimates beside the simulation, as whatif run writes them.
  const std::string flow_spec = model_spec(3, 1, R"("flow": {"warmup_days": 5, "days": 10}, )");
  const std::string id = r.submit_ok(flow_spec);
  REQUIRE(r.watch(id).back().state() == v1::DONE);
  REQUIRE(r.results(id, res).ok());
  const Reference fref = run_in_process(batch_of(flow_spec));
  CHECK(res.results_csv() == fref.csv);
  CHECK(res.results_json() == fref.json);
  CHECK(res.screen_csv().empty());
  REQUIRE(res.rows_size() > 0);
  CHECK(res.rows(0).metric() == "throughput_lots_per_day");
  CHECK(res.rows(0).has_flow_estimate());  // the base's throughput, as the flow model has it

  // A screen the flow model cannot take (a rule it has no calibration for) fails when it runs,
  // naming the factor.
  std::string bad = spec;
  bad.replace(bad.find(R"("spt")"), 5, R"("hp")");
  const std::string bid = r.submit_ok(bad);
  const auto bp = r.watch(bid);
  REQUIRE_FALSE(bp.empty());
  CHECK(bp.back().state() == v1::FAILED);
  CHECK(bp.back().message().find("screen.space.rule[0]") != std::string::npos);
}

TEST_CASE("bad specs are INVALID_ARGUMENT naming the field; unknown jobs NOT_FOUND", "[services][whatif]") {
  Running r;
  struct Case {
    std::string spec, field;
  };
  const std::string model = test::minifab().string();
  const std::vector<Case> cases = {
      {"{not json", "test.json:1"},
      {R"({"base": {"model": ")" + model + R"("}, "replications": 2, "scenarios": []})", "horizon_days"},
      {R"({"base": {"model": ")" + model + R"("}, "horizon_days": 2, "replications": 1, "scenarios": []})",
       "replications"},
      {R"({"base": {"live": true, "model": "x.json"}, "horizon_days": 2, "replications": 2, "scenarios": []})",
       "base.model"},
      {R"({"base": {"live": false}, "horizon_days": 2, "replications": 2, "scenarios": []})", "base.live"},
      {R"({"base": {"model": "/nonexistent/model.json"}, "horizon_days": 2, "replications": 2, "scenarios": []})",
       "base.model"},
      {model_spec(2, 0).replace(model_spec(2, 0).find("Diffusion_AB"), 12, "No_Such_Group"),
       "scenarios[0].deltas[0]"},
      // A screen (or a "flow" block) whose calibration cannot be read: refused at once.
      {R"({"base": {"model": ")" + model +
           R"("}, "horizon_days": 2, "replications": 2, "screen": {"space": {"release": {"min": 0.9, "max": 1.1}},)"
           R"( "design": {"type": "lhs", "samples": 4}, "calibration": "/nonexistent/c.flow.json"}})",
       "flow.calibration"},
      // A live base has no model file to find a calibration beside: it must be given.
      {R"({"base": {"live": true}, "horizon_days": 2, "replications": 2, "screen": {"space": {"release":)"
       R"( {"min": 0.9, "max": 1.1}}, "design": {"type": "lhs", "samples": 4}}})",
       "give \"flow\": {\"calibration\""},
  };
  for (const Case& c : cases) {
    INFO(c.spec);
    v1::SubmitReply reply;
    const grpc::Status st = r.submit(c.spec, reply);
    INFO(st.error_message());
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(st.error_message().find(c.field) != std::string::npos);
    CHECK(reply.job_id().empty());
  }
  {
    v1::SubmitReply reply;
    const grpc::Status st = r.submit("", reply);
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(st.error_message().find("spec_json") != std::string::npos);
  }
  v1::ResultsReply res;
  CHECK(r.results("job-999", res).error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(r.results("", res).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  v1::CancelReply can;
  CHECK(r.cancel("job-999", can).error_code() == grpc::StatusCode::NOT_FOUND);
  grpc::Status st;
  CHECK(r.watch("job-999", &st).empty());
  CHECK(st.error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("results before a job is done are FAILED_PRECONDITION; queued and running jobs cancel",
          "[services][whatif]") {
  Running r;
  // A long job (years of simulated time) holds the worker; the second one waits behind it.
  const std::string long_job = r.submit_ok(model_spec(20000, 0));
  const std::string queued = r.submit_ok(model_spec(2, 0));
  v1::ResultsReply res;
  grpc::Status st = r.results(queued, res);
  CHECK(st.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(st.error_message().find("QUEUED") != std::string::npos);
  st = r.results(long_job, res);
  CHECK(st.error_code() == grpc::StatusCode::FAILED_PRECONDITION);

  v1::CancelReply can;
  REQUIRE(r.cancel(queued, can).ok());
  CHECK(can.state() == v1::CANCELLED);
  const auto q = r.watch(queued);
  REQUIRE(q.size() == 1);
  CHECK(q[0].state() == v1::CANCELLED);

  REQUIRE(r.cancel(long_job, can).ok());
  const auto l = r.watch(long_job);
  REQUIRE(!l.empty());
  CHECK(l.back().state() == v1::CANCELLED);
  CHECK(l.back().done() < l.back().total());
  st = r.results(long_job, res);
  CHECK(st.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(st.error_message().find("CANCELLED") != std::string::npos);

  // The worker goes on with the next job.
  const std::string next = r.submit_ok(model_spec(1, 0));
  CHECK(r.watch(next).back().state() == v1::DONE);
  CHECK(r.results(next, res).ok());
}

TEST_CASE("a screen cancels while the flow model runs its design", "[services][whatif]") {
  Running r;
  // 20,000 Latin hypercube points: a long screen (seconds) that a cancel cuts short.
  const std::string spec =
      R"({"name": "long screen", "base": {"model": ")" + test::minifab().string() +
      R"("}, "horizon_days": 3, "warmup_days": 1, "replications": 2, "seed": 3,)"
      R"( "metrics": ["throughput", "cycle_time"], "screen": {"space": {"release": {"min": 0.8, "max": 1.2}},)"
      R"( "design": {"type": "lhs", "samples": 20000}, "confirm": 2}})";
  const std::string id = r.submit_ok(spec);
  grpc::ClientContext ctx;
  ctx.set_deadline(in_seconds(600));
  v1::WatchRequest req;
  req.set_job_id(id);
  auto reader = r.stub->Watch(&ctx, req);
  std::vector<v1::Progress> seen;
  bool cancelled = false;
  for (v1::Progress p; reader->Read(&p);) {
    seen.push_back(p);
    if (!cancelled && p.phase() == "screening" && p.screen_done() > 0) {
      v1::CancelReply can;
      REQUIRE(r.cancel(id, can).ok());
      cancelled = true;
    }
  }
  CHECK(reader->Finish().ok());
  REQUIRE(cancelled);
  REQUIRE(!seen.empty());
  CHECK(seen.back().state() == v1::CANCELLED);
  CHECK(seen.back().message() == "cancelled");
  double most = 0, total = 0;
  for (const auto& p : seen) {
    CHECK(p.phase() != "simulating");  // it never got to the simulation
    most = std::max(most, p.screen_done());
    total = std::max(total, p.screen_total());
  }
  CHECK(total == Approx(20001 * 153.0));  // (150 days warm-up + 3)
  CHECK(most < total);                    // stopped within the design
  CHECK(seen.back().done() == 0);
}

TEST_CASE("finished jobs outlive the server: Watch and Results after a restart, ids go on",
          "[services][whatif]") {
  Running r;
  const std::string done = r.submit_ok(model_spec(3, 1));
  REQUIRE(r.watch(done).back().state() == v1::DONE);
  v1::ResultsReply before;
  REQUIRE(r.results(done, before).ok());
  // A long job holds the worker; one cancelled while queued; one still queued at the shutdown.
  const std::string running = r.submit_ok(model_spec(20000, 0));
  r.wait_running(running);
  const std::string cancelled = r.submit_ok(model_spec(2, 0));
  const std::string queued = r.submit_ok(model_spec(2, 0));
  v1::CancelReply can;
  REQUIRE(r.cancel(cancelled, can).ok());
  REQUIRE(can.state() == v1::CANCELLED);

  r.restart();
  v1::ResultsReply after;
  REQUIRE(r.results(done, after).ok());
  CHECK(after.SerializeAsString() == before.SerializeAsString());
  const auto w = r.watch(done);
  REQUIRE(w.size() == 1);
  CHECK(w[0].state() == v1::DONE);
  CHECK(w[0].total() > 0);
  CHECK(w[0].done() == w[0].total());
  // The others ended CANCELLED, each with its reason; they have no results.
  const std::vector<std::pair<std::string, std::string>> ended = {{running, "the server is shutting down"},
                                                                  {cancelled, "cancelled before it started"},
                                                                  {queued, "the server is shutting down"}};
  for (const auto& [id, why] : ended) {
    INFO(id);
    const auto p = r.watch(id);
    REQUIRE(p.size() == 1);
    CHECK(p[0].state() == v1::CANCELLED);
    CHECK(p[0].message() == why);
    v1::ResultsReply none;
    const grpc::Status st = r.results(id, none);
    CHECK(st.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(st.error_message().find("CANCELLED") != std::string::npos);
  }
  // New jobs continue the numbering; unknown ids are still NOT_FOUND.
  const std::string next = r.submit_ok(model_spec(1, 0));
  CHECK(next == "job-5");
  CHECK(r.watch(next).back().state() == v1::DONE);
  v1::ResultsReply res;
  CHECK(r.results("job-99", res).error_code() == grpc::StatusCode::NOT_FOUND);

  // ListJobs: the new job (in memory) and the four stored ones, newest first, each once.
  v1::ListJobsReply list;
  REQUIRE(r.list(0, list).ok());
  REQUIRE(list.jobs_size() == 5);
  const std::vector<std::string> ids = {next, queued, cancelled, running, done};
  for (int i = 0; i < 5; ++i) {
    INFO(i);
    const v1::JobSummary& j = list.jobs(i);
    CHECK(j.job_id() == ids[static_cast<std::size_t>(i)]);
    CHECK(j.name() == "service test");
    CHECK(j.submitted_unix_ms() > 0);
    CHECK(j.finished_unix_ms() >= j.submitted_unix_ms());
    CHECK(j.total() > 0);
  }
  CHECK(list.jobs(0).state() == v1::DONE);
  CHECK(list.jobs(0).done() == list.jobs(0).total());
  CHECK(list.jobs(1).state() == v1::CANCELLED);
  CHECK(list.jobs(1).message() == "the server is shutting down");
  CHECK(list.jobs(2).message() == "cancelled before it started");
  CHECK(list.jobs(4).state() == v1::DONE);
  v1::ListJobsReply two;
  REQUIRE(r.list(2, two).ok());
  REQUIRE(two.jobs_size() == 2);
  CHECK(two.jobs(1).job_id() == queued);
  v1::ListJobsReply too_many;
  const grpc::Status st = r.list(1001, too_many);
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message().find("limit") != std::string::npos);
}
