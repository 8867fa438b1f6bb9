// The yield parameter file reader (twin_models/yield_params.json), on the engine's JSON library.
#include "fabtwin/yield/params.hpp"

#include <cmath>

#include "fabtwin/io/file.hpp"
#include "fabtwin/io/json.hpp"

namespace fabtwin::yield {

std::string_view to_string(Signature s) {
  switch (s) {
    case Signature::None:
      return "none";
    case Signature::Centre:
      return "centre";
    case Signature::EdgeRing:
      return "edge_ring";
    case Signature::Scratch:
      return "scratch";
  }
  return "none";
}

WaferGeometry YieldParams::geometry_for(std::string_view product) const {
  WaferGeometry g = wafer;
  g.die_width_mm = default_die_width_mm;
  g.die_height_mm = default_die_height_mm;
  for (const auto& p : products)
    if (p.product == product) {
      g.die_width_mm = p.width_mm;
      g.die_height_mm = p.height_mm;
    }
  return g;
}

namespace {

using io::json::Type;
using io::json::Value;

// Walks one object: each get_* marks its key as known; finish() reports the first unknown key.
class ObjectReader {
 public:
  ObjectReader(const Value& v, std::string path, std::string_view file, model::Error& err, bool& ok)
      : v_(v), path_(std::move(path)), file_(file), err_(err), ok_(ok) {
    if (v.type() != Type::Object) fail(v, path_, "must be an object");
  }

  void fail(const Value& at, const std::string& field, const std::string& msg) {
    if (!ok_) return;
    ok_ = false;
    err_ = model::Error{std::string(file_), at.line(), field, msg};
  }
  std::string field(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  const Value* get(std::string_view key) {
    if (v_.type() != Type::Object) return nullptr;
    known_.emplace_back(key);
    return v_.find(key);
  }
  // A number within [lo, hi]; leaves `out` when the key is absent.
  void number(std::string_view key, double& out, double lo, double hi) {
    const Value* x = get(key);
    if (!x) return;
    if (!x->is_number() || !std::isfinite(x->as_number())) {
      fail(*x, field(key), "must be a number");
      return;
    }
    if (x->as_number() < lo || x->as_number() > hi) {
      std::ostringstream m;
      m << "must be within [" << lo << ", " << hi << "], is " << x->as_number();
      fail(*x, field(key), m.str());
      return;
    }
    out = x->as_number();
  }
  void integer(std::string_view key, std::uint64_t& out, double hi) {
    double d = static_cast<double>(out);
    const Value* x = get(key);
    if (!x) return;
    number(key, d, 0, hi);
    if (d != std::floor(d)) fail(*x, field(key), "must be a whole number");
    out = static_cast<std::uint64_t>(d);
  }
  void string(std::string_view key, std::string& out, bool required) {
    const Value* x = get(key);
    if (!x) {
      if (required) fail(v_, field(key), "is required");
      return;
    }
    if (!x->is_string() || x->as_string().empty()) {
      fail(*x, field(key), "must be a non-empty string");
      return;
    }
    out = x->as_string();
  }
  void boolean(std::string_view key, bool& out) {
    const Value* x = get(key);
    if (!x) return;
    if (!x->is_bool()) {
      fail(*x, field(key), "must be true or false");
      return;
    }
    out = x->as_bool();
  }
  // [width, height] in mm, both > 0.
  void die_mm(std::string_view key, double& w, double& h, bool required) {
    const Value* x = get(key);
    if (!x) {
      if (required) fail(v_, field(key), "is required");
      return;
    }
    const auto ok_mm = [](const Value& v) {
      return v.is_number() && v.as_number() > 0 && v.as_number() < 300;
    };
    if (!x->is_array() || x->as_array().size() != 2 || !ok_mm(x->as_array()[0]) || !ok_mm(x->as_array()[1])) {
      fail(*x, field(key), "must be [width_mm, height_mm], both in (0, 300)");
      return;
    }
    w = x->as_array()[0].as_number();
    h = x->as_array()[1].as_number();
  }
  // Unknown keys are errors, except those starting with '_' (comments).
  void finish() {
    if (v_.type() != Type::Object) return;
    for (const auto& m : v_.as_object()) {
      if (!m.key.empty() && m.key[0] == '_') continue;
      bool found = false;
      for (const auto& q : known_) found = found || q == m.key;
      if (!found) fail(m.value, field(m.key), "unknown key");
    }
  }

 private:
  const Value& v_;
  std::string path_;
  std::string_view file_;
  model::Error& err_;
  bool& ok_;
  std::vector<std::string> known_;
};

}  // namespace

model::Result<YieldParams> parse_yield_params(std::string_view text, std::string_view file) {
  auto parsed = io::json::parse(text, file);
  if (!parsed) return parsed.error();
  const Value& root = parsed.value();
  YieldParams p;
  model::Error err;
  bool ok = true;
  ObjectReader top(root, "", file, err, ok);
  std::string schema;
  top.string("schema", schema, true);
  if (ok && schema != "fabtwin.v1.YieldParams")
    top.fail(*root.find("schema"), "schema", "must be \"fabtwin.v1.YieldParams\", is \"" + schema + "\"");
  top.integer("seed", p.seed, 9007199254740992.0);
  top.number("cluster_alpha", p.cluster_alpha, 0.0, 1e9);
  top.die_mm("default_die_mm", p.default_die_width_mm, p.default_die_height_mm, false);

  if (const Value* w = top.get("wafer")) {
    ObjectReader r(*w, "wafer", file, err, ok);
    r.number("diameter_mm", p.wafer.diameter_mm, 1.0, 1000.0);
    r.number("edge_exclusion_mm", p.wafer.edge_exclusion_mm, 0.0, p.wafer.diameter_mm / 2);
    r.number("scribe_mm", p.wafer.scribe_mm, 0.0, 10.0);
    r.finish();
  }
  if (const Value* s = top.get("signatures")) {
    ObjectReader r(*s, "signatures", file, err, ok);
    r.number("centre_sigma_mm", p.shapes.centre_sigma_mm, 0.0, 1000.0);
    r.number("edge_ring_width_mm", p.shapes.edge_ring_width_mm, 0.0, 500.0);
    r.number("scratch_length_mm", p.shapes.scratch_length_mm, 0.0, 1000.0);
    r.number("scratch_width_mm", p.shapes.scratch_width_mm, 0.0, 100.0);
    r.finish();
  }
  if (const Value* h = top.get("tool_health")) {
    ObjectReader r(*h, "tool_health", file, err, ok);
    r.number("drift_per_day", p.health.drift_per_day, 0.0, 100.0);
    r.number("drift_max", p.health.drift_max, 0.0, 1000.0);
    r.number("excursion_multiplier", p.health.excursion_multiplier, 0.0, 1000.0);
    std::uint64_t lots = p.health.excursion_lots;
    r.integer("excursion_lots", lots, 1e9);
    p.health.excursion_lots = static_cast<std::uint32_t>(lots);
    r.finish();
  }
  auto read_area = [&](const Value& v, const std::string& path, AreaDefects& a, bool named) {
    ObjectReader r(v, path, file, err, ok);
    if (named) r.string("name", a.name, true);
    r.number("d0_per_step", a.d0_per_step, 0.0, 1e6);
    r.number("kill_ratio", a.kill_ratio, 0.0, 1.0);
    r.finish();
  };
  if (const Value* a = top.get("areas")) {
    if (!a->is_array())
      top.fail(*a, "areas", "must be an array");
    else if (a->as_array().size() > kMaxAreas)
      top.fail(*a, "areas", "at most " + std::to_string(kMaxAreas) + " areas (kMaxAreas)");
    else
      for (std::size_t i = 0; i < a->as_array().size() && ok; ++i) {
        AreaDefects d;
        read_area(a->as_array()[i], "areas[" + std::to_string(i) + "]", d, true);
        for (const auto& q : p.areas)
          if (ok && q.name == d.name)
            top.fail(a->as_array()[i], "areas[" + std::to_string(i) + "].name",
                     "duplicate area '" + d.name + "'");
        p.areas.push_back(d);
      }
  }
  if (const Value* d = top.get("default_area")) read_area(*d, "default_area", p.default_area, false);
  if (const Value* pr = top.get("products")) {
    if (!pr->is_array())
      top.fail(*pr, "products", "must be an array");
    else
      for (std::size_t i = 0; i < pr->as_array().size() && ok; ++i) {
        ProductDie d;
        ObjectReader r(pr->as_array()[i], "products[" + std::to_string(i) + "]", file, err, ok);
        r.string("product", d.product, true);
        r.die_mm("die_mm", d.width_mm, d.height_mm, true);
        r.finish();
        p.products.push_back(d);
      }
  }
  if (const Value* fl = top.get("faults")) {
    if (!fl->is_array())
      top.fail(*fl, "faults", "must be an array");
    else
      for (std::size_t i = 0; i < fl->as_array().size() && ok; ++i) {
        ToolFault f;
        const std::string path = "faults[" + std::to_string(i) + "]";
        ObjectReader r(fl->as_array()[i], path, file, err, ok);
        r.string("tool", f.tool, true);
        r.number("density_multiplier", f.density_multiplier, 0.0, 1e6);
        std::string sig = "none";
        r.string("signature", sig, false);
        if (sig == "none")
          f.signature = Signature::None;
        else if (sig == "centre")
          f.signature = Signature::Centre;
        else if (sig == "edge_ring")
          f.signature = Signature::EdgeRing;
        else if (sig == "scratch")
          f.signature = Signature::Scratch;
        else
          r.fail(*fl->as_array()[i].find("signature"), path + ".signature",
                 "must be none, centre, edge_ring or scratch");
        r.number("intensity", f.intensity, 0.0, 1e6);
        r.number("probability", f.probability, 0.0, 1.0);
        bool enabled = true;
        r.boolean("enabled", enabled);
        r.finish();
        if (enabled) p.faults.push_back(f);
      }
  }
  top.finish();
  if (!ok) return err;
  return p;
}

model::Result<YieldParams> read_yield_params(const std::filesystem::path& file) {
  auto text = io::read_file(file);
  if (!text.ok()) return text.error();
  return parse_yield_params(text.value(), file.string());
}

}  // namespace fabtwin::yield
