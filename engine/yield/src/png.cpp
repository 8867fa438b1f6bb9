#include "fabtwin/yield/png.hpp"

#include <array>
#include <cstdlib>
#include <string_view>

#include "fabtwin/io/output_file.hpp"

namespace fabtwin::yield {

Image::Image(std::uint32_t w, std::uint32_t h, std::uint8_t r, std::uint8_t g, std::uint8_t b)
    : width(w), height(h), rgb(static_cast<std::size_t>(w) * h * 3) {
  for (std::size_t i = 0; i < rgb.size(); i += 3) {
    rgb[i] = r;
    rgb[i + 1] = g;
    rgb[i + 2] = b;
  }
}

namespace {

constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t n = 0; n < 256; ++n) {
    std::uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[n] = c;
  }
  return t;
}
constexpr auto kCrcTable = make_crc_table();

// LSB-first bit writer for deflate.
class BitWriter {
 public:
  explicit BitWriter(std::vector<std::uint8_t>& out) : out_(out) {}
  void bits(std::uint32_t v, int n) {  // n <= 24, v's low n bits, LSB first
    acc_ |= static_cast<std::uint64_t>(v) << nbits_;
    nbits_ += n;
    while (nbits_ >= 8) {
      out_.push_back(static_cast<std::uint8_t>(acc_));
      acc_ >>= 8;
      nbits_ -= 8;
    }
  }
  // A Huffman code: written most significant bit first.
  void code(std::uint32_t c, int n) {
    std::uint32_t r = 0;
    for (int i = 0; i < n; ++i) r |= ((c >> i) & 1u) << (n - 1 - i);
    bits(r, n);
  }
  void flush() {
    if (nbits_ > 0) out_.push_back(static_cast<std::uint8_t>(acc_));
    acc_ = 0;
    nbits_ = 0;
  }

 private:
  std::vector<std::uint8_t>& out_;
  std::uint64_t acc_ = 0;
  int nbits_ = 0;
};

// Fixed Huffman literal/length code of symbol s (RFC 1951, 3.2.6).
void put_litlen(BitWriter& w, std::uint32_t s) {
  if (s <= 143)
    w.code(0x30 + s, 8);
  else if (s <= 255)
    w.code(0x190 + (s - 144), 9);
  else if (s <= 279)
    w.code(s - 256, 7);
  else
    w.code(0xC0 + (s - 280), 8);
}

constexpr std::uint16_t kLenBase[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                        31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
constexpr std::uint8_t kLenExtra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                        2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
constexpr std::uint16_t kDistBase[30] = {1,    2,    3,    4,    5,    7,    9,    13,    17,    25,
                                         33,   49,   65,   97,   129,  193,  257,  385,   513,   769,
                                         1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
constexpr std::uint8_t kDistExtra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                         6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

void put_match(BitWriter& w, std::uint32_t len, std::uint32_t dist) {
  int li = 28;
  while (kLenBase[li] > len) --li;
  put_litlen(w, 257 + li);
  if (kLenExtra[li]) w.bits(len - kLenBase[li], kLenExtra[li]);
  int di = 29;
  while (kDistBase[di] > dist) --di;
  w.code(static_cast<std::uint32_t>(di), 5);
  if (kDistExtra[di]) w.bits(dist - kDistBase[di], kDistExtra[di]);
}

// zlib stream of `raw`: one final fixed-Huffman block; greedy matches at the candidate distances.
std::vector<std::uint8_t> zlib_compress(const std::vector<std::uint8_t>& raw, std::uint32_t row_bytes) {
  std::vector<std::uint8_t> out{0x78, 0x01};
  BitWriter w(out);
  w.bits(1, 1);  // BFINAL
  w.bits(1, 2);  // BTYPE = 01 (fixed Huffman)
  const std::uint32_t cand[3] = {1, 3, row_bytes};
  const std::size_t n = raw.size();
  std::size_t i = 0;
  while (i < n) {
    std::uint32_t best_len = 0, best_dist = 0;
    for (std::uint32_t d : cand) {
      if (d == 0 || d > 32768 || d > i) continue;
      std::uint32_t l = 0;
      while (l < 258 && i + l < n && raw[i + l] == raw[i + l - d]) ++l;
      if (l > best_len) {
        best_len = l;
        best_dist = d;
      }
    }
    if (best_len >= 4) {
      put_match(w, best_len, best_dist);
      i += best_len;
    } else {
      put_litlen(w, raw[i]);
      ++i;
    }
  }
  put_litlen(w, 256);  // end of block
  w.flush();
  const std::uint32_t a = adler32(raw);
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(a >> s));
  return out;
}

void put_u32be(std::vector<std::uint8_t>& o, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) o.push_back(static_cast<std::uint8_t>(v >> s));
}

void put_chunk(std::vector<std::uint8_t>& o, const char* type, const std::vector<std::uint8_t>& data) {
  put_u32be(o, static_cast<std::uint32_t>(data.size()));
  const std::size_t start = o.size();
  o.insert(o.end(), type, type + 4);
  o.insert(o.end(), data.begin(), data.end());
  put_u32be(o, crc32(std::span<const std::uint8_t>(o.data() + start, o.size() - start)));
}

}  // namespace

std::uint32_t crc32(std::span<const std::uint8_t> data, std::uint32_t crc) {
  std::uint32_t c = crc ^ 0xFFFFFFFFu;
  for (std::uint8_t b : data) c = kCrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::uint32_t adler32(std::span<const std::uint8_t> data, std::uint32_t adler) {
  std::uint32_t a = adler & 0xFFFF, b = adler >> 16;
  for (std::uint8_t x : data) {
    a = (a + x) % 65521;
    b = (b + a) % 65521;
  }
  return (b << 16) | a;
}

std::vector<std::uint8_t> encode_png(const Image& img) {
  const std::uint32_t row = img.width * 3;
  // Filtered scanlines: per row the filter (None or Up) with the smaller sum of |byte| (as signed).
  std::vector<std::uint8_t> raw;
  raw.reserve(static_cast<std::size_t>(row + 1) * img.height);
  for (std::uint32_t y = 0; y < img.height; ++y) {
    const std::uint8_t* cur = &img.rgb[static_cast<std::size_t>(y) * row];
    const std::uint8_t* up = y ? cur - row : nullptr;
    long none = 0, upsum = 0;
    for (std::uint32_t i = 0; i < row; ++i) {
      none += std::abs(static_cast<std::int8_t>(cur[i]));
      upsum += std::abs(static_cast<std::int8_t>(static_cast<std::uint8_t>(cur[i] - (up ? up[i] : 0))));
    }
    const bool use_up = up && upsum < none;
    raw.push_back(use_up ? 2 : 0);
    for (std::uint32_t i = 0; i < row; ++i)
      raw.push_back(use_up ? static_cast<std::uint8_t>(cur[i] - up[i]) : cur[i]);
  }
  std::vector<std::uint8_t> png{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  std::vector<std::uint8_t> ihdr;
  put_u32be(ihdr, img.width);
  put_u32be(ihdr, img.height);
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});  // 8-bit, RGB, deflate, adaptive filtering, no interlace
  put_chunk(png, "IHDR", ihdr);
  put_chunk(png, "IDAT", zlib_compress(raw, row + 1));
  put_chunk(png, "IEND", {});
  return png;
}

model::Result<bool> write_png(const std::filesystem::path& file, const Image& img) {
  const auto bytes = encode_png(img);
  return io::write_file(file, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

}  // namespace fabtwin::yield
