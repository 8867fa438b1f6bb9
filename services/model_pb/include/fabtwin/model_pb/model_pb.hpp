#pragma once
// fabtwin.v1.Model messages (proto/fabtwin/v1/model.proto) and the engine's model::Model.
// The message is the native JSON format read by Protobuf's JSON parser (strict: unknown keys and
// wrong types are errors); a message becomes a model only through the engine's reader
// (io::parse_native), which resolves names into ids and validates. Failures are model::Error
// values, never exceptions.
#include <filesystem>
#include <string>
#include <string_view>

#include "fabtwin/model/model.hpp"
#include "fabtwin/v1/model.pb.h"

namespace fabtwin::model_pb {

// Reads a native JSON file into a message. Errors name the file, the line (0 when unknown), the
// field path ("tool_groups[0].tool_count") and Protobuf's message; also: file not found, not a
// regular file, larger than 1 GiB.
model::Result<v1::Model> read_native_message(const std::filesystem::path& file);
// The same from memory; `label` names the text in errors. A leading UTF-8 byte-order mark is
// skipped, as by the engine's reader. Protobuf accepts a few spellings io::read_native refuses
// (null, quoted numbers, a single value for an array: docs/model-format.md section 4).
model::Result<v1::Model> parse_native_message(std::string_view json, std::string_view label = "<memory>");

// The message as native JSON (compact, one line, keys as in the file); fails only on what
// Protobuf cannot print (e.g. a string that is not UTF-8).
model::Result<std::string> message_to_json(const v1::Model& message);

// The model a message describes, read by io::parse_native; errors name `label`, line 0 and the
// field path of the offending message field (as the JSON path: "routes[0].steps[3].tool_group").
model::Result<model::Model> to_model(const v1::Model& message, std::string_view label = "fabtwin.v1.Model");
// The message of a model: io::to_native_json read back by Protobuf. Fails only for a model with
// a time outside years 0000..9999, which the native JSON writes as a number (not representable).
model::Result<v1::Model> to_message(const model::Model& model);

}  // namespace fabtwin::model_pb
