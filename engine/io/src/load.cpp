#include "fabtwin/io/load.hpp"

namespace fabtwin::io {

Result<Model> load_model(const std::filesystem::path& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) return Error{path.string(), 0, "", "no such file or folder"};
  if (std::filesystem::is_directory(status)) return read_smt2020(path);
  return read_native(path);
}

}  // namespace fabtwin::io
