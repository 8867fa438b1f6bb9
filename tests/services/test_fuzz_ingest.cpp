// The ingest fuzz target's corpus (tests/fuzz/corpus/ingest: seeds and inputs it found) as a
// regression test: every entry goes through fuzz::ingest_one, which aborts on a broken invariant.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "fabtwin/twin/emulator.hpp"
#include "fabtwin/twin/event_json.hpp"
#include "fuzz_ingest.hpp"
#include "test_paths.hpp"

using namespace fabtwin;
namespace fs = std::filesystem;

namespace {

fs::path corpus() { return test::source_dir() / "tests" / "fuzz" / "corpus" / "ingest"; }

}  // namespace

TEST_CASE("every ingest fuzz corpus entry keeps the live twin's invariants", "[services][fuzz]") {
  std::size_t n = 0;
  for (const auto& entry : fs::directory_iterator(corpus())) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    INFO(entry.path().filename().string());
    fuzz::ingest_one(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    ++n;
  }
  CHECK(n >= 4);  // the seeds at least
}

// Not run by default: writes the seeds (the mini-fab's first emulated events, as requests).
TEST_CASE("write the ingest fuzz seeds", "[.seeds]") {
  const model::Model& m = fuzz::ingest_model();
  std::ostringstream out;
  REQUIRE(twin::emulate(m, {.sim = {.seed = 3}, .days = 2}, out).ok());
  std::vector<des::Event> events;
  std::istringstream in(out.str());
  int line = 0;
  for (std::string l; std::getline(in, l);)
    events.push_back(twin::parse_event_json(l, m.data().epoch_unix_s, ++line).value());
  fs::create_directories(corpus());
  for (std::size_t count : {std::size_t{8}, std::size_t{40}, std::size_t{150}, std::size_t{600}}) {
    v1::IngestRequest req;
    for (std::size_t i = 0; i < std::min(count, events.size()); ++i)
      twin_pb::to_proto(events[i], *req.add_events());
    std::ofstream f(corpus() / ("seed_first_" + std::to_string(count)), std::ios::binary);
    REQUIRE(req.SerializeToOstream(&f));
  }
}
