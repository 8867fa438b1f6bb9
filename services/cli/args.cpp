#include "args.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "fabtwin/compute/backend.hpp"
#include "fabtwin/des/rules.hpp"
#include "fabtwin/io/json.hpp"

namespace fabtwin::cli {

const char* const kExitCodesHelp =
    "Exit codes: 0 success; 2 bad arguments (unknown command or option, a missing or malformed value, a\n"
    "number out of range, an unknown rule or tool); 1 a failure while running (a model or parameter file\n"
    "that cannot be read or is refused, an output that cannot be written completely, a CUDA error).";

CLI::App* add_command(CLI::App& parent, const std::string& name, const std::string& summary,
                      const std::string& details) {
  CLI::App* c = parent.add_subcommand(name, summary);
  c->footer(details.empty() ? std::string(kExitCodesHelp) : details + "\n\n" + kExitCodesHelp);
  return c;
}

namespace {

std::string number_text(double v) { return io::json::format_number(v); }

// "> 0", "in [0, 1]", ">= 0" ...; "" without bounds.
std::string range_text(double lo, double hi, bool lo_open) {
  if (std::isfinite(lo) && std::isfinite(hi))
    return std::string("in ") + (lo_open ? "(" : "[") + number_text(lo) + ", " + number_text(hi) + "]";
  if (std::isfinite(lo)) return (lo_open ? "> " : ">= ") + number_text(lo);
  if (std::isfinite(hi)) return "<= " + number_text(hi);
  return "";
}

std::string with_range(const std::string& help, const std::string& range) {
  return range.empty() ? help : help + " (" + range + ")";
}

CLI::Validator real_check(double lo, double hi, bool lo_open) {
  return CLI::Validator(
      [lo, hi, lo_open](std::string& text) -> std::string {
        const auto v = parse_real(text);
        if (!v) return "'" + text + "' is not a number";
        if (*v < lo || (lo_open && *v == lo) || *v > hi)
          return "'" + text + "' is out of range: a number " + range_text(lo, hi, lo_open);
        return {};
      },
      "");
}

}  // namespace

std::optional<double> parse_real(std::string_view text) {
  double x = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, x);
  if (ec != std::errc{} || p != end || !std::isfinite(x)) return std::nullopt;
  return x;
}

std::optional<std::int64_t> parse_whole(std::string_view text) {
  std::int64_t x = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, x);
  if (ec != std::errc{} || p != end) return std::nullopt;
  return x;
}

CLI::Option* add_real(CLI::App& app, const std::string& name, double& target, const std::string& help,
                      double lo, double hi, bool lo_open) {
  double* p = &target;
  auto* o = app.add_option_function<std::string>(
      name, [p](const std::string& text) { *p = *parse_real(text); },
      with_range(help, range_text(lo, hi, lo_open)));
  o->check(real_check(lo, hi, lo_open))->type_name("FLOAT");
  if (std::isfinite(target)) o->default_str(number_text(target));
  return o;
}

CLI::Option* add_reals(CLI::App& app, const std::string& name, std::vector<double>& target, int count,
                       const std::string& help, double lo, double hi, bool lo_open) {
  std::vector<double>* p = &target;
  auto* o = app.add_option_function<std::vector<std::string>>(
      name,
      [p, name, count](const std::vector<std::string>& texts) {
        if (texts.size() != static_cast<std::size_t>(count))
          throw CLI::ArgumentMismatch(name, count, texts.size());
        p->clear();
        for (const auto& t : texts) p->push_back(*parse_real(t));
      },
      with_range(help, range_text(lo, hi, lo_open)));
  o->expected(count)->check(real_check(lo, hi, lo_open))->type_name("FLOAT");
  return o;
}

CLI::Option* add_whole_impl(CLI::App& app, const std::string& name, std::function<void(std::int64_t)> set,
                            const std::string& help, std::int64_t lo, std::int64_t hi,
                            std::string default_text) {
  std::string range;
  if (lo > std::numeric_limits<std::int64_t>::min() && hi < std::numeric_limits<std::int64_t>::max())
    range = "in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  else if (lo > std::numeric_limits<std::int64_t>::min())
    range = ">= " + std::to_string(lo);
  else if (hi < std::numeric_limits<std::int64_t>::max())
    range = "<= " + std::to_string(hi);
  auto* o = app.add_option_function<std::string>(
      name, [set = std::move(set)](const std::string& text) { set(*parse_whole(text)); },
      with_range(help, range));
  o->check(CLI::Validator(
               [lo, hi, range](std::string& text) -> std::string {
                 const auto v = parse_whole(text);
                 if (!v) return "'" + text + "' is not a whole number";
                 if (*v < lo || *v > hi) return "'" + text + "' is out of range: a whole number " + range;
                 return {};
               },
               ""))
      ->type_name("INT")
      ->default_str(std::move(default_text));
  return o;
}

CLI::Validator dispatch_rule() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const auto base = des::base_rule_name(text);
        const des::RuleRegistry builtin;
        if (base && builtin.find(*base)) return {};
        std::string known;
        for (const auto& n : builtin.names()) known += (known.empty() ? "" : ", ") + n;
        return "unknown dispatch rule '" + text + "'" + (base ? " (" + *base + ")" : "") +
               "; known: " + known;
      },
      "");
}

CLI::Validator backend_name() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (compute::parse_backend(text)) return {};
        return "must be cpu or cuda, not '" + text + "'";
      },
      "");
}

ProgressBar::ProgressBar(bool on, std::string label)
    : on_(on), label_(std::move(label)), t0_(std::chrono::steady_clock::now()) {
  if (!label_.empty()) label_ += ' ';
}

void ProgressBar::operator()(double done, double total) {
  if (!on_ || total <= 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_ < std::chrono::milliseconds(200) && done < total) return;
  last_ = now;
  drawn_ = true;
  const double wall = std::chrono::duration<double>(now - t0_).count(),
               f = std::clamp(done / total, 0.0, 1.0);
  const double eta = f > 0 ? wall * (1 - f) / f : 0;
  const int width = 30, fill = static_cast<int>(f * width);
  std::fprintf(stderr, "\r%s[%.*s%*s] %5.1f %%  ETA %dm%02ds  ", label_.c_str(), fill,
               "##############################", width - fill, "", 100 * f, static_cast<int>(eta) / 60,
               static_cast<int>(eta) % 60);
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (on_ && drawn_) std::fputc('\n', stderr);
  drawn_ = false;
}

}  // namespace fabtwin::cli
