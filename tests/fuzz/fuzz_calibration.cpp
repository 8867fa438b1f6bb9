// libFuzzer target: the flow calibration reader and, on the mini-fab, the flow model it makes
// (checks in fuzz_calibration.hpp, shared with tests/flow/test_fuzz_calibration.cpp). Seeds:
// tests/fuzz/corpus/calibration.
#include "fuzz_calibration.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fabtwin::fuzz::calibration_one(data, size);
  return 0;
}
