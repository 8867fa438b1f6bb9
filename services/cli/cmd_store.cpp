// fabtwin store info --db FILE [--json]
// fabtwin store export --db FILE --out events.jsonl
// fabtwin store state --model PATH --db FILE --state-out FILE
// The live twin's event store (docs/operations.md): what it holds, and its events as JSON lines
// that `fabtwin replay` turns back into the twin. Built only with the services (SQLite).
#if FABTWIN_HAVE_LIVE
#include <cstdio>
#include <fstream>
#include <memory>

#include "commands.hpp"
#include "fabtwin/io/json.hpp"
#include "fabtwin/io/load.hpp"
#include "fabtwin/io/output_file.hpp"
#include "fabtwin/live/live_twin.hpp"
#include "fabtwin/live/store.hpp"
#include "fabtwin/twin/state_file.hpp"

namespace fabtwin::cli {

namespace {

live::Store open_store(const std::string& db) {
  auto s = live::Store::open_existing(db, true);
  if (!s.ok()) throw std::runtime_error(s.error().what());
  return std::move(s.value());
}

struct InfoArgs {
  std::string db;
  bool json = false;
};

int info(const InfoArgs& a) {
  const live::Store store = open_store(a.db);
  auto c = store.counts();
  if (!c.ok()) throw std::runtime_error(c.error().what());
  const auto meta = store.meta();
  if (a.json) {
    io::json::Value v = io::json::Value::object();
    v.add("db", a.db);
    io::json::Value& m = v.add("meta", io::json::Value::object());
    for (const auto& [k, x] : meta) m.add(k, x);
    io::json::Value& e = v.add("events", io::json::Value::object());
    e.add("stored", c->events);
    e.add("applied", c->applied);
    e.add("late", c->late);
    e.add("refused", c->refused);
    e.add("duplicate", c->duplicates);
    e.add("last_seq", c->last_seq);
    v.add("checkpoints", c->checkpoints);
    if (c->newest_checkpoint_seq) v.add("newest_checkpoint_seq", *c->newest_checkpoint_seq);
    v.add("lot_steps", c->lot_steps);
    v.add("yield_lots", c->yield_lots);
    v.add("yield_wafers", c->yield_wafers);
    v.add("whatif_jobs", c->whatif_jobs);
    std::printf("%s\n", io::json::write(v).c_str());
    return 0;
  }
  std::printf("store %s\n", a.db.c_str());
  for (const auto& [k, x] : meta) std::printf("  %-24s %s\n", k.c_str(), x.c_str());
  std::printf(
      "events stored %llu (last seq %llu): applied %llu, late %llu, refused %llu; duplicates %llu (not "
      "stored)\n",
      static_cast<unsigned long long>(c->events), static_cast<unsigned long long>(c->last_seq),
      static_cast<unsigned long long>(c->applied), static_cast<unsigned long long>(c->late),
      static_cast<unsigned long long>(c->refused), static_cast<unsigned long long>(c->duplicates));
  std::printf("checkpoints %llu", static_cast<unsigned long long>(c->checkpoints));
  if (c->newest_checkpoint_seq)
    std::printf(" (newest after event seq %llu)", static_cast<unsigned long long>(*c->newest_checkpoint_seq));
  std::printf("\nlot steps %llu\n", static_cast<unsigned long long>(c->lot_steps));
  std::printf("yield records: %llu lots, %llu wafers\n", static_cast<unsigned long long>(c->yield_lots),
              static_cast<unsigned long long>(c->yield_wafers));
  std::printf("what-if jobs: %llu\n", static_cast<unsigned long long>(c->whatif_jobs));
  return 0;
}

struct ExportArgs {
  std::string db, out;
};

int export_events(const ExportArgs& a) {
  const live::Store store = open_store(a.db);
  std::ofstream out(a.out, std::ios::binary);
  if (!out) throw io::OutputError(a.out, "cannot open for writing");
  auto n = store.export_events(out);
  if (!n.ok()) throw std::runtime_error(n.error().what());
  out.close();
  if (!out) throw io::OutputError(a.out, "write failed");
  std::printf("%llu events -> %s\n", static_cast<unsigned long long>(n.value()), a.out.c_str());
  return 0;
}

struct StateArgs {
  std::string model, db, state_out;
};

// The twin a server restarted on this store would hold (LiveTwin::open: the newest checkpoint,
// then the events after it), under the options the store was created with.
int state(const StateArgs& a) {
  live::LiveOptions o;
  {
    const live::Store store = open_store(a.db);
    const auto meta = [&](const char* key) { return store.meta_value(key).value_or(""); };
    o.sim.seed = std::stoull(meta("seed").empty() ? "1" : meta("seed"));
    o.sim.rule = meta("rule");
    o.sim.mode = meta("mode") == "autonomous" ? des::Mode::Autonomous : des::Mode::Follow;
  }
  auto m = io::load_model(a.model);
  if (!m.ok()) throw std::runtime_error(m.error().what());
  o.db_path = a.db;
  o.checkpoint_at_close = false;  // leaves the store as it was
  o.checkpoint_every_events = 0;
  o.checkpoint_every_s = 0;
  auto twin = live::LiveTwin::open(m.value(), o);
  if (!twin.ok()) throw std::runtime_error(twin.error().what());
  const std::string text =
      twin.value()->read([](const des::Simulation& sim) { return twin::state_text(sim); });
  if (auto w = io::write_file(a.state_out, text); !w.ok())
    throw io::OutputError(a.state_out, w.error().message);
  const live::Recovery& r = twin.value()->recovery();
  std::printf("%s: version %llu at %lld ms (checkpoint ", a.db.c_str(),
              static_cast<unsigned long long>(twin.value()->version()),
              static_cast<long long>(twin.value()->now().time_since_epoch().count()));
  if (r.checkpoint_seq)
    std::printf("after event seq %llu", static_cast<unsigned long long>(*r.checkpoint_seq));
  else
    std::printf("none");
  std::printf(", %llu events replayed) -> %s\n", static_cast<unsigned long long>(r.events_replayed),
              a.state_out.c_str());
  return 0;
}

}  // namespace

void add_store_commands(CLI::App& root, Commands& out) {
  CLI::App* store = add_command(root, "store", "The live twin's event store (SQLite): info | export | state");
  {
    auto a = std::make_shared<InfoArgs>();
    CLI::App* c =
        add_command(*store, "info", "What a store holds",
                    "The meta table (schema version, model, options), events by outcome,\n"
                    "duplicates, checkpoints and lot steps. Reads only; safe while a server writes.");
    required(c->add_option("--db", a->db, "the store file")->type_name("FILE"));
    c->add_flag("--json", a->json, "print as JSON");
    out.push_back({c, [a] { return info(*a); }});
  }
  {
    auto a = std::make_shared<ExportArgs>();
    CLI::App* c =
        add_command(*store, "export", "The stored events as JSON lines, in arrival order",
                    "Refused events included, duplicates never stored: `fabtwin replay --events`\n"
                    "of the export rebuilds the twin. Reads a snapshot; safe while a server writes.");
    required(c->add_option("--db", a->db, "the store file")->type_name("FILE"));
    required(c->add_option("--out", a->out, "the events file to write (JSON lines)")->type_name("FILE"));
    out.push_back({c, [a] { return export_events(*a); }});
  }
  {
    auto a = std::make_shared<StateArgs>();
    CLI::App* c = add_command(
        *store, "state", "The twin a restart on the store gives, as a state file",
        "Opens the store as `fabtwin serve` does after a restart (the newest checkpoint, then the events\n"
        "after it, under the options the store was created with) and writes the twin's state (sorted\n"
        "text, as `replay --state-out`). Writes nothing to the store; do not run it while a server\n"
        "writes to it.");
    required(c->add_option("--model", a->model, "the model the store belongs to")->type_name("PATH"));
    required(c->add_option("--db", a->db, "the store file")->type_name("FILE"));
    required(c->add_option("--state-out", a->state_out, "the state file to write")->type_name("FILE"));
    out.push_back({c, [a] { return state(*a); }});
  }
}

}  // namespace fabtwin::cli
#endif  // FABTWIN_HAVE_LIVE
