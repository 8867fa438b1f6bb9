#pragma once
// Model readers and writers. Every failure is a model::Error naming file, line, field and problem;
// a reader never returns a partial model.
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "fabtwin/model/model.hpp"

namespace fabtwin::io {

using model::Error;
using model::Model;
using model::Result;

// SMT2020 / AutoSched AP text files in `dir` (tool.txt.1l, part.txt, route_*.txt, order.txt,
// WIP.txt, setup.txt, setupgrp.txt, downcal.txt, pmcal.txt, attach.txt, fromto.txt).
Result<Model> read_smt2020(const std::filesystem::path& dir);
// The same from memory: file name -> contents (used by tests and the fuzzer). `name` names the model.
Result<Model> parse_smt2020(const std::map<std::string, std::string>& files, std::string name);

// The native format: one JSON document (schema "fabtwin.v1.Model", docs/model-format.md).
Result<Model> read_native(const std::filesystem::path& file);
Result<Model> parse_native(std::string_view json, std::string_view file_label = "<memory>");
std::string to_native_json(const Model& m);  // pretty-printed, round-trips exactly

// A folder is read as SMT2020, a file as native JSON.
Result<Model> load_model(const std::filesystem::path& path);

}  // namespace fabtwin::io
