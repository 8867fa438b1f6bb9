// libFuzzer target: the what-if spec reader and, on the mini-fab, the batch loader (checks in
// fuzz_whatif.hpp, shared with tests/whatif/test_fuzz_whatif.cpp). Seeds: tests/fuzz/corpus/whatif.
#include "fuzz_whatif.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fabtwin::fuzz::whatif_one(data, size);
  return 0;
}
