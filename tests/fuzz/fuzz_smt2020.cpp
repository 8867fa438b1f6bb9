// libFuzzer target: SMT2020 text files (split by "#FILE <name>" lines, see fuzz_input.hpp) through
// parse_smt2020; a model that reads must round-trip through the native format.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fabtwin/io/load.hpp"
#include "fuzz_check.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto m = fabtwin::io::parse_smt2020(fabtwin::fuzz::split_smt2020_input(input), "fuzz");
  if (m)
    fabtwin::fuzz::check_round_trip(*m);
  else
    fabtwin::fuzz::check_error(m.error());
  return 0;
}
