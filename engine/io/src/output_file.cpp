#include "fabtwin/io/output_file.hpp"

#include <cerrno>
#include <cstring>
#include <utility>

namespace fabtwin::io {

namespace {

std::string reason(const char* what, int err) {
  return err ? std::string(what) + ": " + std::strerror(err) : what;
}

}  // namespace

OutputError::OutputError(const std::filesystem::path& file, const std::string& reason)
    : std::runtime_error(file.string() + ": " + reason), file_(file), reason_(reason) {}

OutputFile::OutputFile(std::filesystem::path file) : path_(std::move(file)) {
  errno = 0;
  file_ = std::fopen(path_.c_str(), "wb");
  if (!file_) throw OutputError(path_, reason("cannot open for writing", errno));
}

OutputFile::OutputFile(OutputFile&& other) noexcept
    : path_(std::move(other.path_)), file_(std::exchange(other.file_, nullptr)) {}

OutputFile::~OutputFile() {
  if (file_) std::fclose(file_);
}

void OutputFile::write(std::string_view bytes) {
  if (!file_) throw OutputError(path_, "write after close");
  if (bytes.empty()) return;
  errno = 0;
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size() || std::ferror(file_))
    throw OutputError(path_, reason("write failed", errno));
}

void OutputFile::close() {
  if (!file_) return;
  std::FILE* f = std::exchange(file_, nullptr);
  errno = 0;
  const bool flushed = std::fflush(f) == 0 && !std::ferror(f);
  const int flush_err = errno;
  errno = 0;
  const bool closed = std::fclose(f) == 0;
  if (!flushed) throw OutputError(path_, reason("write failed", flush_err));
  if (!closed) throw OutputError(path_, reason("close failed", errno));
}

model::Result<bool> write_file(const std::filesystem::path& file, std::string_view bytes) {
  try {
    OutputFile f(file);
    f.write(bytes);
    f.close();
    return true;
  } catch (const OutputError& e) {
    return model::Error{file.string(), 0, "", e.reason()};
  }
}

}  // namespace fabtwin::io
