#pragma once
// Where a program finds the data shipped with fabtwin (the twin_models/ folder: models, yield
// parameters). Looked up at run time, never compiled in, so an installed program can be moved:
//   1. $FABTWIN_DATA, when set and not empty: the only place looked (it must be a folder);
//   2. <program dir>/../share/fabtwin/twin_models   (the installed layout, `cmake --install`);
//   3. the folder named in <program dir>/fabtwin-data-dir.txt   (the build tree: CMake writes it
//      beside each program; it is never installed).
#include <filesystem>
#include <stdexcept>

#include "fabtwin/model/error.hpp"

namespace fabtwin::io {

inline constexpr const char* kDataEnv = "FABTWIN_DATA";                        // environment variable
inline constexpr const char* kDataMarker = "fabtwin-data-dir.txt";             // build-tree marker file
inline constexpr const char* kInstalledData = "../share/fabtwin/twin_models";  // from <prefix>/bin

// The folder holding the running program (from /proc/self/exe); fails where it cannot be read.
model::Result<std::filesystem::path> program_dir();

// The data folder for a program in `program_dir`, `env` being $FABTWIN_DATA (nullptr: unset).
// Fails with an Error whose message names every place looked.
model::Result<std::filesystem::path> locate_data_dir(const std::filesystem::path& program_dir,
                                                     const char* env);

// The data folder of the running program: locate_data_dir(program_dir(), getenv(FABTWIN_DATA)).
model::Result<std::filesystem::path> data_dir();

// data_dir() / relative when that file or folder exists; else an Error naming it.
model::Result<std::filesystem::path> find_data(const std::filesystem::path& relative);

// A fault for programs that report and exit: find_data's Error as an exception.
struct DataNotFound : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// find_data(relative), throwing DataNotFound (its text: the Error) when it fails.
std::filesystem::path require_data(const std::filesystem::path& relative);

}  // namespace fabtwin::io
