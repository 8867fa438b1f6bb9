// libFuzzer target: every handler's request decoding and checks (services/server requests.hpp,
// auth.hpp) with arbitrary bytes, without a server; the checks are in fuzz_requests.hpp (shared
// with the corpus test, tests/services/test_fuzz_requests.cpp). Seeds: tests/fuzz/corpus/requests
// (rewrite them with `build/tests/services/test_fuzz_requests "[.seeds]"`).
#include "fuzz_requests.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fabtwin::fuzz::requests_one(data, size);
  return 0;
}
