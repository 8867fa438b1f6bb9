#pragma once
// Subcommands of the `fabtwin` command line. Each takes argv from its own name on
// (argv[0] = "model", ...), prints its result, and returns the process exit code:
// 0 success, 1 a failure while running (bad model, I/O), 2 bad arguments.

namespace fabtwin::cli {
int cmd_model(int argc, char** argv);
int cmd_simulate(int argc, char** argv);
int cmd_yield_run(int argc, char** argv);  // argv[0] = "yield", argv[1] = "run"
}  // namespace fabtwin::cli

int cmd_yield(int argc, char** argv);
