// fabtwin: the command line of the fab digital twin. Options are parsed by CLI11; every command
// and subcommand has a --help made from the options it parses. Exit codes: args.hpp.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "args.hpp"
#include "commands.hpp"
#if FABTWIN_HAVE_SERVER
#include "client_commands.hpp"
#endif

namespace {

using namespace fabtwin::cli;

// The chain of selected commands from the root: {root, yield, mc}.
std::vector<CLI::App*> selected_chain(CLI::App& root) {
  std::vector<CLI::App*> chain{&root};
  while (!chain.back()->get_subcommands().empty()) chain.push_back(chain.back()->get_subcommands().front());
  return chain;
}

// "fabtwin yield mc"
std::string command_path(const std::vector<CLI::App*>& chain) {
  std::string s = "fabtwin";
  for (std::size_t i = 1; i < chain.size(); ++i) s += " " + chain[i]->get_name();
  return s;
}

std::string subcommand_names(const CLI::App& app) {
  std::string s;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    s += (s.empty() ? "" : ", ") + sub->get_name();
  return s;
}

// One line on stderr: "fabtwin yield mc: MESSAGE (usage: fabtwin yield mc --help)"; exit 2.
int usage_error(const std::vector<CLI::App*>& chain, const std::string& message) {
  const std::string path = command_path(chain);
  std::fprintf(stderr, "%s: %s (usage: %s --help)\n", path.c_str(), message.c_str(), path.c_str());
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("fabtwin: open digital twin of a semiconductor fab", "fabtwin");
  app.footer(kExitCodesHelp);
  // Unknown arguments are kept (not thrown) so that they are reported in one line naming them.
  app.allow_extras();
  app.require_subcommand(0, 1);  // inherited: one subcommand per level
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // the last value wins
  Commands commands;
  add_model_commands(app, commands);
  add_simulate_command(app, commands);
  add_yield_commands(app, commands);
  add_twin_commands(app, commands);
  add_whatif_commands(app, commands);
  add_flow_commands(app, commands);
#if FABTWIN_HAVE_LIVE
  add_store_commands(app, commands);
#endif
#if FABTWIN_HAVE_SERVER
  add_serve_command(app, commands);
  add_watch_command(app, commands);
#endif
  CLI::App* help = add_command(app, "help", "Print this help, or with COMMAND... that command's");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);  // the help of the innermost command given, on stdout, exit 0
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return usage_error(selected_chain(app), e.what());
  }

  const auto chain = selected_chain(app);
  CLI::App* leaf = chain.back();
  // `fabtwin help [COMMAND...]`: the help of that command, on stdout.
  if (leaf == help) {
    std::vector<CLI::App*> target{&app};
    for (const auto& name : help->remaining()) {
      CLI::App* sub = nullptr;
      try {
        sub = target.back()->get_subcommand(name);
      } catch (const CLI::OptionNotFound&) {
        std::string asked;
        for (std::size_t k = 1; k < target.size(); ++k) asked += target[k]->get_name() + " ";
        return usage_error(chain, "no command '" + asked + name + "'");
      }
      target.push_back(sub);
    }
    const std::string path = command_path(target);
    std::fputs(
        target.back()->get_formatter()->make_help(target.back(), path, CLI::AppFormatMode::Normal).c_str(),
        stdout);
    return kExitOk;
  }
  // Arguments nobody took: an unknown option, a stray value, an unknown (sub)command.
  for (CLI::App* a : chain) {
    const auto extra = a->remaining();
    if (extra.empty()) continue;
    const std::string& x = extra.front();
    if (x.size() > 1 && x[0] == '-') return usage_error(chain, "unknown option " + x);
    if (a == &app) return usage_error(chain, "unknown command '" + x + "' (" + subcommand_names(app) + ")");
    if (a == leaf && !a->get_subcommands([](const CLI::App*) { return true; }).empty())
      return usage_error(chain, "unknown subcommand '" + x + "' (" + subcommand_names(*a) + ")");
    return usage_error(chain, "unexpected argument '" + x + "'");
  }
  if (leaf == &app) {  // no command: the help, as an error
    std::fputs(app.get_formatter()->make_help(&app, "fabtwin", CLI::AppFormatMode::Normal).c_str(), stderr);
    return kExitUsage;
  }
  const Command* command = nullptr;
  for (const auto& c : commands)
    if (c.app == leaf) command = &c;
  if (!command) return usage_error(chain, "missing subcommand (" + subcommand_names(*leaf) + ")");

  try {
    return command->run();
  } catch (const UsageError& e) {
    return usage_error(chain, e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", command_path(chain).c_str(), e.what());
    return kExitFailure;
  }
}
