// The what-if spec fuzz target's corpus (tests/fuzz/corpus/whatif: seeds and inputs it found) as a
// regression test: every entry goes through fuzz::whatif_one, which aborts on a broken promise.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "fuzz_whatif.hpp"
#include "test_paths.hpp"

using namespace fabtwin;
namespace fs = std::filesystem;

TEST_CASE("every what-if spec fuzz corpus entry keeps the spec reader's promises", "[whatif][fuzz]") {
  std::size_t n = 0, read = 0;
  for (const auto& entry :
       fs::directory_iterator(test::source_dir() / "tests" / "fuzz" / "corpus" / "whatif")) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    INFO(entry.path().filename().string());
    fuzz::whatif_one(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    read += whatif::parse_spec(bytes, "spec.json", fuzz::whatif_dir()).ok();
    ++n;
  }
  CHECK(n >= 6);     // the seeds at least
  CHECK(read >= 5);  // the shipped examples read
}
