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

# bad input: exit 2 for bad arguments, 1 for a bad model, one clear line
for args, code, needle in (
    (("simulate", "--model", MINIFAB), 2, "--days"),
    (("simulate", "--model", MINIFAB, "--days", "x"), 2, "not a number"),
    (("simulate", "--model", MINIFAB, "--days", "5", "--rule", "lifo"), 2, "unknown dispatch rule"),
    (("simulate", "--model", MINIFAB, "--days", "5", "--bogus"), 2, "unknown option --bogus"),
    (("simulate", "--model", "/nonexistent/model.json", "--days", "5"), 1, "/nonexistent/model.json"),
    (("model", "show"), 2, "usage"),
    (("frobnicate",), 2, "unknown command"),
    (("yield", "run", "--model", MINIFAB, "--days", "5", "--out", "/tmp/x", "--plant", "nope=2"), 2, "nope"),
):
    rc, out, err = run(*args)
    check(f"exit {args}", rc == code, f"rc {rc} stderr {err!r}")
    check(f"message {args}", needle in err and err.count("\n") == 1, err)

print(f"{passed} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
