// libFuzzer target: MES event batches as bytes (a v1::IngestRequest) decoded and ingested by a
// live twin of the mini-fab; the checks are in fuzz_ingest.hpp (shared with the corpus test,
// tests/services/test_fuzz_ingest.cpp). Seeds: tests/fuzz/corpus/ingest (the mini-fab's emulated
// events; rewrite them with `build/tests/services/test_fuzz_ingest "[.seeds]"`).
#include "fuzz_ingest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fabtwin::fuzz::ingest_one(data, size);
  return 0;
}
