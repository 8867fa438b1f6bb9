// The request fuzz target's corpus (tests/fuzz/corpus/requests: seeds and inputs it found) as a
// regression test: every entry goes through fuzz::requests_one, which aborts on a broken check.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "fuzz_requests.hpp"
#include "test_paths.hpp"

using namespace fabtwin;
namespace fs = std::filesystem;

namespace {

fs::path corpus() { return test::source_dir() / "tests" / "fuzz" / "corpus" / "requests"; }

void write_seed(const std::string& name, std::uint8_t kind, const std::string& body) {
  std::ofstream f(corpus() / name, std::ios::binary);
  f.put(static_cast<char>(kind));
  f << body;
  REQUIRE(f.good());
}

}  // namespace

TEST_CASE("every request fuzz corpus entry passes the request checks' invariants", "[services][fuzz]") {
  std::size_t n = 0;
  for (const auto& entry : fs::directory_iterator(corpus())) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    INFO(entry.path().filename().string());
    fuzz::requests_one(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    ++n;
  }
  CHECK(n >= 10);  // the seeds at least
}

// Not run by default: writes the seeds (one or more valid inputs of each kind).
TEST_CASE("write the request fuzz seeds", "[.seeds]") {
  fs::create_directories(corpus());
  write_seed("seed_get_model", 0, "");
  write_seed("seed_get_snapshot", 1, "");
  {
    v1::StreamStateRequest r;
    r.set_max_frames_per_second(25);
    r.set_from_version(7);
    write_seed("seed_stream_state", 2, r.SerializeAsString());
  }
  {
    v1::ForecastRequest r;
    r.set_horizon_days(0.25);
    r.set_replications(2);
    r.add_at_hours(1);
    r.add_at_hours(6);
    r.set_seed(3);
    write_seed("seed_forecast_small", 3, r.SerializeAsString());
    r.add_lots("Lot_A_1");
    r.set_horizon_days(30);
    write_seed("seed_forecast_lots", 3, r.SerializeAsString());
  }
  {
    const model::Model& m = fuzz::requests_model();
    v1::IngestRequest r;
    v1::MesEvent* e = r.add_events();
    e->set_id("e1");
    e->set_time_ms(1000);
    e->set_kind(v1::EVENT_KIND_TOOL_STATE);
    e->set_tool(m.tools()[0].name);
    e->set_state(v1::TOOL_STATE_UNSCHEDULED_DOWN);
    e = r.add_events();
    e->set_id("e2");
    e->set_time_ms(2000);
    e->set_kind(v1::EVENT_KIND_LOT_RELEASED);
    e->add_lots("Lot_X_1");
    e->set_product(m.products()[0].name);
    e->set_wafers(25);
    write_seed("seed_ingest", 4, r.SerializeAsString());
  }
  write_seed("seed_authorization_viewer", 5, std::string(1, '\0') + "Bearer fuzz-viewer-token-0001");
  write_seed("seed_authorization_operator", 5, std::string(1, '\3') + "bearer  fuzz-operator-token-0003");
  write_seed("seed_authorization_basic", 5, std::string(1, '\1') + "Basic fuzz-analyst-token-0002");
  write_seed("seed_auth_file", 6,
             "# tokens\n\nfuzz-viewer-token-0001 viewer\nfuzz-analyst-token-0002\tanalyst\r\n"
             "fuzz-operator-token-0003 operator\n");
  write_seed("seed_auth_file_duplicate", 6, "aaaaaaaaaaaaaaaa viewer\naaaaaaaaaaaaaaaa operator\n");
  {
    v1::SubmitRequest r;
    r.set_spec_json(R"({"base": {"live": true}, "horizon_days": 2, "replications": 2, "scenarios": []})");
    r.set_base_dir("/tmp");
    r.set_label("spec.json");
    write_seed("seed_whatif_submit", 12, r.SerializeAsString());
    r.set_label("a\nb");
    r.clear_base_dir();
    write_seed("seed_whatif_submit_bad_label", 12, r.SerializeAsString());
  }
  write_seed("seed_whatif_job_id", 13, "job-1");
  write_seed("seed_whatif_job_id_space", 13, "job 1");
  {
    v1::ListJobsRequest r;
    r.set_limit(20);
    write_seed("seed_whatif_list_jobs", 14, r.SerializeAsString());
    r.set_limit(5000);
    write_seed("seed_whatif_list_jobs_over", 14, r.SerializeAsString());
  }
}
