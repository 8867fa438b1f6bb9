#pragma once
// The commands of the `fabtwin` command line. Each adder creates its CLI11 subcommand(s) under
// `parent`, binds their options, and appends the leaf commands with what runs them.
#include "args.hpp"

namespace fabtwin::cli {
void add_model_commands(CLI::App& root, Commands& out);        // model show | model convert
void add_simulate_command(CLI::App& root, Commands& out);      // simulate
void add_yield_commands(CLI::App& root, Commands& out);        // yield mc | map | run | power
void add_yield_run_command(CLI::App& yield, Commands& out);    // yield run
void add_yield_power_command(CLI::App& yield, Commands& out);  // yield power
void add_twin_commands(CLI::App& root, Commands& out);         // emulate | replay
void add_whatif_commands(CLI::App& root, Commands& out);       // whatif run
void add_flow_commands(CLI::App& root, Commands& out);         // flow calibrate | flow run
#if FABTWIN_HAVE_LIVE
void add_store_commands(CLI::App& root, Commands& out);  // store info | store export (services only)
#endif
#if FABTWIN_HAVE_SERVER
void add_serve_command(CLI::App& root, Commands& out);  // serve (only where the services are built)
#endif
}  // namespace fabtwin::cli
