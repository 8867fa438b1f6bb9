#pragma once
// A small self-contained PNG encoder (8-bit RGB): per-row None/Up filter, zlib stream with one
// fixed-Huffman deflate block using run-length style matches (distance 1, 3 and one row), CRC-32
// and Adler-32. No dependencies; good compression for flat-coloured pictures such as wafer maps.
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "fabtwin/model/error.hpp"

namespace fabtwin::yield {

struct Image {
  std::uint32_t width = 0, height = 0;
  std::vector<std::uint8_t> rgb;  // row-major, 3 bytes per pixel, top row first

  Image() = default;
  Image(std::uint32_t w, std::uint32_t h, std::uint8_t r = 255, std::uint8_t g = 255, std::uint8_t b = 255);
  void set(std::uint32_t x, std::uint32_t y, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
    std::uint8_t* p = &rgb[(static_cast<std::size_t>(y) * width + x) * 3];
    p[0] = r;
    p[1] = g;
    p[2] = b;
  }
};

std::uint32_t crc32(std::span<const std::uint8_t> data, std::uint32_t crc = 0);
std::uint32_t adler32(std::span<const std::uint8_t> data, std::uint32_t adler = 1);

// The PNG file bytes of `img` (width and height >= 1).
std::vector<std::uint8_t> encode_png(const Image& img);
// Writes encode_png(img) to `file`, closed and checked; fails (model::Error naming the file) when it
// cannot be written completely (a full disk included).
model::Result<bool> write_png(const std::filesystem::path& file, const Image& img);

}  // namespace fabtwin::yield
