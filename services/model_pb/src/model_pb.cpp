// fabtwin.v1.Model <-> model::Model through the native JSON text: Protobuf's JSON parser checks the
// schema (keys, types), the engine's reader (io::parse_native) resolves names and validates.
#include "fabtwin/model_pb/model_pb.hpp"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>

#include "fabtwin/io/file.hpp"
#include "fabtwin/io/json.hpp"
#include "fabtwin/io/load.hpp"

namespace fabtwin::model_pb {
namespace {

using model::Error;
using model::Result;

constexpr std::string_view kBom = "\xEF\xBB\xBF";

template <class S>
std::string to_std(const S& s) {  // Protobuf's StringPiece / absl::string_view -> std::string
  return std::string(s.data(), s.size());
}

int line_at(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  return 1 +
         static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
}

std::optional<std::size_t> number_after(std::string_view s, std::string_view prefix) {
  const auto at = s.find(prefix);
  if (at == std::string_view::npos) return std::nullopt;
  const char* first = s.data() + at + prefix.size();
  std::size_t v = 0;
  const auto [end, ec] = std::from_chars(first, s.data() + s.size(), v);
  if (ec != std::errc{} || end == first) return std::nullopt;
  return v;
}

// The line of a field path ("routes[0].steps[3].process_time.mean") in the JSON text: the line of
// the deepest key or element found along it; 0 when not even the first key is found.
int line_of_path(std::string_view text, std::string_view path) {
  auto doc = io::json::parse(text);
  if (!doc || path.empty()) return 0;
  const io::json::Value* cur = &*doc;
  int line = 0;
  std::size_t pos = 0;
  while (pos < path.size()) {
    std::size_t end = path.find_first_of(".[", pos);
    if (end == std::string_view::npos) end = path.size();
    if (end > pos) {  // a key
      const io::json::Member* m = cur->find_member(path.substr(pos, end - pos));
      if (!m) return line;
      line = m->line;
      cur = &m->value;
    }
    pos = end;
    while (pos < path.size() && path[pos] == '[') {  // array indices
      std::size_t i = 0;
      const auto [p, ec] = std::from_chars(path.data() + pos + 1, path.data() + path.size(), i);
      if (ec != std::errc{} || p == path.data() + path.size() || *p != ']') return line;
      if (!cur->is_array() || i >= cur->as_array().size()) return line;
      cur = &cur->as_array()[i];
      line = cur->line();
      pos = static_cast<std::size_t>(p - path.data()) + 1;
    }
    if (pos < path.size() && path[pos] == '.') ++pos;
  }
  return line;
}

// path + "." + key (just key when path is empty).
void append_key(std::string& path, std::string_view key) {
  if (!path.empty()) path += '.';
  path += key;
}

bool is_identifier(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Turns a failed JsonStringToMessage status into an Error: Protobuf's message, the field path it
// names and a line. Protobuf 3.x reports
//   syntax errors as "<message>\n<up to 20 bytes either side>\n<spaces>^" (no offset: the
//     context is looked up in the text and used when it occurs once),
//   schema errors as "(<path>): invalid value <v> for type <T>" or "[(<path>) ]<key>: <message>";
// Protobuf 22+ as "invalid JSON in <type> @ <path>: <kind>, near <line>:<column> (offset <n>):
// <message>", with random runs of spaces (against parsing; collapsed here).
Error describe(std::string_view status, std::string_view text, std::string_view file) {
  Error e{std::string(file), 0, "", std::string(status)};

  if (status.starts_with("invalid JSON")) {
    std::string s;
    for (char c : status)
      if (c != ' ' || s.empty() || s.back() != ' ') s.push_back(c);
    const std::string_view v = s;
    if (const auto at = v.find(" @ "); at != std::string_view::npos)
      e.field = std::string(v.substr(at + 3, v.find(':', at + 3) - (at + 3)));
    if (const auto near = number_after(v, "near ")) e.line = static_cast<int>(*near);
    if (const auto offset = number_after(v, "(offset "); offset && e.line == 0)
      e.line = line_at(text, *offset);
    if (const auto colon = v.find("): ", v.find("(offset ")); colon != std::string_view::npos)
      e.message = std::string(v.substr(colon + 3));
    constexpr std::string_view kNoSuchField = "no such field: '";
    if (const auto nf = e.message.find(kNoSuchField); nf != std::string::npos) {
      const auto first = nf + kNoSuchField.size();
      append_key(e.field, std::string_view(e.message).substr(first, e.message.find('\'', first) - first));
    }
    if (e.line == 0) e.line = line_of_path(text, e.field);
    return e;
  }

  // Protobuf 3.x syntax error: message, context, caret.
  if (const auto nl = status.find('\n'); nl != std::string_view::npos) {
    const auto last_nl = status.rfind('\n');
    const std::string_view caret_line = status.substr(last_nl + 1);
    const std::size_t caret = caret_line.find('^');
    e.message = std::string(status.substr(0, nl));
    if (last_nl > nl && caret != std::string_view::npos) {
      const std::string_view context = status.substr(nl + 1, last_nl - nl - 1);
      const auto first = text.find(context);
      if (!context.empty() && first != std::string_view::npos &&
          text.find(context, first + 1) == std::string_view::npos) {
        const std::size_t offset = first + caret;
        const auto bol = text.rfind('\n', offset == 0 ? 0 : offset - 1);
        const std::size_t column = offset - (bol == std::string_view::npos || offset == 0 ? 0 : bol + 1) + 1;
        e.line = line_at(text, offset);
        e.message += " (column " + std::to_string(column) + ")";
      }
    }
    return e;
  }

  // Protobuf 3.x schema error: "(path)" names the object or field, then ": message" or
  // " key: message" (an unknown key of that object).
  std::string_view rest = status;
  std::string path;
  if (rest.starts_with('(')) {
    const auto close = rest.find(')');
    if (close != std::string_view::npos) {
      path = std::string(rest.substr(1, close - 1));
      rest.remove_prefix(close + 1);
      if (rest.starts_with(' ')) rest.remove_prefix(1);
    }
  }
  if (rest.starts_with(": ")) {
    rest.remove_prefix(2);
  } else if (const auto colon = rest.find(": ");
             colon != std::string_view::npos && is_identifier(rest.substr(0, colon))) {
    append_key(path, rest.substr(0, colon));
    rest.remove_prefix(colon + 2);
  }
  e.message = std::string(rest);
  // A key given twice, or both members of a oneof (proto3 `optional` fields are one-member oneofs
  // named "_<key>"): the field is the member that was refused. When the engine's JSON parser
  // refuses a duplicate key, that is the problem, and it knows the line.
  constexpr std::string_view kCannotSet = "Cannot set '";
  if (const auto cs = rest.find(kCannotSet);
      cs != std::string_view::npos && rest.find("oneof") != rest.npos) {
    const auto first = cs + kCannotSet.size();
    const auto key = rest.substr(first, rest.find('\'', first) - first);
    append_key(path, key);
    if (rest.find("oneof field '_" + std::string(key) + "'") != std::string_view::npos)
      e.message = "duplicate key \"" + std::string(key) + "\"";
    if (auto doc = io::json::parse(text); !doc) {
      e.field = path;
      e.line = doc.error().line;
      return e;
    }
  }
  e.field = path;
  e.line = line_of_path(text, path);
  return e;
}

}  // namespace

Result<v1::Model> parse_native_message(std::string_view json, std::string_view label) {
  if (json.starts_with(kBom)) json.remove_prefix(kBom.size());
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  v1::Model message;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &message, options);
  if (!status.ok()) return describe(to_std(status.message()), json, label);
  return message;
}

Result<v1::Model> read_native_message(const std::filesystem::path& file) {
  auto text = io::read_file(file);
  if (!text.ok()) return text.error();
  return parse_native_message(text.value(), file.string());
}

Result<std::string> message_to_json(const v1::Model& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;  // the same as json_name here; said for clarity
  std::string json;
  const auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) return Error{"fabtwin.v1.Model", 0, "", to_std(status.message())};
  return json;
}

Result<model::Model> to_model(const v1::Model& message, std::string_view label) {
  auto json = message_to_json(message);
  if (!json) return json.error();
  auto m = io::parse_native(*json, label);
  if (!m) {
    Error e = m.error();
    e.file = std::string(label);
    e.line = 0;  // a line of the generated one-line text would mean nothing; the field path does
    return e;
  }
  return m;
}

Result<v1::Model> to_message(const model::Model& model) {
  return parse_native_message(io::to_native_json(model), "to_native_json(" + model.name() + ")");
}

}  // namespace fabtwin::model_pb
