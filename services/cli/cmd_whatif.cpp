// fabtwin whatif run SPEC --out DIR [--threads N] [--quiet]: a what-if batch (docs/whatif.md), on
// all cores, and over MPI ranks when started by mpirun/srun.
// fabtwin whatif submit SPEC --target HOST:PORT --out DIR: the same batch run by a `fabtwin serve`
// (WhatIfService; a {"live": true} base is the served twin's state), its outputs written here.
// fabtwin whatif screen SPEC --out DIR [--threads N] [--quiet]: the spec's screen design evaluated
// with the flow model, the best k confirmed by the same runner; screen.csv, screen.json beside.
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "commands.hpp"
#include "fabtwin/io/output_file.hpp"
#include "fabtwin/whatif/cluster.hpp"
#include "fabtwin/whatif/output.hpp"
#include "fabtwin/whatif/runner.hpp"
#include "fabtwin/whatif/screen.hpp"
#include "fabtwin/whatif/spec.hpp"
#if FABTWIN_HAVE_SERVER
#include <grpcpp/grpcpp.h>

#include <filesystem>
#include <fstream>

#include "client_commands.hpp"
#include "fabtwin/io/file.hpp"
#include "fabtwin/v1/whatif.grpc.pb.h"
#endif

namespace fabtwin::cli {

namespace {

struct WhatIfOptions {
  std::string spec, out;
  unsigned threads = 0;
  bool quiet = false;
  bool screen = false;  // whatif screen
};

int run(const WhatIfOptions& o) {
  whatif::Cluster cluster;  // joins MPI when launched by mpirun/srun
  // A refused spec is refused alike by every rank (same inputs): rank 0 says so, all exit 1.
  auto spec = whatif::read_spec(o.spec);
  if (!spec.ok()) {
    if (cluster.rank() != 0) return kExitFailure;
    throw std::runtime_error(spec.error().what());
  }
  auto batch = whatif::load_batch(std::move(spec.value()));
  if (!batch.ok()) {
    if (cluster.rank() != 0) return kExitFailure;
    throw std::runtime_error(batch.error().what());
  }
  try {
    whatif::Batch& b = batch.value();
    const unsigned threads = o.threads ? o.threads
                                       : std::max(1u, std::max(1u, std::thread::hardware_concurrency()) /
                                                          static_cast<unsigned>(cluster.local_size()));
    const bool talk = !o.quiet && cluster.rank() == 0;
    // The flow model: for the screen, and for the estimates beside the simulation ("flow" given).
    auto m = whatif::flow_model_for(b, o.screen);
    if (!m.ok()) {
      if (cluster.rank() != 0) return kExitFailure;
      throw std::runtime_error(m.error().what());
    }
    const std::optional<flow::FlowModel> fm = std::move(m.value());
    std::optional<whatif::ScreenResult> screened;
    if (o.screen) {
      if (talk && !isatty(STDERR_FILENO)) std::fprintf(stderr, "screening with the flow model...\n");
      ProgressBar sbar(talk && isatty(STDERR_FILENO), "screening");
      auto sr = whatif::screen(b, *fm, threads, [&](double done, double total) { sbar(done, total); });
      sbar.finish();
      if (!sr.ok()) {
        if (cluster.rank() != 0) return kExitFailure;
        throw std::runtime_error(sr.error().what());
      }
      screened.emplace(std::move(sr.value()));
      if (talk)
        std::printf("screened %zu points with the flow model in %.1f s; confirming the %s%zu by simulation\n",
                    screened->points.size(), screened->flow_seconds,
                    b.spec.screen.confirm_efficient ? "efficient points within the budget: " : "best ",
                    screened->confirmed.size());
    }
    const auto defs = whatif::metric_defs(b);
    const std::size_t pairs = b.scenarios.size() * b.spec.replications;
    const auto [first, last] = whatif::share(pairs, cluster.rank(), cluster.size());
    whatif::RunOptions ro;
    ro.threads = threads;
    ProgressBar bar(talk && isatty(STDERR_FILENO), screened ? "simulating" : "");
    ro.progress = [&](double done, double total) { bar(done, total); };
    const auto t0 = std::chrono::steady_clock::now();
    const auto mine = whatif::run_pairs(b, defs, first, last, ro);
    bar.finish();
    const auto all = cluster.gather(mine, pairs, defs.size());
    if (cluster.rank() != 0) return kExitOk;
    const auto results = whatif::summarise_with_flow(b, defs, all, fm ? &*fm : nullptr, threads);
    whatif::write_outputs(b, results, o.out);
    if (screened)
      for (const auto& [name, text] : whatif::screen_files(b, *screened, results)) {
        const auto w = io::write_file(std::filesystem::path(o.out) / name, text);
        if (!w.ok()) throw std::runtime_error(w.error().what());
      }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!o.quiet) {
      std::printf("%s: %zu scenarios x %u replications (%s) in %.1f s on %d rank(s) x %u thread(s)\n",
                  b.spec.name.empty() ? o.spec.c_str() : b.spec.name.c_str(), b.scenarios.size(),
                  b.spec.replications,
                  b.spec.common_random_numbers ? "common random numbers" : "independent seeds", wall,
                  cluster.size(), ro.threads);
      // The headline: throughput and mean cycle time, mean [95 % CI] and the paired difference.
      for (const auto& row : results.rows) {
        const auto& d = results.defs[row.def];
        if (d.subject != "all" ||
            (d.metric != "throughput_lots_per_day" && d.metric != "cycle_time_mean_days"))
          continue;
        std::printf("  %-24s %-24s %10.3f [%.3f, %.3f]", results.scenario_names[row.scenario].c_str(),
                    d.metric.c_str(), row.summary.mean, row.summary.lo(), row.summary.hi());
        if (row.diff)
          std::printf("  diff %+.3f [%+.3f, %+.3f]", row.diff->mean, row.diff->lo(), row.diff->hi());
        std::printf("\n");
      }
      if (screened) std::printf("\n%s\n", whatif::screen_table(b, *screened, results).c_str());
      std::printf("wrote %s/results.csv, results.json, chart.png%s\n", o.out.c_str(),
                  screened ? ", screen.csv, screen.json" : "");
    }
    return kExitOk;
  } catch (const std::exception& e) {
    if (cluster.size() > 1) {  // one rank's failure ends them all
      std::fprintf(stderr, "fabtwin whatif run: error (rank %d): %s\n", cluster.rank(), e.what());
      cluster.abort(kExitFailure);
    }
    throw;
  }
}

#if FABTWIN_HAVE_SERVER
struct SubmitOptions {
  std::string spec, out, target;
  ConnectArgs connect;
  bool quiet = false;
};

std::runtime_error rpc_error(const std::string& what, const grpc::Status& st) {
  return std::runtime_error(what + ": " + st.error_message() + " (gRPC status " +
                            std::to_string(static_cast<int>(st.error_code())) + ")");
}

void write_bytes(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream f(p, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f.flush()) throw std::runtime_error(p.string() + ": cannot write the file");
}

// Follows job `id` to its end (a progress bar on a terminal), then writes its three files into
// `out`; a job that ended FAILED or CANCELLED is an error naming its state and reason.
int follow(v1::WhatIfService::Stub& stub, const std::string& id, const std::string& out, bool quiet) {
  v1::Progress last;
  {
    grpc::ClientContext ctx;
    v1::WatchRequest wr;
    wr.set_job_id(id);
    auto reader = stub.Watch(&ctx, wr);
    const bool on = !quiet && isatty(STDERR_FILENO);
    std::optional<ProgressBar> screen_bar, bar;
    for (v1::Progress p; reader->Read(&p);) {
      if (p.phase() == "screening") {
        if (!screen_bar) screen_bar.emplace(on, "screening");
        (*screen_bar)(p.screen_done(), p.screen_total());
      } else if (p.state() != v1::QUEUED) {
        if (screen_bar) screen_bar->finish();
        if (!bar) bar.emplace(on, screen_bar ? "simulating" : "");
        (*bar)(p.done(), p.total());
      }
      last = p;
    }
    if (screen_bar) screen_bar->finish();
    if (bar) bar->finish();
    const grpc::Status st = reader->Finish();
    if (!st.ok()) throw rpc_error("watch job " + id, st);
  }
  if (last.state() != v1::DONE)
    throw std::runtime_error("job " + id + " ended " + v1::JobState_Name(last.state()) +
                             (last.message().empty() ? "" : ": " + last.message()));
  v1::ResultsReply res;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(10));
    v1::ResultsRequest rr;
    rr.set_job_id(id);
    const grpc::Status st = stub.Results(&ctx, rr, &res);
    if (!st.ok()) throw rpc_error("results of job " + id, st);
  }
  const std::filesystem::path dir(out);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error(out + ": cannot create the folder: " + ec.message());
  write_bytes(dir / "results.json", res.results_json());
  write_bytes(dir / "results.csv", res.results_csv());
  write_bytes(dir / "chart.png", res.chart_png());
  const bool screened = !res.screen_csv().empty();
  if (screened) {
    write_bytes(dir / "screen.csv", res.screen_csv());
    write_bytes(dir / "screen.json", res.screen_json());
  }
  if (!quiet)
    std::printf("wrote %s/results.csv, results.json, chart.png%s\n", out.c_str(),
                screened ? ", screen.csv, screen.json" : "");
  return kExitOk;
}

int submit(const SubmitOptions& o) {
  auto text = io::read_file(o.spec);
  if (!text.ok()) throw std::runtime_error(text.error().what());
  auto channel = open_channel(o.target, o.connect);  // bad options: exit 2
  auto stub = v1::WhatIfService::NewStub(channel);
  v1::SubmitRequest req;
  req.set_spec_json(text.value());
  req.set_label(o.spec);
  // Relative paths in the spec resolve against its folder, on the server's machine.
  req.set_base_dir(std::filesystem::absolute(std::filesystem::path(o.spec)).parent_path().string());
  v1::SubmitReply sub;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(10));
    const grpc::Status st = stub->Submit(&ctx, req, &sub);
    if (!st.ok()) throw rpc_error("submit " + o.spec + " to " + o.target, st);
  }
  if (!o.quiet)
    std::printf("%s: job %s, %u pairs (%zu scenarios)%s\n", o.spec.c_str(), sub.job_id().c_str(), sub.pairs(),
                static_cast<std::size_t>(sub.scenarios_size()),
                sub.live_base() ? (", live base at model day " +
                                   std::to_string(static_cast<double>(sub.base_time_ms()) / 86'400'000.0))
                                      .c_str()
                                : "");
  return follow(*stub, sub.job_id(), o.out, o.quiet);
}

struct JobsOptions {
  std::string target;
  ConnectArgs connect;
  unsigned limit = 20;
};

std::string utc_time(std::int64_t unix_ms) {
  if (unix_ms == 0) return "-";
  const std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

int list_jobs(const JobsOptions& o) {
  auto channel = open_channel(o.target, o.connect);  // bad options: exit 2
  auto stub = v1::WhatIfService::NewStub(channel);
  v1::ListJobsRequest req;
  req.set_limit(o.limit);
  v1::ListJobsReply rep;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(1));
  const grpc::Status st = stub->ListJobs(&ctx, req, &rep);
  if (!st.ok()) throw rpc_error("list the jobs of " + o.target, st);
  std::printf("%-10s %-10s %-19s %-19s %15s  %s\n", "job", "state", "submitted (UTC)", "finished (UTC)",
              "days", "name / message");
  for (const v1::JobSummary& j : rep.jobs()) {
    std::string state = v1::JobState_Name(j.state());
    for (char& ch : state) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::string what = j.name();
    if (!j.message().empty()) what += (what.empty() ? "" : ": ") + j.message();
    std::printf("%-10s %-10s %-19s %-19s %7.1f/%-7.1f  %s\n", j.job_id().c_str(), state.c_str(),
                utc_time(j.submitted_unix_ms()).c_str(), utc_time(j.finished_unix_ms()).c_str(), j.done(),
                j.total(), what.c_str());
  }
  return kExitOk;
}

struct ResultsOptions {
  std::string job, out, target;
  ConnectArgs connect;
  bool quiet = false;
};

int fetch_results(const ResultsOptions& o) {
  auto channel = open_channel(o.target, o.connect);  // bad options: exit 2
  auto stub = v1::WhatIfService::NewStub(channel);
  return follow(*stub, o.job, o.out, o.quiet);
}
#endif

}  // namespace

void add_whatif_commands(CLI::App& root, Commands& out) {
  CLI::App* w =
      add_command(root, "whatif", "What-if batches: scenarios x replications with confidence intervals");
  auto o = std::make_shared<WhatIfOptions>();
  CLI::App* r = add_command(
      *w, "run", "Run a what-if spec: every scenario's replications, paired with the base's",
      "Writes DIR/results.csv, DIR/results.json and DIR/chart.png (docs/whatif.md). Replications run on\n"
      "all cores; under `mpirun -np N` the (scenario, replication) pairs are split over the ranks and\n"
      "rank 0 writes the same files as a single process would.");
  required(r->add_option("spec", o->spec, "the what-if spec (JSON, docs/whatif.md)")->type_name("SPEC"));
  required(
      r->add_option("--out", o->out, "folder for results.csv, results.json, chart.png")->type_name("DIR"));
  add_whole(*r, "--threads", o->threads, "worker threads (0: the cores, divided among the node's MPI ranks)",
            0, 4096);
  r->add_flag("--quiet", o->quiet, "no progress bar and no summary");
  out.push_back({r, [o] { return run(*o); }});
#if FABTWIN_HAVE_SERVER
  auto so = std::make_shared<SubmitOptions>();
  CLI::App* sc = add_command(
      *w, "submit", "Run a what-if spec on a `fabtwin serve` (WhatIfService) and write its outputs here",
      "The server checks the spec (errors name its fields), queues the job and runs it; this shows the\n"
      "progress and writes DIR/results.csv, results.json and chart.png (the bytes `whatif run` writes).\n"
      "A base {\"live\": true} is the served twin's state at submit time. Paths in the spec are read on\n"
      "the server's machine, relative to the spec's folder. Needs the operator role.");
  required(sc->add_option("spec", so->spec, "the what-if spec (JSON, docs/whatif.md)")->type_name("SPEC"));
  required(sc->add_option("--target", so->target, "the server")->type_name("HOST:PORT"));
  required(
      sc->add_option("--out", so->out, "folder for results.csv, results.json, chart.png")->type_name("DIR"));
  add_connect_options(*sc, so->connect);
  sc->add_flag("--quiet", so->quiet, "no progress bar and no summary");
  out.push_back({sc, [so] { return submit(*so); }});
  auto ro = std::make_shared<ResultsOptions>();
  CLI::App* rc = add_command(
      *w, "results", "Wait for a job of a `fabtwin serve` and write its outputs here",
      "Follows job JOB (the id `whatif submit` printed) to its end and writes DIR/results.csv,\n"
      "results.json and chart.png. Finished jobs are kept in the server's store, so this also fetches\n"
      "a job that ended before the server restarted. Needs the operator role.");
  required(rc->add_option("job", ro->job, "the job id (job-N)")->type_name("JOB"));
  required(rc->add_option("--target", ro->target, "the server")->type_name("HOST:PORT"));
  required(
      rc->add_option("--out", ro->out, "folder for results.csv, results.json, chart.png")->type_name("DIR"));
  add_connect_options(*rc, ro->connect);
  rc->add_flag("--quiet", ro->quiet, "no progress bar and no summary");
  out.push_back({rc, [ro] { return fetch_results(*ro); }});
  auto jo = std::make_shared<JobsOptions>();
  CLI::App* jc = add_command(*w, "jobs", "List the what-if jobs of a `fabtwin serve`, newest first",
                             "Queued, running and finished jobs (those kept in the server's store across "
                             "restarts\nincluded): id, state, times, simulated days done / total, the spec's "
                             "name and why a job\nfailed or was cancelled. Needs the operator role.");
  required(jc->add_option("--target", jo->target, "the server")->type_name("HOST:PORT"));
  add_whole(*jc, "--limit", jo->limit, "at most this many jobs, newest first", 1, 1000);
  add_connect_options(*jc, jo->connect);
  out.push_back({jc, [jo] { return list_jobs(*jo); }});
#endif

  {
    auto scr = std::make_shared<WhatIfOptions>();
    scr->screen = true;
    CLI::App* sn = add_command(
        *w, "screen", "Screen a design with the flow model, then confirm the best k by simulation",
        "Evaluates every point of the spec's \"screen\" design (grid or Latin hypercube over tool counts,\n"
        "release rate, processing-time and availability factors) with the flow model in one batched run,\n"
        "ranks them by the objective and simulates the base, the spec's scenarios and the best k with\n"
        "the spec's replications (common random numbers, paired against the base). Writes\n"
        "DIR/screen.csv (every point), DIR/screen.json (flow and simulation side by side) and\n"
        "results.csv, results.json, chart.png with the flow estimates (docs/whatif.md \"Screening\").");
    required(
        sn->add_option("spec", scr->spec, "the what-if spec with a \"screen\" block")->type_name("SPEC"));
    required(sn->add_option("--out", scr->out, "folder for the outputs")->type_name("DIR"));
    add_whole(*sn, "--threads", scr->threads,
              "worker threads (0: the cores, divided among the node's MPI ranks)", 0, 4096);
    sn->add_flag("--quiet", scr->quiet, "no progress and no summary");
    out.push_back({sn, [scr] { return run(*scr); }});
  }
}

}  // namespace fabtwin::cli
