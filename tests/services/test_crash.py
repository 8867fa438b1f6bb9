#!/usr/bin/env python3
"""Crash test of the live twin: `fabtwin emulate --target` streams SMT2020_HVLM events (paced so that
the run lasts at least about 1.5 s per kill) while `fabtwin serve --db FILE` is killed with SIGKILL
at random (seeded) moments and restarted.
Afterwards: the emulator finished with every event acknowledged; every acknowledged id is in the
store exactly once and the store holds no other; the twin a restart gives (`fabtwin store state`)
equals a `replay` of the store's events (`fabtwin store export`) and the emulated fab's own state.

usage: test_crash.py FABTWIN_BINARY MODEL_DIR [--kills N] [--days D] [--seed S]
(FABTWIN_CRASH_KILLS / FABTWIN_CRASH_DAYS override the defaults: 20 kills, 3 days.)
Standard library only; exit 0 when every check holds, 1 otherwise.
"""
import argparse
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("fabtwin")
ap.add_argument("model")
ap.add_argument("--kills", type=int, default=int(os.environ.get("FABTWIN_CRASH_KILLS", "20")))
ap.add_argument("--days", type=float, default=float(os.environ.get("FABTWIN_CRASH_DAYS", "3")))
ap.add_argument("--seed", type=int, default=1)
args = ap.parse_args()
FAB = args.fabtwin
rng = random.Random(args.seed)
failures = []


def check(name, cond, detail=""):
    print(("ok      " if cond else "FAILED  ") + name + ("" if cond else f": {detail}"), flush=True)
    if not cond:
        failures.append(name)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*a):
    p = subprocess.run([FAB, *a], capture_output=True, text=True, timeout=600)
    return p.returncode, p.stdout, p.stderr


with tempfile.TemporaryDirectory() as tmp:
    db = os.path.join(tmp, "twin.db")
    port = free_port()
    listen = f"127.0.0.1:{port}"
    server_log = open(os.path.join(tmp, "serve.log"), "w+")

    def start_server():
        p = subprocess.Popen([FAB, "serve", "--model", args.model, "--listen", listen, "--db", db],
                             stdout=subprocess.PIPE, stderr=server_log, text=True)
        return p

    def wait_ready(p):
        """The first line says the server listens (and what it recovered); None if it died first."""
        line = p.stdout.readline()
        return line if line.startswith("fabtwin serve:") else None

    t0 = time.monotonic()
    server = start_server()
    first = wait_ready(server)
    check("serve starts", first is not None and "(port " in first, first)
    emu_out = open(os.path.join(tmp, "emulate.out"), "w+")
    acked_file = os.path.join(tmp, "acked.txt")
    # Paced so that the emulation lasts at least about 1.5 s per kill (a fast machine would otherwise
    # finish before the kills); a slower one runs as fast as acknowledged, which takes longer anyway.
    speed = args.days * 86400 / (1.5 * max(1, args.kills))
    emu = subprocess.Popen([FAB, "emulate", "--model", args.model, "--days", str(args.days), "--seed", "7",
                            "--target", listen, "--speed", f"{speed:.0f}", "--batch", "500", "--acked", acked_file,
                            "--state-out", os.path.join(tmp, "fab.state")],
                           stdout=emu_out, stderr=subprocess.STDOUT, text=True)
    kills = recoveries = early_kills = 0
    recovered_events = 0
    ready = True
    while kills < args.kills and emu.poll() is None:
        # A random moment: while it serves, or (one kill in five) before it said it was ready.
        time.sleep(rng.uniform(0.05, 1.5) if ready else rng.uniform(0.0, 0.3))
        if emu.poll() is not None:
            break
        server.kill()
        server.wait()
        server.stdout.close()
        kills += 1
        early_kills += not ready
        server = start_server()
        ready = False
        if rng.random() >= 0.2:
            line = wait_ready(server)
            if line is None:
                check(f"restart after kill {kills}", False, "the server did not start (serve.log)")
                break
            ready = True
            recoveries += 1
            m = re.search(r"recovered: (\d+) events", line)
            recovered_events += int(m.group(1)) if m else 0
    line = "ready" if ready else wait_ready(server)  # the last restart
    if not ready and line is not None:
        recoveries += 1
    check("the server restarted after the last kill", line is not None)
    check(f"{args.kills} kills while the emulator ran (raise --days if it finished first)",
          kills == args.kills, kills)
    try:
        emu.wait(timeout=600)
    except subprocess.TimeoutExpired:
        emu.kill()
        emu.wait()
    emu_out.seek(0)
    summary = emu_out.read()
    wall = time.monotonic() - t0
    # The server's twin after its last restart: killed once more, then opened as a restart would.
    server.kill()
    server.wait()
    server.stdout.close()

    m = re.search(r"(\d+) events sent to \S+ in [\d.]+ s: acknowledged (\d+) \(applied (\d+), late (\d+), "
                  r"duplicate (\d+), refused (\d+)\), (\d+) reconnects, (\d+) batches resent", summary)
    check("emulate exit 0 with its summary", emu.returncode == 0 and m is not None, (emu.returncode, summary))
    sent = acked = dup = reconnects = resent = 0
    if m:
        sent, acked, applied, late, dup, refused, reconnects, resent = map(int, m.groups())
        check("every event sent is acknowledged", sent > 0 and acked == sent, summary)
        check("none refused, none late", refused == 0 and late == 0, summary)
        check("the emulator reconnected after the kills", reconnects >= 1, summary)

    with open(acked_file) as f:
        ids = f.read().split()
    check("the acked file lists every event once", len(ids) == sent and len(set(ids)) == len(ids),
          (len(ids), len(set(ids)), sent))
    check("the emulator's ids e1..eN, none skipped", set(ids) == {f"e{k}" for k in range(1, sent + 1)})

    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    stored = con.execute("SELECT count(*), count(DISTINCT id) FROM events").fetchone()
    stored_ids = {r[0] for r in con.execute("SELECT id FROM events")}
    outcomes = dict(con.execute("SELECT outcome, count(*) FROM events GROUP BY outcome").fetchall())
    # Yield records (serve records them by default), written with the events that completed the lots.
    yield_lots, yield_names, yield_wafers = con.execute(
        "SELECT count(*), count(DISTINCT lot), sum(wafers) FROM yield_lots").fetchone()
    wafer_rows = con.execute("SELECT count(*) FROM yield_wafers").fetchone()[0]
    con.close()
    check("yield records: each completed lot once, with all its wafers",
          yield_lots > 0 and yield_lots == yield_names and wafer_rows == yield_wafers,
          (yield_lots, yield_names, yield_wafers, wafer_rows))
    check("every acknowledged id is in the store exactly once, and no other",
          stored[0] == stored[1] == len(ids) and stored_ids == set(ids), (stored, len(ids)))
    check("the store holds them applied", outcomes == {"applied": len(ids)}, outcomes)

    exported = os.path.join(tmp, "events.jsonl")
    rc, out, err = run("store", "export", "--db", db, "--out", exported)
    check("store export", rc == 0, err)
    rc, out, err = run("replay", "--model", args.model, "--events", exported,
                       "--state-out", os.path.join(tmp, "replay.state"))
    check("replay of the store's events", rc == 0, err)
    rc, out, err = run("store", "state", "--model", args.model, "--db", db,
                       "--state-out", os.path.join(tmp, "twin.state"))
    check("store state", rc == 0, err)

    def read(name):
        p = os.path.join(tmp, name)
        return open(p).read() if os.path.exists(p) else None

    twin_state, replay_state, fab_state = read("twin.state"), read("replay.state"), read("fab.state")
    check("the restarted twin equals the replay of the store (state files equal)",
          twin_state is not None and twin_state == replay_state)
    # The emulated fab ran on to the last day; the twin's clock stopped at the last event: the
    # header line (the time) differs, the tools and lots do not.
    check("and the emulated fab's tools and lots", twin_state is not None and fab_state is not None and
          twin_state.split("\n", 1)[1] == fab_state.split("\n", 1)[1])
    print(f"crash test: {wall:.1f} s, {args.days:g} model days, {sent} events, {kills} kills "
          f"({early_kills} while recovering), {recoveries} recoveries ({recovered_events} events replayed "
          f"after checkpoints), {reconnects} reconnects, {resent} batches resent, {dup} duplicates",
          flush=True)
    if failures:
        server_log.seek(0)
        print("serve.log (tail):\n" + server_log.read()[-3000:], file=sys.stderr)
    server_log.close()
    emu_out.close()

print(f"{len(failures)} failed" if failures else "all passed")
sys.exit(1 if failures else 0)
