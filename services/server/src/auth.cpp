#include "fabtwin/server/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace fabtwin::server {

std::string_view role_name(Role r) {
  switch (r) {
    case Role::viewer:
      return "viewer";
    case Role::analyst:
      return "analyst";
    case Role::operator_:
      return "operator";
  }
  return "?";
}

std::optional<Role> parse_role(std::string_view name) {
  if (name == "viewer") return Role::viewer;
  if (name == "analyst") return Role::analyst;
  if (name == "operator") return Role::operator_;
  return std::nullopt;
}

// THE table: every rpc the server offers and the lowest role that may call it. grpc.health.v1 and
// server reflection are not gated (they say nothing about the fab). A service added to the server
// adds its rows here; until then its calls are refused to everybody (test_security checks that
// every method of every fabtwin.v1 service has a row).
const std::map<std::string, Role, std::less<>>& method_roles() {
  static const std::map<std::string, Role, std::less<>> table = {
      // viewer: the model and the state.
      {"/fabtwin.v1.TwinService/GetModel", Role::viewer},
      {"/fabtwin.v1.TwinService/GetSnapshot", Role::viewer},
      {"/fabtwin.v1.TwinService/StreamState", Role::viewer},
      // analyst: forecasts (and yield queries).
      {"/fabtwin.v1.TwinService/Forecast", Role::analyst},
      // YieldService: the yield queries.
      {"/fabtwin.v1.YieldService/ListWafers", Role::analyst},
      {"/fabtwin.v1.YieldService/YieldSummary", Role::analyst},
      {"/fabtwin.v1.YieldService/WaferMap", Role::analyst},
      {"/fabtwin.v1.YieldService/StackedMap", Role::analyst},
      {"/fabtwin.v1.YieldService/Commonality", Role::analyst},
      // operator: what changes the twin (ingest; what-if runs).
      {"/fabtwin.v1.IngestService/Ingest", Role::operator_},
      {"/fabtwin.v1.IngestService/IngestEvents", Role::operator_},
      // ---- WhatIfService (operator). ----
      {"/fabtwin.v1.WhatIfService/Submit", Role::operator_},
      {"/fabtwin.v1.WhatIfService/Watch", Role::operator_},
      {"/fabtwin.v1.WhatIfService/Results", Role::operator_},
      {"/fabtwin.v1.WhatIfService/Cancel", Role::operator_},
      {"/fabtwin.v1.WhatIfService/ListJobs", Role::operator_},
  };
  return table;
}

namespace {

using Digest = std::array<unsigned char, 32>;

Digest sha256(std::string_view text) {
  Digest d{};
  unsigned int n = 0;
  if (EVP_Digest(text.data(), text.size(), d.data(), &n, EVP_sha256(), nullptr) != 1 || n != d.size())
    throw std::runtime_error("SHA-256 failed (OpenSSL)");
  return d;
}

bool blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// The fields of a line, split at spaces and tabs.
std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && blank(line[i])) ++i;
    const std::size_t start = i;
    while (i < line.size() && !blank(line[i])) ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

constexpr std::size_t kMinToken = 16, kMaxToken = 512;

// Printable ASCII without space (what an HTTP/2 header value carries unchanged).
bool token_chars(std::string_view t) {
  for (char c : t)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char x = (a[i] >= 'A' && a[i] <= 'Z') ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    const char y = (b[i] >= 'A' && b[i] <= 'Z') ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y) return false;
  }
  return true;
}

}  // namespace

model::Result<Tokens> Tokens::parse(std::string_view text, const std::string& file) {
  auto bad = [&](int line, std::string field, std::string message) {
    return model::Error{file, line, std::move(field), std::move(message)};
  };
  Tokens out;
  std::vector<int> lines;  // the line of each entry
  int line_no = 0;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(at, end - at);
    at = end + 1;
    ++line_no;
    const auto f = fields(line);
    if (f.empty() || f[0][0] == '#') continue;
    if (f.size() != 2)
      return bad(line_no, "",
                 "expected `TOKEN ROLE` (2 fields separated by spaces), found " + std::to_string(f.size()) +
                     " fields");
    const std::string_view token = f[0], role = f[1];
    if (!token_chars(token))
      return bad(line_no, "token", "only printable ASCII characters (no spaces or control characters)");
    if (token.size() < kMinToken || token.size() > kMaxToken)
      return bad(line_no, "token",
                 std::to_string(token.size()) + " characters; a token has " + std::to_string(kMinToken) +
                     " to " + std::to_string(kMaxToken) + " (make one with `openssl rand -hex 32`)");
    const auto r = parse_role(role);
    if (!r) {
      std::string message(role);  // (built up: GCC 12 warns falsely on "\"" + std::string)
      message.insert(0, 1, '"');
      message += "\" is not a role (viewer, analyst or operator)";
      return bad(line_no, "role", std::move(message));
    }
    const Digest d = sha256(token);
    for (std::size_t k = 0; k < out.entries_.size(); ++k)
      if (out.entries_[k].digest == d)
        return bad(line_no, "token", "the same token as on line " + std::to_string(lines[k]));
    out.entries_.push_back({d, *r});
    lines.push_back(line_no);
  }
  if (out.entries_.empty()) return bad(0, "", "no token (one `TOKEN ROLE` pair a line)");
  return out;
}

model::Result<Tokens> Tokens::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return model::Error{path, 0, "", "cannot read the auth file"};
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) return model::Error{path, 0, "", "cannot read the auth file"};
  return parse(s.str(), path);
}

std::optional<Role> Tokens::role_of(std::string_view token) const {
  const Digest d = sha256(token);
  std::uint8_t found = 0;  // the matching entry's role (0: none); every entry is compared
  for (const Entry& e : entries_) {
    const std::uint8_t same = CRYPTO_memcmp(e.digest.data(), d.data(), d.size()) == 0 ? 0xff : 0x00;
    found = static_cast<std::uint8_t>(found | (same & static_cast<std::uint8_t>(e.role)));
  }
  if (found == 0) return std::nullopt;
  return static_cast<Role>(found);
}

Decision authorize(const Tokens* tokens, std::string_view method,
                   const std::vector<std::string_view>& authorization) {
  using Code = Decision::Code;
  if (!tokens) return {};
  if (authorization.empty())
    return {Code::unauthenticated, "no token: send the metadata `authorization: Bearer TOKEN`", std::nullopt};
  if (authorization.size() > 1)
    return {Code::unauthenticated, "more than one `authorization` metadata entry", std::nullopt};
  const std::string_view value = authorization[0];
  constexpr std::string_view scheme = "bearer ";
  if (value.size() <= scheme.size() || !iequals(value.substr(0, scheme.size()), scheme))
    return {Code::unauthenticated, "authorization: not `Bearer TOKEN`", std::nullopt};
  std::string_view token = value.substr(scheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  const auto role = tokens->role_of(token);
  if (!role) return {Code::unauthenticated, "unknown token", std::nullopt};
  const auto& table = method_roles();
  const auto it = table.find(method);
  if (it == table.end()) return {Code::permission_denied, std::string(method) + " is open to no role", role};
  if (static_cast<int>(*role) < static_cast<int>(it->second))
    return {Code::permission_denied,
            "role " + std::string(role_name(*role)) + " may not call " + std::string(method) + " (it needs " +
                std::string(role_name(it->second)) + ")",
            role};
  return {Code::allowed, "", role};
}

}  // namespace fabtwin::server
