// fabtwin: the command line of the fab digital twin.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string_view>

#include "args.hpp"
#include "commands.hpp"

namespace {

constexpr const char* kUsage = R"(fabtwin - open digital twin of a semiconductor fab

usage: fabtwin <command> [options]

commands:
  model show PATH [--json]       summarise a model (native JSON file or SMT2020 folder)
  model convert PATH --out FILE  write a model in the native JSON format
  simulate --model PATH --days N [--rule fifo|cr|edd|spt] [--seed S] [--warmup D]
           [--include-wip] [--out DIR [--history]] [--json] [--quiet]
                                 discrete-event simulation; prints KPIs, writes kpis.json,
                                 lots.csv, toolgroups.csv, wip.csv (and with --history
                                 history.csv: every step of every lot) into DIR
  yield mc|map|run ...           yield Monte Carlo, wafer maps, simulated yield (see
                                 `fabtwin yield --help`)
  help                           this text
)";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]) == "help" || std::string_view(argv[1]) == "--help" ||
      std::string_view(argv[1]) == "-h") {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string_view cmd = argv[1];
  try {
    if (cmd == "model") return fabtwin::cli::cmd_model(argc - 1, argv + 1);
    if (cmd == "simulate") return fabtwin::cli::cmd_simulate(argc - 1, argv + 1);
    if (cmd == "yield") return cmd_yield(argc - 1, argv + 1);
    std::fprintf(stderr, "fabtwin: unknown command '%s' (try: fabtwin help)\n", argv[1]);
    return 2;
  } catch (const fabtwin::cli::UsageError& e) {
    std::fprintf(stderr, "fabtwin %s: %s\n", argv[1], e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fabtwin %s: error: %s\n", argv[1], e.what());
    return 1;
  }
}
