#pragma once
// Backend choice for the "one kernel body, two launchers" split (DESIGN decision 3). The CPU backend
// is always built; the CUDA one exists where nvcc was found at configure time and runs where a
// device is present.
#include <optional>
#include <string>
#include <string_view>

namespace fabtwin::compute {

enum class Backend { Cpu, Cuda };

// "cpu" / "cuda".
constexpr std::string_view to_string(Backend b) { return b == Backend::Cpu ? "cpu" : "cuda"; }
// Parses "cpu" or "cuda" (lower case); nullopt otherwise.
std::optional<Backend> parse_backend(std::string_view s);

// True when this build has the CUDA backend (FABTWIN_CUDA resolved ON at configure time).
bool cuda_built();
// True when the CUDA backend is built AND at least one device is usable; never throws. Always
// false in a build without CUDA, or where the driver or device is missing.
bool cuda_available();
// "NVIDIA H200 (sm_90, 132 SMs)" for device 0, or "" when !cuda_available().
std::string cuda_device_name();

}  // namespace fabtwin::compute
