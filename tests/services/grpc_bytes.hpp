#pragma once
// Raw gRPC payloads for tests that call methods without generated stubs (health, reflection,
// every method of the authorization matrix): a ByteBuffer's bytes as a string, and back.
#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

namespace fabtwin::test {

inline std::string to_string(const grpc::ByteBuffer& b) {
  std::vector<grpc::Slice> slices;
  (void)b.Dump(&slices);
  std::string s;
  for (const auto& x : slices) s.append(reinterpret_cast<const char*>(x.begin()), x.size());
  return s;
}

inline grpc::ByteBuffer to_buffer(const std::string& s) {
  grpc::Slice slice(s);
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace fabtwin::test
