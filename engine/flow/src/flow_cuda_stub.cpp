// Builds without CUDA: the CUDA launcher refuses.
#include <stdexcept>

#include "launch.hpp"

namespace fabtwin::flow::detail {
void run_cuda(const Problem&, Outputs&) {
  throw std::runtime_error(
      "flow: this build has no CUDA backend (configure with FABTWIN_CUDA=ON where nvcc exists)");
}
}  // namespace fabtwin::flow::detail
