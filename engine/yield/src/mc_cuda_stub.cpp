// Built instead of mc_cuda.cu when the build has no CUDA: MonteCarlo::run refuses Backend::Cuda
// before getting here (cuda_available() is false), so this is never reached in practice.
#include <stdexcept>

#include "launch.hpp"

namespace fabtwin::yield::detail {

double run_cuda(const LaunchInput&, WaferSummary*, std::uint8_t*) {
  throw std::logic_error("fabtwin was built without CUDA (FABTWIN_CUDA=OFF or nvcc not found)");
}

}  // namespace fabtwin::yield::detail
