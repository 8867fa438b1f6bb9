#include <catch2/catch.hpp>

#include "fabtwin/compute/philox.hpp"

using namespace fabtwin::compute;

TEST_CASE("philox4x32-10 matches the Random123 known-answer vectors", "[model][rng]") {
  auto r0 = philox4x32_10(Philox4x32{{0, 0, 0, 0}}, 0, 0);
  CHECK(r0.v[0] == 0x6627e8d5u);
  CHECK(r0.v[1] == 0xe169c58du);
  CHECK(r0.v[2] == 0xbc57ac4cu);
  CHECK(r0.v[3] == 0x9b00dbd8u);
  auto r1 = philox4x32_10(Philox4x32{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}}, 0xffffffffu,
                          0xffffffffu);
  CHECK(r1.v[0] == 0x408f276du);
  CHECK(r1.v[1] == 0x41c83b0eu);
  CHECK(r1.v[2] == 0xa20bc7c6u);
  CHECK(r1.v[3] == 0x6d5451fdu);
  auto r2 = philox4x32_10(Philox4x32{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}}, 0xa4093822u,
                          0x299f31d0u);
  CHECK(r2.v[0] == 0xd16cfe09u);
  CHECK(r2.v[1] == 0x94fdccebu);
  CHECK(r2.v[2] == 0x5001e420u);
  CHECK(r2.v[3] == 0x24126ea1u);
}

TEST_CASE("open uniforms never reach 0 or 1", "[model][rng]") {
  CHECK(u01_open(0, 0) > 0.0);
  CHECK(u01_open(0xffffffffu, 0xffffffffu) < 1.0);
  CHECK(u01f_open(0) > 0.0f);
  CHECK(u01f_open(0xffffffffu) < 1.0f);
}
