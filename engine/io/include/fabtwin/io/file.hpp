#pragma once
// Reading a whole text file for a parser, with the errors every reader reports the same way.
#include <cstdint>
#include <filesystem>
#include <string>

#include "fabtwin/model/error.hpp"

namespace fabtwin::io {

// The bytes of `file`; fails (naming the file) when it does not exist, is not a regular file,
// is larger than `max_bytes`, or cannot be read.
model::Result<std::string> read_file(const std::filesystem::path& file,
                                     std::uintmax_t max_bytes = std::uintmax_t{1} << 30);

}  // namespace fabtwin::io
