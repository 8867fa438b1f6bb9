// The calibration fuzz target's corpus (tests/fuzz/corpus/calibration: seeds and inputs it found)
// as a regression test: every entry goes through fuzz::calibration_one, which aborts on a broken
// promise.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "fuzz_calibration.hpp"
#include "test_paths.hpp"

using namespace fabtwin;
namespace fs = std::filesystem;

TEST_CASE("every calibration fuzz corpus entry keeps the reader's promises", "[flow][fuzz]") {
  std::size_t n = 0, read = 0;
  for (const auto& entry :
       fs::directory_iterator(test::source_dir() / "tests" / "fuzz" / "corpus" / "calibration")) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    INFO(entry.path().filename().string());
    fuzz::calibration_one(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    read += flow::parse_calibration(bytes, "c.json").ok();
    ++n;
  }
  CHECK(n >= 3);     // the seeds at least
  CHECK(read >= 2);  // the shipped calibrations read
}
