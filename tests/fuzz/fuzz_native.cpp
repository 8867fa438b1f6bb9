// libFuzzer target: the native JSON format through parse_native; a model that reads must
// round-trip (write, read back equal, write the same text).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fabtwin/io/load.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto m = fabtwin::io::parse_native(input, "fuzz.json");
  if (m)
    fabtwin::fuzz::check_round_trip(*m);
  else
    fabtwin::fuzz::check_error(m.error());
  return 0;
}
