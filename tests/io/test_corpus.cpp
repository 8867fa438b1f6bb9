// Regression: every fuzz corpus entry (seeds, interesting inputs, crash reproducers) reads
// without crashing, as a model or a clean error; a model that reads also round-trips.
#include <catch2/catch.hpp>
#include <filesystem>

#include "fabtwin/io/file.hpp"
#include "fabtwin/io/load.hpp"
#include "fuzz_input.hpp"
#include "test_paths.hpp"

using namespace fabtwin;

namespace {

std::string slurp(const std::filesystem::path& p) { return io::read_file(p).value(); }

// Files of tests/fuzz/corpus/<kind>, recursively.
std::vector<std::filesystem::path> corpus(const char* kind) {
  std::vector<std::filesystem::path> files;
  const auto dir = test::source_dir() / "tests" / "fuzz" / "corpus" / kind;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

void check_outcome(const model::Result<model::Model>& m, const std::filesystem::path& p) {
  INFO(p.filename().string() << ": " << (m.ok() ? std::string("ok") : m.error().what()));
  if (!m.ok()) {
    CHECK_FALSE(m.error().message.empty());
    return;
  }
  const std::string text = io::to_native_json(*m);
  auto back = io::parse_native(text);
  REQUIRE(back.ok());
  CHECK(*back == *m);
  CHECK(io::to_native_json(*back) == text);
}

}  // namespace

TEST_CASE("every SMT2020 fuzz corpus entry reads as a model or a clean error", "[io]") {
  const auto files = corpus("smt2020");
  CHECK(files.size() >= 3);
  int ok = 0;
  for (const auto& p : files) {
    auto m = io::parse_smt2020(fuzz::split_smt2020_input(slurp(p)), "fuzz");
    ok += m.ok();
    check_outcome(m, p);
  }
  CHECK(ok >= 1);  // the seeds include complete small fabs
}

TEST_CASE("every native fuzz corpus entry reads as a model or a clean error", "[io]") {
  const auto files = corpus("native");
  CHECK(files.size() >= 2);
  int ok = 0;
  for (const auto& p : files) {
    auto m = io::parse_native(slurp(p), p.filename().string());
    ok += m.ok();
    check_outcome(m, p);
  }
  CHECK(ok >= 1);
}
