#pragma once
// Command-line helpers on CLI11 (third_party/CLI11): strict numbers, the command table main() runs
// and the exit codes every command shares.
//
// Exit codes: 0 success (--help included); 2 bad arguments (unknown command or option, a missing
// or malformed value, a number out of range, an unknown rule or tool name); 1 a failure while
// running (a model or parameter file that cannot be read or is refused, an output file that cannot
// be written completely, a CUDA error).
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"

namespace fabtwin::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // a failure while running
inline constexpr int kExitUsage = 2;    // bad arguments

// A bad argument found after parsing (options that contradict, a name the model lacks): exit 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The exit-code paragraph closing every --help.
extern const char* const kExitCodesHelp;

// A (sub)command under `parent`: `summary` (one line) is listed in the parent's help and heads the
// command's own; `details` and the exit codes close it.
CLI::App* add_command(CLI::App& parent, const std::string& name, const std::string& summary,
                      const std::string& details = "");

// Marks a value option required (and shows no default for it).
inline CLI::Option* required(CLI::Option* o) { return o->required()->default_str(""); }

// A leaf command: its CLI11 app and what runs it once its arguments are parsed (returns the exit
// code; throws UsageError for exit 2, any other exception for exit 1).
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};
using Commands = std::vector<Command>;

// Strict numbers: decimal text only, read whole by std::from_chars (no spaces, sign '+', hex,
// octal, inf, nan or trailing characters; "2x", "1e" and "0x10" are refused).
std::optional<double> parse_real(std::string_view text);  // finite
std::optional<std::int64_t> parse_whole(std::string_view text);

inline constexpr double kInf = std::numeric_limits<double>::infinity();

// Option adders: the value is checked (a message naming the option on failure: exit 2) and
// converted by parse_real / parse_whole, never by CLI11's looser conversion. `lo_open`: the value
// must be above `lo`, not equal. The help shows the type, the default and (after `help`) the range.
CLI::Option* add_real(CLI::App& app, const std::string& name, double& target, const std::string& help,
                      double lo = -kInf, double hi = kInf, bool lo_open = false);
CLI::Option* add_reals(CLI::App& app, const std::string& name, std::vector<double>& target, int count,
                       const std::string& help, double lo = -kInf, double hi = kInf, bool lo_open = false);
template <class T>
CLI::Option* add_whole(CLI::App& app, const std::string& name, T& target, const std::string& help,
                       std::int64_t lo = std::numeric_limits<std::int64_t>::min(),
                       std::int64_t hi = std::numeric_limits<std::int64_t>::max());

// The --rule check: fifo|cr|edd|spt or a registered rank_ name (des::RuleRegistry).
CLI::Validator dispatch_rule();
// The --backend check: cpu or cuda.
CLI::Validator backend_name();

// "label [#####.....]  42.0 %  ETA 3m12s" on stderr, at most a few times a second; off: silent.
class ProgressBar {
 public:
  explicit ProgressBar(bool on, std::string label = {});
  void operator()(double done, double total);
  void finish();  // ends the bar's line (if it drew one)

 private:
  bool on_, drawn_ = false;
  std::string label_;
  std::chrono::steady_clock::time_point t0_, last_{};
};

// --- implementation of add_whole ---
CLI::Option* add_whole_impl(CLI::App& app, const std::string& name, std::function<void(std::int64_t)> set,
                            const std::string& help, std::int64_t lo, std::int64_t hi,
                            std::string default_text);

template <class T>
CLI::Option* add_whole(CLI::App& app, const std::string& name, T& target, const std::string& help,
                       std::int64_t lo, std::int64_t hi) {
  if (std::cmp_less(lo, std::numeric_limits<T>::min()))
    lo = static_cast<std::int64_t>(std::numeric_limits<T>::min());
  if (std::cmp_greater(hi, std::numeric_limits<T>::max()))
    hi = static_cast<std::int64_t>(std::numeric_limits<T>::max());
  T* p = &target;
  return add_whole_impl(
      app, name, [p](std::int64_t v) { *p = static_cast<T>(v); }, help, lo, hi, std::to_string(target));
}

}  // namespace fabtwin::cli
