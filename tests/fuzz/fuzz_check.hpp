#pragma once
// What every fuzz input must satisfy beyond not crashing: a model that reads is written as native
// JSON that reads back equal, and writing that again gives the same text. Aborts otherwise.
#include <cstdio>
#include <cstdlib>

#include "fabtwin/io/load.hpp"

namespace fabtwin::fuzz {

inline void check_round_trip(const model::Model& m) {
  const std::string text = io::to_native_json(m);
  auto back = io::parse_native(text, "round-trip.json");
  if (!back) {
    std::fprintf(stderr, "round trip: the written model does not read: %s\n", back.error().what().c_str());
    std::abort();
  }
  if (!(*back == m)) {
    std::fprintf(stderr, "round trip: the model read back differs\n");
    std::abort();
  }
  if (io::to_native_json(*back) != text) {
    std::fprintf(stderr, "round trip: writing again gives other text\n");
    std::abort();
  }
}

// A reader's error must say where and what.
inline void check_error(const model::Error& e) {
  if (e.message.empty()) {
    std::fprintf(stderr, "error without a message: %s\n", e.what().c_str());
    std::abort();
  }
}

}  // namespace fabtwin::fuzz
