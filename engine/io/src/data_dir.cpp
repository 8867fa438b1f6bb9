#include "fabtwin/io/data_dir.hpp"

#include <cstdlib>
#include <fstream>
#include <string>
#include <system_error>

namespace fabtwin::io {

namespace fs = std::filesystem;
using model::Error;
using model::Result;

namespace {

bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

// The first line of the build-tree marker, trailing whitespace removed; "" when unreadable.
std::string read_marker(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  if (!in || !std::getline(in, line)) return {};
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
  return line;
}

}  // namespace

Result<fs::path> program_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec || exe.empty())
    return Error{"/proc/self/exe", 0, "", "cannot find the running program: " + ec.message()};
  return exe.parent_path();
}

Result<fs::path> locate_data_dir(const fs::path& program_dir, const char* env) {
  if (env && *env) {
    const fs::path dir = env;
    if (!is_dir(dir)) return Error{dir.string(), 0, "", std::string(kDataEnv) + " names no folder"};
    return dir;
  }
  const fs::path installed = (program_dir / kInstalledData).lexically_normal();
  if (is_dir(installed)) return installed;
  const fs::path marker = program_dir / kDataMarker;
  std::string looked =
      std::string(kDataEnv) + " is not set; no folder " + installed.string() + " (installed layout); ";
  std::error_code ec;
  if (fs::is_regular_file(marker, ec)) {
    const std::string named = read_marker(marker);
    if (named.empty()) return Error{marker.string(), 1, "", looked + "the marker names no folder"};
    fs::path dir = named;
    if (dir.is_relative()) dir = program_dir / dir;
    if (!is_dir(dir))
      return Error{marker.string(), 1, "", looked + "the marker names " + dir.string() + ", not a folder"};
    return dir;
  }
  return Error{"", 0, "",
               "no data folder: " + looked + "no " + marker.string() +
                   " (build tree); set FABTWIN_DATA to a twin_models folder"};
}

Result<fs::path> data_dir() {
  auto dir = program_dir();
  if (!dir.ok()) return dir.error();
  return locate_data_dir(dir.value(), std::getenv(kDataEnv));
}

Result<fs::path> find_data(const fs::path& relative) {
  auto dir = data_dir();
  if (!dir.ok()) return dir.error();
  const fs::path p = dir.value() / relative;
  std::error_code ec;
  if (!fs::exists(p, ec)) return Error{p.string(), 0, "", "not found in the data folder"};
  return p;
}

fs::path require_data(const fs::path& relative) {
  auto p = find_data(relative);
  if (!p.ok()) throw DataNotFound(p.error().what());
  return std::move(p).value();
}

}  // namespace fabtwin::io
