#pragma once
#include <filesystem>

namespace fabtwin::test {
// The repository root and the SMT2020 data shipped in it (twin_models/smt2020).
inline std::filesystem::path source_dir() { return FABTWIN_SOURCE_DIR; }
inline std::filesystem::path smt2020_dir() { return FABTWIN_DATA_DIR; }
inline std::filesystem::path hvlm() { return smt2020_dir() / "SMT2020_HVLM"; }
inline std::filesystem::path lvhm() { return smt2020_dir() / "SMT2020_LVHM"; }
inline std::filesystem::path minifab() { return source_dir() / "twin_models" / "minifab.json"; }
}  // namespace fabtwin::test
