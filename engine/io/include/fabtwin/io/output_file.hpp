#pragma once
// Output files that are closed and checked: every byte written or an error naming the file. A full
// disk (ENOSPC), a vanished directory or a read-only file system is an error, never a short file.
// Used by every writer of run outputs (CSV, JSON, PNG).
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

#include "fabtwin/model/error.hpp"

namespace fabtwin::io {

// An output file that could not be opened, written or closed; what() is "FILE: reason".
class OutputError : public std::runtime_error {
 public:
  OutputError(const std::filesystem::path& file, const std::string& reason);
  const std::filesystem::path& file() const { return file_; }
  const std::string& reason() const { return reason_; }

 private:
  std::filesystem::path file_;
  std::string reason_;
};

class OutputFile {
 public:
  // Creates or truncates `file`; throws OutputError when it cannot be opened.
  explicit OutputFile(std::filesystem::path file);
  OutputFile(OutputFile&& other) noexcept;
  OutputFile& operator=(OutputFile&&) = delete;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  // Closes without checking when close() was not called (an error is already being reported).
  ~OutputFile();

  // Buffered; throws OutputError naming the file when the write fails.
  void write(std::string_view bytes);
  // Flushes and closes; throws OutputError naming the file when any byte could not be written.
  void close();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

// Writes `bytes` as the whole of `file` (created or truncated), closed and checked; the error names
// the file.
model::Result<bool> write_file(const std::filesystem::path& file, std::string_view bytes);

}  // namespace fabtwin::io
