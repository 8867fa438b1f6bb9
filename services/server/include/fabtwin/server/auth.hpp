#pragma once
// Who may call what (docs/operations.md "Security"). Pure: no gRPC here (the server's gate reads
// the call's metadata and asks `authorize`; the fuzz target and the tests call it directly).
//   Roles      viewer < analyst < operator; a role may call what every lower role may.
//   Tokens     `--auth FILE`: one `TOKEN ROLE` pair a line. Held only as SHA-256 digests; a
//              presented token is hashed and compared with every digest in constant time. Neither
//              a token nor its digest is ever printed (errors name the file and line only).
//   Methods    method_roles(): every rpc's full name -> the lowest role allowed to call it. A
//              method missing from the table is refused to every role (a new rpc is closed until
//              a row says who may call it).
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fabtwin/model/error.hpp"

namespace fabtwin::server {

enum class Role : std::uint8_t { viewer = 1, analyst = 2, operator_ = 3 };

std::string_view role_name(Role r);                     // "viewer", "analyst", "operator"
std::optional<Role> parse_role(std::string_view name);  // exact, lower case

// Full method name ("/fabtwin.v1.TwinService/GetModel") -> the lowest role that may call it.
const std::map<std::string, Role, std::less<>>& method_roles();

// The metadata key and scheme a client sends: `authorization: Bearer TOKEN`.
inline constexpr std::string_view kAuthorizationKey = "authorization";

// The tokens of an auth file.
class Tokens {
 public:
  // Parses an auth file's text: one `TOKEN ROLE` a line, separated by spaces or tabs; `#` starts
  // a comment line; blank lines are skipped. A token is 16 to 512 printable ASCII characters
  // without spaces; a role is viewer, analyst or operator. Errors (file, line, field "token" or
  // "role" or "", a message that never repeats the token): a line without exactly two fields, a
  // short or unprintable token, an unknown role, a token given twice (naming the first line), no
  // token at all.
  static model::Result<Tokens> parse(std::string_view text, const std::string& file);
  // Reads and parses `path` (an Error naming the file when it cannot be read).
  static model::Result<Tokens> load(const std::string& path);

  // The role of `token` (nullopt: unknown). Hashes it and compares the digest with every entry
  // (no early exit), so the time does not depend on which entry, if any, matches.
  std::optional<Role> role_of(std::string_view token) const;
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::array<unsigned char, 32> digest;
    Role role;
  };
  std::vector<Entry> entries_;
};

// The decision on one call.
struct Decision {
  enum class Code { allowed, unauthenticated, permission_denied };
  Code code = Code::allowed;
  std::string message;  // why (never the token)
  std::optional<Role> role;
};

// May a caller presenting `authorization` (the values of the call's `authorization` metadata,
// normally one: "Bearer TOKEN") call `method`? `tokens` null: no authentication configured,
// everything is allowed. Otherwise: no value, more than one, not "Bearer <token>" (scheme case
// insensitive) or an unknown token -> unauthenticated; a known token whose role is below the
// method's (or a method missing from method_roles()) -> permission_denied.
Decision authorize(const Tokens* tokens, std::string_view method,
                   const std::vector<std::string_view>& authorization);

}  // namespace fabtwin::server
