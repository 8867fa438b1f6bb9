#pragma once
// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a
// counter-based generator. A draw is a pure function of (key, counter), so every random number
// in fabtwin is keyed by what it is for (DESIGN decision 2): key = (seed, stream kind), counter =
// (entity id, draw index, ...). Results do not depend on event order, threads or device.
#include <cstdint>

#include "fabtwin/compute/hd.hpp"

namespace fabtwin::compute {

struct Philox4x32 {
  std::uint32_t v[4];
};

FABTWIN_HD_INLINE void philox_mulhilo(std::uint32_t a, std::uint32_t b, std::uint32_t& hi,
                                      std::uint32_t& lo) {
  const std::uint64_t p = static_cast<std::uint64_t>(a) * b;
  hi = static_cast<std::uint32_t>(p >> 32);
  lo = static_cast<std::uint32_t>(p);
}

// One block of four 32-bit outputs for counter `c` under key (k0, k1).
FABTWIN_HD_INLINE Philox4x32 philox4x32_10(Philox4x32 c, std::uint32_t k0, std::uint32_t k1) {
  constexpr std::uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
  for (int r = 0; r < 10; ++r) {
    if (r > 0) {
      k0 += W0;
      k1 += W1;
    }
    std::uint32_t hi0, lo0, hi1, lo1;
    philox_mulhilo(M0, c.v[0], hi0, lo0);
    philox_mulhilo(M1, c.v[2], hi1, lo1);
    c = Philox4x32{{hi1 ^ c.v[1] ^ k0, lo1, hi0 ^ c.v[3] ^ k1, lo0}};
  }
  return c;
}

// A double in the open interval (0, 1) from two 32-bit words: 52 random bits, centred in their
// cell, so the largest value is 1 - 2^-53 (exactly representable, unlike 1 - 2^-54).
FABTWIN_HD_INLINE double u01_open(std::uint32_t hi, std::uint32_t lo) {
  const std::uint64_t x = ((static_cast<std::uint64_t>(hi) << 32) | lo) >> 12;
  return (static_cast<double>(x) + 0.5) * (1.0 / 4503599627370496.0);
}

// A float in (0, 1) from one word: 23 random bits, largest value 1 - 2^-24.
FABTWIN_HD_INLINE float u01f_open(std::uint32_t x) {
  return (static_cast<float>(x >> 9) + 0.5f) * (1.0f / 8388608.0f);
}

// Keyed stream: key = (seed low, seed high ^ kind); counter = (a, b, c, d) chosen by the caller.
struct RandomKey {
  std::uint32_t k0, k1;
  FABTWIN_HD static RandomKey make(std::uint64_t seed, std::uint32_t kind) {
    return RandomKey{static_cast<std::uint32_t>(seed),
                     static_cast<std::uint32_t>(seed >> 32) ^ (kind * 0x85EBCA6Bu)};
  }
};

// Two open uniforms for draw (a, b, c, d) of stream `key`.
struct Uniform2 {
  double u1, u2;
};
FABTWIN_HD_INLINE Uniform2 uniform2(RandomKey key, std::uint32_t a, std::uint32_t b, std::uint32_t c = 0,
                                    std::uint32_t d = 0) {
  const Philox4x32 r = philox4x32_10(Philox4x32{{a, b, c, d}}, key.k0, key.k1);
  return Uniform2{u01_open(r.v[0], r.v[1]), u01_open(r.v[2], r.v[3])};
}

}  // namespace fabtwin::compute
