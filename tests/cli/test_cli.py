#!/usr/bin/env python3
"""Command-line tests of `fabtwin`: outputs, files and exit codes (standard library only).

usage: test_cli.py FABTWIN_BINARY SOURCE_DIR DATA_DIR
"""
import csv
import json
import os
import subprocess
import sys
import tempfile

FAB, SRC, DATA = sys.argv[1], sys.argv[2], sys.argv[3]
HVLM, LVHM = os.path.join(DATA, "SMT2020_HVLM"), os.path.join(DATA, "SMT2020_LVHM")
MINIFAB = os.path.join(SRC, "twin_models", "minifab.json")
failures = []
passed = 0


def run(*args):
    p = subprocess.run([FAB, *args], capture_output=True, text=True, timeout=600)
    return p.returncode, p.stdout, p.stderr


def check(name, cond, detail=""):
    global passed
    if cond:
        passed += 1
    else:
        failures.append(f"{name}: {detail}")
        print(f"FAILED: {name}: {detail}", file=sys.stderr)


# model show: the figures the foundation issue requires.
rc, out, err = run("model", "show", HVLM, "--json")
check("show hvlm exit", rc == 0, err)
m = json.loads(out) if rc == 0 else {}
check("hvlm tool groups", m.get("tool_groups") == 106, m.get("tool_groups"))
check("hvlm tools", m.get("tools") == 1443, m.get("tools"))
check("hvlm real/delay tools", (m.get("real_tools"), m.get("delay_tools")) == (1043, 400))
check("hvlm routes", sorted(m.get("routes", {}).values()) == [343, 583], m.get("routes"))
check("hvlm products", m.get("products") == 2)
check("hvlm wip", m.get("wip_lots") == 2255, m.get("wip_lots"))
rc, out, err = run("model", "show", LVHM, "--json")
m = json.loads(out) if rc == 0 else {}
check("lvhm", (m.get("tool_groups"), m.get("tools"), len(m.get("routes", {})), m.get("wip_lots")) == (106, 1313, 10, 2156), m)
rc, out, err = run("model", "show", MINIFAB)
check("show minifab text", rc == 0 and "part_A" in out and "tool groups" in out, out + err)

with tempfile.TemporaryDirectory() as tmp:
    # convert -> show gives the same summary
    conv = os.path.join(tmp, "hvlm.json")
    rc, out, err = run("model", "convert", HVLM, "--out", conv)
    check("convert exit", rc == 0, err)
    rc1, a, _ = run("model", "show", HVLM, "--json")
    rc2, b, _ = run("model", "show", conv, "--json")
    ja, jb = json.loads(a), json.loads(b)
    check("convert keeps the model", {k: v for k, v in ja.items()} == jb, (ja, jb))

    # simulate: the KPI object and the four files
    outdir = os.path.join(tmp, "sim")
    rc, out, err = run("simulate", "--model", MINIFAB, "--days", "60", "--rule", "cr", "--seed", "3", "--out", outdir, "--json")
    check("simulate exit", rc == 0, err)
    k = json.loads(out) if rc == 0 else {}
    pa = k.get("products", {}).get("part_A", {})
    check("kpi keys", all(x in pa for x in ("completed_lots", "cycle_time_days", "x_factor", "on_time")), pa)
    check("kpi percentiles", all(x in pa.get("cycle_time_days", {}) for x in ("mean", "p50", "p90", "p99")), pa)
    check("kpi counts", pa.get("completed_lots", 0) > 100 and k.get("events", 0) > 1000 and "wall_seconds" in k, k.keys())
    for f, col in (("kpis.json", None), ("lots.csv", "cycle_time_days"), ("toolgroups.csv", "productive"), ("wip.csv", "lots")):
        p = os.path.join(outdir, f)
        check(f"wrote {f}", os.path.exists(p))
        if col and os.path.exists(p):
            with open(p) as fh:
                rows = list(csv.DictReader(fh))
            check(f"{f} has {col}", rows and col in rows[0], rows[:1])
    # --history: every performed step of every lot; a completed lot's rows match its step count
    hdir = os.path.join(tmp, "hist")
    rc, out, err = run("simulate", "--model", MINIFAB, "--days", "30", "--out", hdir, "--history", "--quiet")
    check("history exit", rc == 0, err)
    with open(os.path.join(hdir, "history.csv")) as fh:
        hist = list(csv.DictReader(fh))
    with open(os.path.join(hdir, "lots.csv")) as fh:
        done = list(csv.DictReader(fh))
    per_lot = {}
    for r in hist:
        per_lot[r["lot"]] = per_lot.get(r["lot"], 0) + 1
        if float(r["start_day"]) < float(r["queued_day"]) or float(r["end_day"]) < float(r["start_day"]):
            check("history times ordered", False, r)
            break
    check("history covers completed lots", done and all(per_lot.get(d["lot"]) == int(d["steps"]) for d in done),
          [(d["lot"], d["steps"], per_lot.get(d["lot"])) for d in done[:3]])
    rc, out, err = run("simulate", "--model", MINIFAB, "--days", "5", "--history")
    check("history needs --out", rc == 2 and "--out" in err, err)

    # same seed, same lots.csv
    outdir2 = os.path.join(tmp, "sim2")
    run("simulate", "--model", MINIFAB, "--days", "60", "--rule", "cr", "--seed", "3", "--out", outdir2, "--quiet")
    check("same seed same lots.csv", open(os.path.join(outdir, "lots.csv")).read() == open(os.path.join(outdir2, "lots.csv")).read())

    # yield
    rc, out, err = run("yield", "mc", "--wafers", "2000", "--d0", "0.2", "--alpha", "2", "--die-mm", "10", "10", "--json")
    y = json.loads(out) if rc == 0 else {}
    check("yield mc keys", all(x in y for x in ("wafers", "dies", "die_yield", "dies_per_second")), out + err)
    ydir = os.path.join(tmp, "yield")
    rc, out, err = run("yield", "run", "--model", MINIFAB, "--days", "20", "--out", ydir, "--json", "--threads", "1", "--maps")
    check("yield run exit", rc == 0, err)
    for f in ("wafers.csv", "tools.csv", "commonality.csv", "yield.json"):
        check(f"yield run wrote {f}", os.path.exists(os.path.join(ydir, f)))
    yj = json.loads(out) if rc == 0 else {}
    pics = yj.get("pictures", [])
    check("yield run pictures", "stacked_part_A.png" in pics and "worst_wafer.png" in pics, pics)
    for p in pics:
        with open(os.path.join(ydir, p), "rb") as fh:
            check(f"{p} is a PNG", fh.read(8) == b"\x89PNG\r\n\x1a\n")
    with open(os.path.join(ydir, "wafers.csv")) as fh:
        wafers = list(csv.DictReader(fh))
    check("wafers.csv: 25 wafers per lot", wafers and len(wafers) == 25 * len({w["lot"] for w in wafers}), len(wafers))
    check("yield.json totals", yj.get("wafers") == len(wafers), (yj.get("wafers"), len(wafers)))
    # commonality.csv: every level's tests, ranked by p_adjusted; the counts match yield.json.
    with open(os.path.join(ydir, "commonality.csv")) as fh:
        com = list(csv.DictReader(fh))
    COM_COLS = ["rank", "level", "level_rank", "route", "step", "step_description", "tool", "tool_group", "lots_in",
                "lots_out", "wafers_in", "wafers_out", "yield_in", "yield_out", "difference", "effect", "statistic",
                "df1", "df2", "p", "p_adjusted", "significant"]
    check("commonality.csv columns", com and list(com[0].keys()) == COM_COLS, com[0].keys() if com else com)
    levels = {r["level"] for r in com}
    check("commonality.csv: three levels", levels == {"step_tool", "tool", "tool_group"}, levels)
    check("commonality.csv: ranked by p_adjusted",
          all(float(a["p_adjusted"]) <= float(b["p_adjusted"]) for a, b in zip(com, com[1:])))
    check("commonality.csv: step only at step_tool level", all((r["step"] != "") == (r["level"] == "step_tool") for r in com))
    check("commonality.csv: F tests carry df2", all((float(r["df2"]) > 0) == (r["level"] == "tool_group") for r in com))
    check("yield.json levels match the CSV",
          all(yj.get("levels", {}).get(l, {}).get("tested") == sum(r["level"] == l for r in com) for l in levels),
          yj.get("levels"))
    rc, out, err = run("yield", "run", "--model", MINIFAB, "--days", "20", "--out", ydir, "--json", "--threads", "1",
                       "--levels", "tool_group,tool")
    with open(os.path.join(ydir, "commonality.csv")) as fh:
        levels = {r["level"] for r in csv.DictReader(fh)}
    check("yield run --levels tool_group,tool", rc == 0 and levels == {"tool", "tool_group"}, (rc, err, levels))
    # yield power on the mini-fab: a tool at 300x its area's density is found at every level.
    pcsv = os.path.join(tmp, "power.csv")
    rc, out, err = run("yield", "power", "--model", MINIFAB, "--days", "20", "--tools", "Diffusion_AB_2",
                       "--multipliers", "1,300", "--seeds", "1,2", "--threads", "1", "--json", "--out", pcsv)
    pj = json.loads(out) if rc == 0 else {}
    tool = (pj.get("tools") or [{}])[0]
    check("yield power: exit 0, found at 300x at every level",
          rc == 0 and all(tool.get(l, {}).get("all_seeds") == 300 for l in ("step_tool", "tool", "tool_group")),
          (rc, err, tool))
    check("yield power: one run per seed and multiplier", len(pj.get("runs", [])) == 4, pj.get("runs"))
    with open(pcsv) as fh:
        prow = list(csv.DictReader(fh))
    check("yield power --out: a row per run and level", len(prow) == 12 and set(prow[0]) >= {"level", "rank", "found"},
          prow[:2])

# bad input: exit 2 for bad arguments, 1 for a failure while running, one clear line
for args, code, needle in (
    (("simulate", "--model", MINIFAB), 2, "--days"),
    (("simulate", "--model", MINIFAB, "--days", "x"), 2, "not a number"),
    (("simulate", "--model", MINIFAB, "--days", "5", "--rule", "lifo"), 2, "unknown dispatch rule"),
    (("simulate", "--model", MINIFAB, "--days", "5", "--bogus"), 2, "unknown option --bogus"),
    (("simulate", "--model", MINIFAB, "--days", "5", "stray"), 2, "unexpected argument 'stray'"),
    (("simulate", "--model", MINIFAB, "--days", "5", "--warmup", "5"), 2, "--warmup"),
    (("simulate", "--model", "/nonexistent/model.json", "--days", "5"), 1, "/nonexistent/model.json"),
    (("model", "show"), 2, "usage"),
    (("model", "convert", MINIFAB, "--out", "/dev/full"), 1, "/dev/full"),
    (("frobnicate",), 2, "unknown command"),
    (("yield",), 2, "missing subcommand"),
    (("yield", "bogus"), 2, "unknown subcommand 'bogus'"),
    (("yield", "mc", "--wafers", "10", "--d0", "0.2", "--alpha", "2", "--die-mm", "10"), 2, "--die-mm"),
    (("yield", "map", "--wafers", "10", "--d0", "0.2", "--alpha", "2", "--die-mm", "10", "10", "--out", "/tmp/x.png",
      "--wafer", "10"), 2, "--wafer"),
    (("yield", "run", "--model", MINIFAB, "--days", "5", "--out", "/tmp/x", "--plant", "nope=2"), 2, "nope"),
    (("yield", "run", "--model", MINIFAB, "--days", "5", "--out", "/tmp/x", "--rule", "lifo"), 2, "--rule"),
    (("yield", "run", "--model", MINIFAB, "--days", "5", "--out", "/tmp/x", "--params", "/nonexistent/p.json"), 1,
     "/nonexistent/p.json"),
    (("yield", "run", "--model", MINIFAB, "--days", "5", "--out", "/tmp/x", "--levels", "tool,pair"), 2, "--levels"),
    (("yield", "power", "--model", MINIFAB, "--days", "5", "--tools", "Litho_E_1,nope"), 2, "nope"),
    (("yield", "power", "--model", MINIFAB, "--days", "5", "--tools", "Litho_E_1,"), 2, "--tools"),
    (("yield", "power", "--model", MINIFAB, "--days", "5", "--tools", "Litho_E_1", "--multipliers", "5,3"), 2,
     "--multipliers"),
    (("yield", "power", "--model", MINIFAB, "--days", "5", "--tools", "Litho_E_1", "--multipliers", "0,3"), 2,
     "--multipliers"),
    (("yield", "power", "--model", MINIFAB, "--days", "5", "--tools", "Litho_E_1", "--seeds", "1,1"), 2, "--seeds"),
    (("yield", "power", "--model", MINIFAB, "--days", "5"), 2, "--tools"),
):
    rc, out, err = run(*args)
    check(f"exit {args}", rc == code, f"rc {rc} stderr {err!r}")
    check(f"message {args}", needle in err and err.count("\n") == 1, err)

# Checkpoints: HVLM to day 30 with --save-state, --resume to day 60: the same bytes of lots.csv,
# toolgroups.csv, kpis.json and wip.csv as a straight run to day 60; mismatched options refused.
with tempfile.TemporaryDirectory() as tmp:
    hvlm = os.path.join(DATA, "SMT2020_HVLM")
    state = os.path.join(tmp, "day30.state")
    rc, out, err = run("simulate", "--model", hvlm, "--days", "30", "--seed", "3", "--quiet", "--save-state", state)
    check("save-state: exit 0", rc == 0 and os.path.getsize(state) > 1000, (rc, err))
    rc, out, err = run("simulate", "--resume", state, "--days", "60", "--quiet", "--out", os.path.join(tmp, "resumed"))
    check("resume: exit 0", rc == 0, (rc, err))
    rc, out, err = run("simulate", "--model", hvlm, "--days", "60", "--seed", "3", "--quiet", "--out", os.path.join(tmp, "straight"))
    check("straight run: exit 0", rc == 0, (rc, err))
    for name in ("lots.csv", "toolgroups.csv", "kpis.json", "wip.csv"):
        with open(os.path.join(tmp, "resumed", name), "rb") as a, open(os.path.join(tmp, "straight", name), "rb") as b:
            check(f"resume gives the same {name}", a.read() == b.read())
    rc, out, err = run("simulate", "--resume", state, "--days", "60", "--seed", "4")
    check("resume with another seed: exit 2 naming it", rc == 2 and "seed" in err, (rc, err))
    rc, out, err = run("simulate", "--resume", state, "--days", "60", "--model", MINIFAB)
    check("resume with another model: exit 1 naming it", rc == 1 and "model" in err, (rc, err))
    rc, out, err = run("simulate", "--resume", state, "--days", "20")
    check("resume to a day already past: exit 2", rc == 2 and "--days" in err, (rc, err))
    with open(state, "r+b") as fh:
        fh.seek(-100, 2)
        fh.write(b"x" * 10)
    rc, out, err = run("simulate", "--resume", state, "--days", "60")
    check("resume of a damaged state file: exit 1", rc == 1 and "checksum" in err, (rc, err))

# emulate -> replay on the mini-fab: the replayed twin's state file equals the emulator's; with
# events deleted the replay reports refusals with line numbers; a damaged line is named.
with tempfile.TemporaryDirectory() as tmp:
    ev, emu, rep = (os.path.join(tmp, n) for n in ("ev.jsonl", "emu.state", "rep.state"))
    rc, out, err = run("emulate", "--model", MINIFAB, "--days", "20", "--seed", "2", "--events-out", ev, "--state-out", emu)
    check("emulate: exit 0", rc == 0 and "events" in out, (rc, err))
    rc, out, err = run("replay", "--model", MINIFAB, "--events", ev, "--until-day", "20", "--state-out", rep, "--json")
    report = json.loads(out) if rc == 0 else {}
    check("replay: exit 0, all applied", rc == 0 and report.get("refused") == 0 and report.get("applied", 0) > 100, (rc, err, out[:300]))
    with open(emu) as a, open(rep) as b:
        check("replay state equals the emulator's", a.read() == b.read())
    with open(ev) as fh:
        lines = fh.readlines()
    cut = os.path.join(tmp, "cut.jsonl")
    with open(cut, "w") as fh:
        fh.writelines(l for i, l in enumerate(lines) if i % 20 != 7)
        fh.write('{"id": "bad", "kind": "teleport"}\n')
    rc, out, err = run("replay", "--model", MINIFAB, "--events", cut, "--json")
    report = json.loads(out) if rc == 0 else {}
    check("replay of a file with events deleted: exit 0, refusals listed with lines",
          rc == 0 and report.get("refused", 0) > 0 and all("line" in r and "reason" in r for r in report.get("refusals", [])),
          (rc, err))
    check("replay counts add up", report.get("applied", 0) + report.get("refused", 0) + report.get("duplicate", 0) == report.get("events_read", -1), report)
    check("a damaged line is reported as malformed", any(r.get("reason") == "malformed" for r in report.get("refusals", [])), report.get("refusals", [])[-3:])

# A model the simulator refuses when the run is created (33 PM calendars on one tool; at most 32):
# a failure while running, exit 1, naming the cause.
with tempfile.TemporaryDirectory() as tmp:
    with open(MINIFAB) as fh:
        mf = json.load(fh)
    first = next(a for a in mf["attachments"] if "pm_calendar" in a)
    mf["attachments"] += [dict(first) for _ in range(33)]
    refused = os.path.join(tmp, "refused.json")
    with open(refused, "w") as fh:
        json.dump(mf, fh)
    rc, out, err = run("simulate", "--model", refused, "--days", "1")
    check("model refused at create: exit 1", rc == 1 and "PM calendars" in err and err.count("\n") == 1, (rc, err))
    rc, out, err = run("yield", "run", "--model", refused, "--days", "1", "--out", os.path.join(tmp, "y"))
    check("yield run, model refused at create: exit 1", rc == 1 and "PM calendars" in err, (rc, err))

# store info / store export (built with the services only): a store written by hand to the schema in
# docs/operations.md ("Store schema") is read back; what is not a store is refused in one line.
if "store" in run("--help")[1].replace(",", " ").split():
    import sqlite3
    with tempfile.TemporaryDirectory() as tmp:
        ev = os.path.join(tmp, "ev.jsonl")
        rc, out, err = run("emulate", "--model", MINIFAB, "--days", "3", "--events-out", ev)
        check("store: emulate exit 0", rc == 0, (rc, err))
        with open(ev) as fh:
            lines = [l.rstrip("\n") for l in fh if l.strip()]
        db = os.path.join(tmp, "twin.db")
        con = sqlite3.connect(db)
        con.executescript("""
            CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
            CREATE TABLE events(seq INTEGER PRIMARY KEY, id TEXT UNIQUE, stamp INTEGER, applied_at INTEGER,
              received_unix_ms INTEGER, kind TEXT, payload TEXT, outcome TEXT, reason TEXT, field TEXT, message TEXT);
            CREATE TABLE checkpoints(seq INTEGER PRIMARY KEY, version INTEGER, sim_time INTEGER,
              created_unix_ms INTEGER, state BLOB);
            CREATE TABLE lot_steps(lot TEXT, product TEXT, route TEXT, step INTEGER, tool TEXT, track_in INTEGER,
              track_out INTEGER, wafers INTEGER, seq INTEGER);
            PRAGMA journal_mode = WAL;""")
        con.executemany("INSERT INTO meta VALUES (?, ?)", [("schema_version", "1"), ("model_name", "minifab"),
                                                            ("model_fingerprint", "1"), ("duplicates", "4")])
        for i, l in enumerate(lines):
            e = json.loads(l)
            con.execute("INSERT INTO events(seq, id, stamp, applied_at, received_unix_ms, kind, payload, outcome) "
                        "VALUES (?, ?, 0, 0, 0, ?, ?, ?)", (i + 1, e["id"], e["kind"], l, "late" if i == 5 else "applied"))
        con.execute("INSERT INTO checkpoints VALUES (10, 1, 0, 0, x'00')")
        con.commit()
        rc, out, err = run("store", "info", "--db", db, "--json")
        info = json.loads(out) if rc == 0 else {}
        check("store info: exit 0, counts by outcome",
              rc == 0 and info.get("events") == {"stored": len(lines), "applied": len(lines) - 1, "late": 1,
                                                   "refused": 0, "duplicate": 4, "last_seq": len(lines)}
              and info.get("checkpoints") == 1 and info.get("meta", {}).get("model_name") == "minifab", (rc, err, out))
        rc, out, err = run("store", "info", "--db", db)
        check("store info (text): exit 0", rc == 0 and "duplicates 4" in out and "schema_version" in out, (rc, err, out))
        exp = os.path.join(tmp, "export.jsonl")
        rc, out, err = run("store", "export", "--db", db, "--out", exp)
        with open(exp) as fh:
            exported = fh.read().splitlines()
        check("store export: the payloads in seq order", rc == 0 and exported == lines, (rc, err))
        con.execute("UPDATE meta SET value = '9' WHERE key = 'schema_version'")
        con.commit()
        con.close()
        rc, out, err = run("store", "info", "--db", db)
        check("store info, another schema version: exit 1 naming it",
              rc == 1 and "schema version 9" in err and err.count("\n") == 1, (rc, err))
        rc, out, err = run("store", "export", "--db", ev, "--out", exp)
        check("store export of a file that is not SQLite: exit 1 naming it",
              rc == 1 and ev in err and "not a SQLite database" in err and err.count("\n") == 1, (rc, err))
        rc, out, err = run("store", "info")
        check("store info without --db: exit 2", rc == 2 and "--db" in err, (rc, err))

# Every command and subcommand: --help exits 0 on stdout and lists every option the command parses.
HELP = {
    (): ["model", "simulate", "yield", "emulate", "replay", "help"],
    ("help",): ["model", "simulate", "yield", "emulate", "replay", "help"],
    ("model",): ["show", "convert"],
    ("model", "show"): ["PATH", "--json"],
    ("model", "convert"): ["PATH", "--out"],
    ("simulate",): ["--model", "--days", "--rule", "--seed", "--warmup", "--include-wip", "--out", "--history",
                    "--json", "--quiet", "--save-state", "--resume"],
    ("emulate",): ["--model", "--days", "--seed", "--rule", "--noise", "--events-out", "--state-out"],
    ("replay",): ["--model", "--events", "--until-day", "--state-out", "--json"],
    ("yield",): ["mc", "map", "run", "power"],
    ("yield", "mc"): ["--wafers", "--d0", "--alpha", "--die-mm", "--edge-exclusion", "--seed", "--backend",
                      "--threads", "--json"],
    ("yield", "map"): ["--wafers", "--d0", "--alpha", "--die-mm", "--edge-exclusion", "--seed", "--backend",
                       "--threads", "--out", "--stacked", "--wafer", "--centre", "--edge-ring", "--scratch",
                       "--probability", "--size"],
    ("yield", "run"): ["--model", "--days", "--out", "--rule", "--seed", "--params", "--plant", "--levels",
                       "--backend", "--threads", "--maps", "--json", "--quiet"],
    ("yield", "power"): ["--model", "--days", "--tools", "--multipliers", "--seeds", "--rule", "--params", "--threads",
                         "--out", "--json"],
}
for cmd, names in HELP.items():
    for flag in ("--help", "-h"):
        args = cmd + ((flag,) if cmd != ("help",) else ())
        rc, out, err = run(*args)
        words = set(out.replace(",", " ").split())
        missing = [n for n in names if n not in words]
        check(f"help {args} exit 0", rc == 0 and err == "", (rc, err))
        check(f"help {args} lists its options", not missing and "Usage: fabtwin" in out and "Exit codes" in out,
              missing or out)
    if cmd and cmd != ("help",):  # `fabtwin help CMD...` prints the same text as `fabtwin CMD... --help`
        rc, out, err = run("help", *cmd)
        check(f"help {cmd}", rc == 0 and out == run(*cmd, "--help")[1], (rc, err))
rc, out, err = run("help", "yield", "bogus")
check("help of an unknown command: exit 2", rc == 2 and "yield bogus" in err and err.count("\n") == 1, (rc, err))

# Every numeric option, given a malformed number (or one out of its range): exit 2 and one line
# naming the option.
SIM = {"--model": MINIFAB, "--days": "5"}
MC = {"--wafers": "10", "--d0": "0.2", "--alpha": "2", "--die-mm": ("10", "10")}
MAP = dict(MC, **{"--out": "/tmp/fabtwin_never_written.png"})
RUN = {"--model": MINIFAB, "--days": "5", "--out": "/tmp/fabtwin_never_written"}
POWER = {"--model": MINIFAB, "--days": "5", "--tools": "Litho_E_1"}
EMU = {"--model": MINIFAB, "--days": "5", "--events-out": "/tmp/fabtwin_never_written.jsonl"}
REP = {"--model": MINIFAB, "--events": "/tmp/fabtwin_never_read.jsonl"}
MALFORMED = ("2x", "1e", "0x10", "nan", "inf", " 5", "", "--")
NUMERIC = (
    (("simulate",), SIM, "--days", MALFORMED + ("0", "-1")),
    (("simulate",), SIM, "--seed", MALFORMED + ("-3", "1.5", "99999999999999999999")),
    (("simulate",), SIM, "--warmup", MALFORMED + ("-1",)),
    (("yield", "mc"), MC, "--wafers", MALFORMED + ("0", "-3", "2.5")),
    (("yield", "mc"), MC, "--d0", MALFORMED + ("-0.1",)),
    (("yield", "mc"), MC, "--alpha", MALFORMED + ("-1",)),
    (("yield", "mc"), MC, "--edge-exclusion", MALFORMED + ("-1",)),
    (("yield", "mc"), MC, "--seed", MALFORMED + ("-3",)),
    (("yield", "mc"), MC, "--threads", MALFORMED + ("-1", "100000")),
    (("yield", "map"), MAP, "--wafer", MALFORMED + ("-1",)),
    (("yield", "map"), MAP, "--centre", MALFORMED + ("-1",)),
    (("yield", "map"), MAP, "--edge-ring", MALFORMED + ("-1",)),
    (("yield", "map"), MAP, "--scratch", MALFORMED + ("-1",)),
    (("yield", "map"), MAP, "--probability", MALFORMED + ("1.5", "-0.5")),
    (("yield", "map"), MAP, "--size", MALFORMED + ("10", "9000")),
    (("yield", "run"), RUN, "--days", MALFORMED + ("0",)),
    (("yield", "run"), RUN, "--seed", MALFORMED + ("-3",)),
    (("yield", "run"), RUN, "--threads", MALFORMED + ("-1",)),
    (("yield", "power"), POWER, "--days", MALFORMED + ("0",)),
    (("yield", "power"), POWER, "--threads", MALFORMED + ("-1",)),
    (("yield", "power"), POWER, "--multipliers", MALFORMED + ("-1", "2,1e7")),
    (("yield", "power"), POWER, "--seeds", MALFORMED + ("-3", "1.5")),
    (("emulate",), EMU, "--days", MALFORMED + ("0", "-1")),
    (("emulate",), EMU, "--seed", MALFORMED + ("-3",)),
    (("emulate",), EMU, "--noise", MALFORMED + ("-0.5",)),
    (("replay",), REP, "--until-day", MALFORMED + ("-1",)),
)


def argv(base, opt, value):
    out = []
    for k, v in dict(base, **{opt: value}).items():
        out += [k, *v] if isinstance(v, tuple) else [k, v]
    return out


for cmd, base, opt, values in NUMERIC:
    for v in values:
        rc, out, err = run(*cmd, *argv(base, opt, v))
        check(f"{' '.join(cmd)} {opt} {v!r}: exit 2 naming the option", rc == 2 and opt in err and err.count("\n") == 1,
              f"rc {rc} stderr {err!r}")
# Two-valued and compound options.
for v in (("10", "1e"), ("2x", "10"), ("0", "10"), ("10", "-1")):
    rc, out, err = run("yield", "mc", *argv(MC, "--die-mm", v))
    check(f"--die-mm {v}: exit 2 naming the option", rc == 2 and "--die-mm" in err and err.count("\n") == 1, err)
for v in ("LITHO_1=2x", "LITHO_1=", "LITHO_1", "=2", "LITHO_1=-1", "LITHO_1=1e9"):
    rc, out, err = run("yield", "run", *argv(RUN, "--plant", v))
    check(f"--plant {v!r}: exit 2 naming the option", rc == 2 and "--plant" in err and err.count("\n") == 1, err)
# Strict numbers are still numbers: decimal forms CLI11 alone would read differently.
rc, out, err = run("yield", "mc", *argv(dict(MC, **{"--seed": "010"}), "--wafers", "0020"), "--json")
y = json.loads(out) if rc == 0 else {}
check("leading zeros are decimal", (y.get("wafers"), y.get("seed")) == (20, 10), (rc, err, y))

# serve (where the services are built): starts on a picked port, a second server on the same port
# is refused naming --listen, SIGTERM stops it cleanly with the store written.
rc, out, err = run("--help")
if " serve " in out or "\n  serve" in out:
    import re
    import signal
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "live.db")
        p = subprocess.Popen([FAB, "serve", "--model", MINIFAB, "--listen", "127.0.0.1:0", "--db", db],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = p.stdout.readline()
        port = re.search(r"\(port (\d+)\)", first)
        check("serve prints its port", port is not None, first)
        if port:
            target = "127.0.0.1:" + port.group(1)
            rc, out, err = run("serve", "--model", MINIFAB, "--listen", target, "--db", os.path.join(tmp, "other.db"))
            check("serve on a port in use: exit 2 naming --listen", rc == 2 and "--listen" in err, (rc, err))
            # emulate --target: every event sent is acknowledged, the ids listed; the events file too.
            acked, evfile = os.path.join(tmp, "acked.txt"), os.path.join(tmp, "ev.jsonl")
            rc, out, err = run("emulate", "--model", MINIFAB, "--days", "20", "--target", target, "--batch", "64",
                               "--acked", acked, "--events-out", evfile)
            m = re.search(r"(\d+) events sent to \S+ in [\d.]+ s: acknowledged (\d+) \(applied (\d+), late 0, "
                          r"duplicate 0, refused 0\), 0 reconnects", out)
            check("emulate --target: exit 0, every event acknowledged and applied",
                  rc == 0 and m is not None and m.group(1) == m.group(2) == m.group(3) and int(m.group(1)) > 100,
                  (rc, out, err))
            with open(acked) as f:
                ids = f.read().split()
            with open(evfile) as f:
                sent_ids = [json.loads(l)["id"] for l in f]
            check("emulate --acked lists the ids of --events-out, in order", ids == sent_ids and len(ids) > 100,
                  (len(ids), len(sent_ids)))
            # watch: a line of figures with the acknowledged events
            rc, out, err = run("watch", "--target", target, "--every", "0.5", "--minutes", "0.02")
            lines = [l for l in out.splitlines() if "lots in fab" in l]
            check("watch prints the figures, events acked as emulated",
                  rc == 0 and lines and f"events acked {len(ids)} " in lines[-1], (rc, out, err))
        rc, out, err = run("emulate", "--model", MINIFAB, "--days", "1")
        check("emulate without --events-out or --target: exit 2", rc == 2 and "--events-out" in err, (rc, err))
        rc, out, err = run("watch", "--target", "127.0.0.1:1", "--every", "0")
        check("watch --every 0: exit 2", rc == 2 and "--every" in err, (rc, err))
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=60)
        check("serve stops on SIGTERM with exit 0", p.returncode == 0 and "stopped" in out, (p.returncode, out, err))
        check("serve wrote its store", os.path.getsize(db) > 0)
        # store state (a restart's twin) equals the replay of the store's events
        exp, st1, st2 = (os.path.join(tmp, f) for f in ("exp.jsonl", "twin.state", "replay.state"))
        rc1, _, e1 = run("store", "export", "--db", db, "--out", exp)
        rc2, _, e2 = run("replay", "--model", MINIFAB, "--events", exp, "--state-out", st2)
        rc3, out, e3 = run("store", "state", "--model", MINIFAB, "--db", db, "--state-out", st1)
        check("store state equals the replay of the export", (rc1, rc2, rc3) == (0, 0, 0) and
              open(st1).read() == open(st2).read() and len(open(st1).read().splitlines()) > 10, (e1, e2, e3))
        rc, out, err = run("serve", "--model", MINIFAB, "--mode", "sideways")
        check("serve --mode sideways: exit 2", rc == 2 and "--mode" in err, (rc, err))

    # Security (docs/operations.md "Security"): --auth tokens and roles; clients' --token-file.
    with tempfile.TemporaryDirectory() as tmp:
        def write(name, text):
            path = os.path.join(tmp, name)
            with open(path, "w") as f:
                f.write(text)
            return path
        auth = write("auth.txt", "# who may do what\nviewer-token-cli-0001 viewer\noperator-token-cli-0002 operator\n")
        viewer, operator = write("viewer.tok", "viewer-token-cli-0001\n"), write("operator.tok", "operator-token-cli-0002\n")
        db = os.path.join(tmp, "live.db")
        rc, out, err = run("serve", "--model", MINIFAB, "--listen", "0.0.0.0:0", "--db", db)
        check("serve on 0.0.0.0 without --auth: exit 2 naming --listen",
              rc == 2 and "--listen" in err and "loopback" in err and not os.path.exists(db), (rc, err))
        bad = write("bad.txt", "# c\nviewer-token-cli-0001 viewer\nviewer-token-cli-0001 analyst\n")
        rc, out, err = run("serve", "--model", MINIFAB, "--listen", "127.0.0.1:0", "--db", db, "--auth", bad)
        check("serve --auth with a repeated token: exit 2 naming file:line, not the token",
              rc == 2 and f"{bad}:3:" in err and "line 2" in err and "viewer-token" not in err, (rc, err))
        rc, out, err = run("serve", "--model", MINIFAB, "--db", db, "--tls-cert", auth)
        check("serve --tls-cert without --tls-key: exit 2", rc == 2 and "--tls-key" in err, (rc, err))
        rc, out, err = run("watch", "--target", "127.0.0.1:1", "--token", "x" * 20, "--token-file", viewer)
        check("watch --token with --token-file: exit 2", rc == 2 and "--token" in err, (rc, err))
        p = subprocess.Popen([FAB, "serve", "--model", MINIFAB, "--listen", "127.0.0.1:0", "--db", db, "--auth", auth],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = p.stdout.readline()
        second = p.stdout.readline()
        port = re.search(r"\(port (\d+)\)", first)
        check("serve --auth says how many tokens", port is not None and "plaintext (no TLS); 2 tokens from" in second,
              first + second)
        if port:
            target = "127.0.0.1:" + port.group(1)
            rc, out, err = run("watch", "--target", target, "--every", "0.5", "--minutes", "0.02")
            check("watch without a token: exit 1, unauthenticated", rc == 1 and "no token" in err, (rc, err))
            rc, out, err = run("watch", "--target", target, "--every", "0.5", "--minutes", "0.02", "--token-file", viewer)
            check("watch with a viewer token: exit 0", rc == 0 and "lots in fab" in out, (rc, out, err))
            rc, out, err = run("emulate", "--model", MINIFAB, "--days", "2", "--target", target, "--token-file", viewer)
            check("emulate --target with a viewer token: exit 1, permission denied",
                  rc == 1 and "needs operator" in err, (rc, err))
            rc, out, err = run("emulate", "--model", MINIFAB, "--days", "2", "--target", target, "--token-file", operator)
            check("emulate --target with an operator token: exit 0", rc == 0 and "refused 0" in out, (rc, out, err))
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=60)
        check("serve --auth stops on SIGTERM with exit 0", p.returncode == 0, (p.returncode, out, err))
        check("serve never prints a token", "token-cli" not in out + err + first + second, out + err)

# whatif run: a small batch end to end (a model base, then a saved state as the base) and its errors.
with tempfile.TemporaryDirectory() as tmp:
    def spec_file(name, body):
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write(body)
        return path
    small = spec_file("small.json", json.dumps({
        "base": {"model": MINIFAB}, "horizon_days": 6, "warmup_days": 2, "replications": 2,
        "metrics": ["throughput", "cycle_time"],
        "scenarios": [{"name": "cr", "deltas": [{"rule": {"group": "Diffusion_AB", "rule": "cr"}}]}]}))
    rc, out, err = run("whatif", "run", small, "--out", os.path.join(tmp, "out"))
    check("whatif run exit", rc == 0 and "wrote" in out, (rc, out, err))
    check("whatif run files", all(os.path.exists(os.path.join(tmp, "out", f)) and os.path.getsize(os.path.join(tmp, "out", f)) > 0
                                  for f in ("results.csv", "results.json", "chart.png")))
    rows = list(csv.DictReader(open(os.path.join(tmp, "out", "results.csv")))) if rc == 0 else [{}]
    check("whatif results.csv rows", len(rows) == 2 * (2 + 3 * 3) and rows[0]["scenario"] == "base" and
          "flow_estimate" in rows[0], rows[:1])
    state = os.path.join(tmp, "warm.state")
    rc, _, err = run("simulate", "--model", MINIFAB, "--days", "5", "--quiet", "--save-state", state)
    ck = spec_file("ck.json", json.dumps({
        "base": {"checkpoint": "warm.state"}, "horizon_days": 4, "replications": 2, "metrics": ["wip"],
        "scenarios": [{"name": "slow litho", "deltas": [{"process_time_factor": {"group": "Litho_E", "factor": 1.2}}]}]}))
    rc, out, err = run("whatif", "run", ck, "--out", os.path.join(tmp, "ck"), "--quiet")
    res = json.load(open(os.path.join(tmp, "ck", "results.json"))) if rc == 0 else {}
    check("whatif from a saved state", rc == 0 and res.get("start_days") == 5 and
          res["scenarios"][1]["warmup"] == "checkpoint", (rc, err))
    ck_more = spec_file("ck_more.json", json.dumps({
        "base": {"checkpoint": "warm.state"}, "horizon_days": 4, "replications": 2, "metrics": ["utilisation"],
        "groups": ["Litho_E"],
        "scenarios": [{"name": "2 litho", "deltas": [{"tool_count": {"group": "Litho_E", "count": 2}}]}]}))
    rc, out, err = run("whatif", "run", ck_more, "--out", os.path.join(tmp, "ck_more"), "--quiet")
    res = json.load(open(os.path.join(tmp, "ck_more", "results.json"))) if rc == 0 else {}
    check("whatif: a checkpoint base takes added tools", rc == 0 and
          res["scenarios"][1]["warmup"] == "checkpoint", (rc, err))
    ck_less = spec_file("ck_less.json", json.dumps({
        "base": {"checkpoint": "warm.state"}, "horizon_days": 4, "replications": 2, "metrics": ["utilisation"],
        "groups": ["Diffusion_AB"],
        "scenarios": [{"name": "1 diffusion", "deltas": [{"tool_count": {"group": "Diffusion_AB", "count": 1}}]}]}))
    rc, out, err = run("whatif", "run", ck_less, "--out", os.path.join(tmp, "ck_less"), "--quiet")
    res = json.load(open(os.path.join(tmp, "ck_less", "results.json"))) if rc == 0 else {}
    check("whatif: a checkpoint base takes a dropped tool", rc == 0 and
          res["scenarios"][1]["warmup"] == "checkpoint", (rc, err))
    rc, out, err = run("whatif", "run", "--out", tmp)
    check("whatif run without SPEC: exit 2", rc == 2 and "spec" in err.lower(), (rc, err))
    rc, out, err = run("whatif", "run", small)
    check("whatif run without --out: exit 2", rc == 2 and "--out" in err, (rc, err))
    rc, out, err = run("whatif", "run", small, "--out", tmp, "--threads", "two")
    check("whatif --threads two: exit 2", rc == 2 and "--threads" in err, (rc, err))
    rc, out, err = run("whatif", "run", os.path.join(tmp, "none.json"), "--out", tmp)
    check("whatif: a missing spec file: exit 1 naming it", rc == 1 and "none.json" in err, (rc, err))
    bad = spec_file("bad.json", '{"base": {"model": "%s"},\n "horizon_days": 6,\n "replication": 2,\n "scenarios": []}' % MINIFAB)
    rc, out, err = run("whatif", "run", bad, "--out", os.path.join(tmp, "bad"))
    check("whatif: an unknown key: exit 1 with file, line and field", rc == 1 and "bad.json:3" in err and
          "replication" in err and not os.path.exists(os.path.join(tmp, "bad")), (rc, err))
    bad = spec_file("bad2.json", json.dumps({
        "base": {"model": MINIFAB}, "horizon_days": 6, "replications": 2,
        "scenarios": [{"name": "x", "deltas": [{"tool_count": {"group": "Nope", "count": 2}}]}]}))
    rc, out, err = run("whatif", "run", bad, "--out", os.path.join(tmp, "bad2"))
    check("whatif: a delta the model refuses: exit 1 naming the scenario's delta", rc == 1 and
          "scenarios[0].deltas[0].tool_count.group" in err, (rc, err))

    # whatif screen: the flow model screens a design, the best k are simulated beside the base.
    cal = os.path.join(os.path.dirname(MINIFAB), "minifab.flow.json")
    scr = spec_file("screen.json", json.dumps({
        "base": {"model": MINIFAB}, "horizon_days": 6, "warmup_days": 2, "replications": 2,
        "metrics": ["throughput", "cycle_time"],
        "screen": {"space": {"tool_count": [{"group": "Litho_E", "counts": [1, 2]}],
                             "release": {"min": 0.95, "max": 1.05}},
                   "design": {"type": "grid", "levels": 3}, "calibration": cal,
                   "objective": "min_cycle_time", "confirm": 2}}))
    rc, out, err = run("whatif", "screen", scr, "--out", os.path.join(tmp, "scr"), "--threads", "2")
    check("whatif screen exit", rc == 0 and "screened 6 points" in out and "sim rank" in out, (rc, out, err))
    check("whatif screen files", all(os.path.exists(os.path.join(tmp, "scr", f)) for f in
                                      ("screen.csv", "screen.json", "results.csv", "results.json", "chart.png")))
    if rc == 0:
        pts = list(csv.DictReader(open(os.path.join(tmp, "scr", "screen.csv"))))
        check("whatif screen.csv: base and 6 points", len(pts) == 7 and pts[0]["point"] == "base", pts[:1])
        top = sorted((p for p in pts[1:]), key=lambda p: int(p["rank"]))[:2]
        sj = json.load(open(os.path.join(tmp, "scr", "screen.json")))
        names = [s["scenario"] for s in sj["scenarios"]]
        check("whatif screen confirms the flow's top 2", names == ["base", "#1 " + top[0]["point"], "#2 " + top[1]["point"]] and
              [p["confirmed"] for p in top] == ["1", "1"], (names, top))
        rows = list(csv.DictReader(open(os.path.join(tmp, "scr", "results.csv"))))
        check("whatif screen: flow estimates beside the simulation",
              all(r["flow_estimate"] != "" for r in rows if r["metric"] == "throughput_lots_per_day") and
              all(r["flow_estimate"] == "" for r in rows if r["metric"] == "throughput_wafers_per_day"), rows[:2])
    # whatif run with a "flow" block fills the estimates where the flow model understands the deltas.
    fl = spec_file("flow.json", json.dumps({
        "base": {"model": MINIFAB}, "horizon_days": 6, "warmup_days": 2, "replications": 2,
        "metrics": ["throughput"], "flow": {"calibration": cal},
        "scenarios": [{"name": "cr", "deltas": [{"rule": {"group": "Diffusion_AB", "rule": "cr"}}]},
                      {"name": "2 litho", "deltas": [{"tool_count": {"group": "Litho_E", "count": 2}}]},
                      {"name": "slow moves", "deltas": [{"transport_factor": 2}]}]}))
    rc, out, err = run("whatif", "run", fl, "--out", os.path.join(tmp, "fl"), "--quiet")
    rows = list(csv.DictReader(open(os.path.join(tmp, "fl", "results.csv")))) if rc == 0 else []
    est = {r["scenario"]: r["flow_estimate"] for r in rows if r["metric"] == "throughput_lots_per_day"}
    check("whatif run with flow: estimates for base, tool change and a calibrated rule, none for transport",
          rc == 0 and est.get("base") and est.get("2 litho") and est.get("cr") and est.get("slow moves") == "",
          (rc, err, est))
    bad = spec_file("scr_bad.json", json.dumps({
        "base": {"model": MINIFAB}, "horizon_days": 6, "replications": 2,
        "screen": {"space": {"rule": [{"group": "Diffusion_AB", "rules": ["cr", "hp"]}]},
                   "design": {"type": "lhs", "samples": 10}}}))
    rc, out, err = run("whatif", "screen", bad, "--out", os.path.join(tmp, "scr_bad"))
    check("whatif screen: a rule the calibration lacks (exit 1, path, nothing written)",
          rc == 1 and "screen.space.rule[0]" in err and "rank_HP" in err and
          not os.path.exists(os.path.join(tmp, "scr_bad")), (rc, err))
    rc, out, err = run("whatif", "screen", small, "--out", os.path.join(tmp, "noscr"))
    check("whatif screen without a screen block: exit 1", rc == 1 and "screen" in err, (rc, err))
    nocal = spec_file("nocal.json", json.dumps({
        "base": {"model": MINIFAB}, "horizon_days": 6, "replications": 2,
        "screen": {"space": {"release": {"min": 0.9, "max": 1}}, "design": {"type": "lhs", "samples": 4},
                   "calibration": "missing.flow.json"}}))
    rc, out, err = run("whatif", "screen", nocal, "--out", os.path.join(tmp, "nocal"))
    check("whatif screen: a missing calibration: exit 1 naming flow.calibration", rc == 1 and
          "flow.calibration" in err and "flow calibrate" in err, (rc, err))

print(f"{passed} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
