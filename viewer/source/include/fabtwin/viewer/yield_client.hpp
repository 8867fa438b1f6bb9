#pragma once
// The Yield panel's data: YieldService queries of a live `fabtwin serve` on a worker thread of
// their own (never on the render thread). The panel sets the tool picked in the inspector (the
// filter) and the wafer chosen from the list; the worker refreshes on a change and every
// `refresh_s` seconds, and the panel reads the latest result (view()) each frame.
//   ListWafers{filter.tool, page_size}  the newest `list_size` wafers (newest first)
//   WaferMap{lot, wafer}                the chosen wafer (default: the newest)
//   StackedMap{filter.tool, product}    fail rate per die over the tool's wafers of that product
//   YieldSummary{filter.tool, by tool}  the tool's row (no tool: by product)
// Refusals (PERMISSION_DENIED for a viewer-role token, FAILED_PRECONDITION for `--no-yield`, ...)
// become a one-line message.
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fabtwin/viewer/source.hpp"
#include "fabtwin/viewer/wafer_map.hpp"

namespace fabtwin::viewer {

#ifdef FABTWIN_VIEWER_HAVE_LIVE
struct WaferRow {
  std::string lot, product;
  std::uint32_t wafer = 0;
  std::int64_t completed_ms = 0;
  double die_yield = 0;
};

struct YieldSumsRow {
  std::string key;  // tool or product name
  std::uint64_t lots = 0, wafers = 0, dies = 0, pass = 0;
  double die_yield = 0, mean_wafer_yield = 0, wafer_yield_sd = 0;
  std::vector<std::uint64_t> bins;
};

// What the panel shows: the result of the latest completed round of queries.
struct YieldView {
  std::string tool;                   // the filter these results are for ("" = every tool)
  std::vector<WaferRow> wafers;       // newest first
  std::vector<YieldSumsRow> summary;  // the tool's row, or a row per product
  std::optional<WaferMapData> map;    // the chosen wafer
  std::optional<StackedMapData> stacked;
  std::string message;       // one line when a query failed ("" = all answered)
  std::uint64_t rounds = 0;  // completed rounds (a new round: new data)
  bool busy = false;         // a round is running
};

class YieldClient {
 public:
  struct Options {
    LiveOptions live;            // the server, token and TLS (as the live source's)
    std::size_t list_size = 30;  // wafers listed
    double refresh_s = 10;       // also refresh this often
    double deadline_s = 10;      // per query
    std::string first_tool;      // the filter of the first round ("" = every tool)
    bool worker = true;          // false: no thread; call run_round() (tests, headless)
  };
  static model::Result<std::unique_ptr<YieldClient>> create(Options o);
  ~YieldClient();
  YieldClient(const YieldClient&) = delete;
  YieldClient& operator=(const YieldClient&) = delete;

  // The filter (a tool name; "" = all). A change clears the chosen wafer and refreshes.
  void set_tool(const std::string& tool);
  // The wafer to draw (from the list); refreshes.
  void choose_wafer(const std::string& lot, std::uint32_t wafer);
  void refresh();
  YieldView view() const;

  // One round of queries now, on the caller's thread (what the worker runs).
  YieldView run_round();
  // One wafer's map (the headless --wafer-map mode). Error: the server's refusal, in one line.
  model::Result<WaferMapData> wafer_map(const std::string& lot, std::uint32_t wafer);

 private:
  struct Impl;
  explicit YieldClient(std::unique_ptr<Impl> impl);
  void loop();
  std::unique_ptr<Impl> impl_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::string tool_, lot_;
  std::uint32_t wafer_ = 0;
  bool dirty_ = true, stop_ = false;
  YieldView view_;
  std::thread thread_;
};
#endif

}  // namespace fabtwin::viewer
