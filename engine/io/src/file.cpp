#include "fabtwin/io/file.hpp"

#include <fstream>
#include <sstream>

namespace fabtwin::io {

model::Result<std::string> read_file(const std::filesystem::path& file, std::uintmax_t max_bytes) {
  using model::Error;
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return Error{file.string(), 0, "", "file not found"};
  if (!std::filesystem::is_regular_file(file, ec)) return Error{file.string(), 0, "", "not a regular file"};
  if (std::filesystem::file_size(file, ec) > max_bytes)
    return Error{file.string(), 0, "", "file larger than " + std::to_string(max_bytes >> 20) + " MiB"};
  std::ifstream in(file, std::ios::binary);
  if (!in) return Error{file.string(), 0, "", "cannot open the file"};
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) return Error{file.string(), 0, "", "cannot read the file"};
  return std::move(text).str();
}

}  // namespace fabtwin::io
