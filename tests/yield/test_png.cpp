#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>

#include "yield_test_util.hpp"

using namespace fabtwin::yield;

namespace {

// A minimal inflater for the test (stored and fixed-Huffman blocks: what encode_png emits).
class Inflater {
 public:
  explicit Inflater(std::span<const std::uint8_t> in) : in_(in) {}
  std::vector<std::uint8_t> run() {
    std::vector<std::uint8_t> out;
    for (bool last = false; !last;) {
      last = bits(1);
      const unsigned type = bits(2);
      if (type == 0) {
        pos_ = (pos_ + 7) / 8 * 8;
        const unsigned len = bits(16);
        bits(16);
        for (unsigned i = 0; i < len; ++i) out.push_back(static_cast<std::uint8_t>(bits(8)));
      } else if (type == 1) {
        for (;;) {
          const unsigned sym = litlen();
          if (sym < 256) {
            out.push_back(static_cast<std::uint8_t>(sym));
          } else if (sym == 256) {
            break;
          } else {
            static const unsigned lb[] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                          31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
            static const unsigned le[] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                          2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
            static const unsigned db[] = {1,    2,    3,    4,    5,    7,    9,    13,    17,    25,
                                          33,   49,   65,   97,   129,  193,  257,  385,   513,   769,
                                          1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
            static const unsigned de[] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                          6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
            const unsigned li = sym - 257;
            if (li >= 29) throw std::runtime_error("bad length symbol");
            const unsigned len = lb[li] + bits(le[li]);
            const unsigned di = rev(5);
            if (di >= 30) throw std::runtime_error("bad distance symbol");
            const unsigned dist = db[di] + bits(de[di]);
            if (dist > out.size()) throw std::runtime_error("distance too far");
            for (unsigned i = 0; i < len; ++i) out.push_back(out[out.size() - dist]);
          }
        }
      } else {
        throw std::runtime_error("unexpected block type");
      }
    }
    return out;
  }

 private:
  unsigned bit() {
    if (pos_ / 8 >= in_.size()) throw std::runtime_error("out of data");
    const unsigned b = (in_[pos_ / 8] >> (pos_ % 8)) & 1u;
    ++pos_;
    return b;
  }
  unsigned bits(unsigned n) {
    unsigned v = 0;
    for (unsigned i = 0; i < n; ++i) v |= bit() << i;
    return v;
  }
  unsigned rev(unsigned n) {  // Huffman code bits, MSB first
    unsigned v = 0;
    for (unsigned i = 0; i < n; ++i) v = (v << 1) | bit();
    return v;
  }
  unsigned litlen() {
    unsigned c = rev(7);
    if (c <= 23) return 256 + c;
    c = (c << 1) | bit();
    if (c >= 0x30 && c <= 0xBF) return c - 0x30;
    if (c >= 0xC0 && c <= 0xC7) return 280 + (c - 0xC0);
    c = (c << 1) | bit();
    if (c >= 0x190 && c <= 0x1FF) return 144 + (c - 0x190);
    throw std::runtime_error("bad literal code");
  }
  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
};

std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
}

// Decodes a PNG written by encode_png back to RGB (checking every CRC and the Adler-32).
Image decode(const std::vector<std::uint8_t>& png) {
  static const std::uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  REQUIRE(png.size() > 8);
  REQUIRE(std::memcmp(png.data(), sig, 8) == 0);
  std::size_t p = 8;
  Image img;
  std::vector<std::uint8_t> idat;
  bool end = false;
  while (!end) {
    REQUIRE(p + 12 <= png.size());
    const std::uint32_t len = be32(&png[p]);
    const std::string type(reinterpret_cast<const char*>(&png[p + 4]), 4);
    REQUIRE(p + 12 + len <= png.size());
    CHECK(crc32(std::span(&png[p + 4], len + 4)) == be32(&png[p + 8 + len]));
    const std::uint8_t* d = &png[p + 8];
    if (type == "IHDR") {
      img.width = be32(d);
      img.height = be32(d + 4);
      CHECK(d[8] == 8);
      CHECK(d[9] == 2);
    } else if (type == "IDAT") {
      idat.insert(idat.end(), d, d + len);
    } else if (type == "IEND") {
      end = true;
    }
    p += 12 + len;
  }
  CHECK(p == png.size());
  REQUIRE(idat.size() > 6);
  CHECK(((idat[0] << 8) | idat[1]) % 31 == 0);
  const auto raw = Inflater(std::span(idat).subspan(2, idat.size() - 6)).run();
  CHECK(adler32(raw) == be32(&idat[idat.size() - 4]));
  const std::size_t row = img.width * 3;
  REQUIRE(raw.size() == (row + 1) * img.height);
  img.rgb.resize(row * img.height);
  for (std::uint32_t y = 0; y < img.height; ++y) {
    const std::uint8_t f = raw[y * (row + 1)];
    REQUIRE((f == 0 || f == 2));
    for (std::size_t i = 0; i < row; ++i) {
      std::uint8_t v = raw[y * (row + 1) + 1 + i];
      if (f == 2 && y > 0) v = static_cast<std::uint8_t>(v + img.rgb[(y - 1) * row + i]);
      img.rgb[y * row + i] = v;
    }
  }
  return img;
}

}  // namespace

TEST_CASE("CRC-32 and Adler-32 give the standard check values", "[yield][png]") {
  const std::string s = "123456789";
  CHECK(crc32(std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size())) == 0xCBF43926u);
  const std::string w = "Wikipedia";
  CHECK(adler32(std::span(reinterpret_cast<const std::uint8_t*>(w.data()), w.size())) == 0x11E60398u);
}

TEST_CASE("PNG encoding round-trips pixels exactly (flat areas and noise)", "[yield][png]") {
  Image img(97, 61, 10, 20, 30);
  std::mt19937 rng(1);
  for (std::uint32_t y = 0; y < img.height; ++y)
    for (std::uint32_t x = 0; x < img.width; ++x) {
      if (x > 60)
        img.set(x, y, rng() & 255, rng() & 255, rng() & 255);
      else if ((x / 8 + y / 8) % 2)
        img.set(x, y, 200, 30, 40);
    }
  const auto png = encode_png(img);
  const Image back = decode(png);
  CHECK(back.width == img.width);
  CHECK(back.height == img.height);
  CHECK(back.rgb == img.rgb);
}

TEST_CASE("wafer maps render and compress well", "[yield][png]") {
  const DieGrid grid = test::grid_mm(10, 10);
  MonteCarlo mc(grid, McSettings{1, 2.0, {}});
  WaferRates r = uniform_rates(0.3);
  r.add_event(SignatureEvent{1, Signature::EdgeRing, 1.0, 1.0});
  const WaferRates rates[] = {r};
  auto res = mc.run(rates, test::wafer_refs(50));
  REQUIRE(res);
  const Image one = render_wafer_map(grid, res->map(0), 400);
  const Image stacked = render_stacked_map(grid, stacked_fail_rate(*res), 0.0, 400);
  for (const Image* im : {&one, &stacked}) {
    const auto png = encode_png(*im);
    CHECK(png.size() < im->rgb.size() / 8);  // flat colours compress
    CHECK(decode(png).rgb == im->rgb);
  }
  // The centre pixel shows the central die's colour (its bin).
  std::uint32_t c = 0;
  for (std::uint32_t i = 1; i < grid.size(); ++i)
    if (std::hypot(grid.x_mm()[i], grid.y_mm()[i]) < std::hypot(grid.x_mm()[c], grid.y_mm()[c])) c = i;
  const auto colour = bin_colour(res->map(0)[c]);
  const long px = std::lround(200 + grid.x_mm()[c] * 396 / 300),
             py = std::lround(200 - grid.y_mm()[c] * 396 / 300);
  const std::uint8_t* pix = &one.rgb[(py * 400 + px) * 3];
  CHECK(pix[0] == colour[0]);
  CHECK(pix[1] == colour[1]);
  CHECK(pix[2] == colour[2]);

  const auto path = std::filesystem::temp_directory_path() / "fabtwin_test_wafer.png";
  auto w = write_png(path, one);
  REQUIRE(w);
  CHECK(std::filesystem::file_size(path) == encode_png(one).size());
  std::filesystem::remove(path);
  auto bad = write_png("/nonexistent-dir/x.png", one);
  REQUIRE(!bad);
  CHECK(bad.error().file == "/nonexistent-dir/x.png");
}
