#pragma once
// One check for every CUDA runtime call: FABTWIN_CUDA_CHECK(cudaMalloc(...)). A failing call throws
// CudaError naming file:line, the error name and the call (a fault that ends the run; catch it at
// the top). Only for translation units that see the CUDA runtime headers (CUDA builds).
#include <cuda_runtime_api.h>

#include <stdexcept>
#include <string>

namespace fabtwin::compute {

class CudaError : public std::runtime_error {
 public:
  CudaError(cudaError_t code, const std::string& what) : std::runtime_error(what), code_(code) {}
  cudaError_t code() const { return code_; }

 private:
  cudaError_t code_;
};

// Throws CudaError "file:line: cudaErrorX (message) in `call`" unless `e` is cudaSuccess.
inline void cuda_check(cudaError_t e, const char* call, const char* file, int line) {
  if (e == cudaSuccess) return;
  throw CudaError(e, std::string(file) + ":" + std::to_string(line) + ": " + cudaGetErrorName(e) + " (" +
                         cudaGetErrorString(e) + ") in `" + call + "`");
}

}  // namespace fabtwin::compute

#define FABTWIN_CUDA_CHECK(call) ::fabtwin::compute::cuda_check((call), #call, __FILE__, __LINE__)
// After a kernel launch: reports launch-configuration errors at the launch site.
#define FABTWIN_CUDA_CHECK_LAUNCH() FABTWIN_CUDA_CHECK(cudaGetLastError())
