// fabtwin store info --db FILE [--json]
// fabtwin store export --db FILE --out events.jsonl
// The live twin's event store (docs/operations.md): what it holds, and its events as JSON lines
// that `fabtwin replay` turns back into the twin. Built only with the services (SQLite).
#if FABTWIN_HAVE_LIVE
#include <cstdio>
#include <fstream>
#include <memory>

#include "commands.hpp"
#include "fabtwin/io/json.hpp"
#include "fabtwin/io/output_file.hpp"
#include "fabtwin/live/store.hpp"

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

}  // namespace

void add_store_commands(CLI::App& root, Commands& out) {
  CLI::App* store = add_command(root, "store", "The live twin's event store (SQLite): info | export");
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
}

}  // namespace fabtwin::cli
#endif  // FABTWIN_HAVE_LIVE
