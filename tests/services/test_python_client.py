#!/usr/bin/python3
"""The Python client against a live server (CTest test_python_client).

Starts `fabtwin serve` on the mini-fab (port 0, a temporary store), plays 12 model days of MES
events into it with `fabtwin emulate --target`, then checks the client's DataFrames against what
the server and the model must give, and runs clients/python/examples/yield_report.py, whose CSV
files must have the documented columns.

    test_python_client.py FABTWIN_EXE PYTHON_DIR EXAMPLE MODEL
"""
import os
import re
import signal
import subprocess
import sys
import tempfile

fabtwin, python_dir, example, model = sys.argv[1:5]
sys.path.insert(0, python_dir)
from fabtwin_client import Client, FabtwinError  # noqa: E402

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


with tempfile.TemporaryDirectory(prefix="fabtwin_py") as tmp:
    serve = subprocess.Popen([fabtwin, "serve", "--model", model, "--listen", "127.0.0.1:0",
                              "--db", os.path.join(tmp, "live.db")],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        port = None
        for line in serve.stdout:
            m = re.search(r"\(port (\d+)\)", line)
            if m:
                port = int(m.group(1))
                break
        if port is None:
            sys.exit("the server did not say its port")
        target = f"127.0.0.1:{port}"
        subprocess.run([fabtwin, "emulate", "--model", model, "--days", "12", "--target", target],
                       check=True, stdout=subprocess.DEVNULL)

        with Client(target) as c:
            m = c.model()
            s = c.snapshot()
            check(len(s.tools) == len(m["tools"]), "snapshot: one row per tool of the model")
            check(set(s.tools["state"]) <= {"productive", "standby", "setup", "engineering", "scheduled_down",
                                            "unscheduled_down", "non_scheduled"}, "snapshot: E10 state names")
            check(len(s.lots) == s.kpis["lots_in_fab"], "snapshot: one row per lot in the fab")
            check(bool((s.lots["route_position"] >= 1).all() and
                       (s.lots["route_position"] <= s.lots["route_steps"]).all()), "snapshot: route positions in range")
            f = c.forecast(horizon_days=3, replications=3, at_hours=[24])
            check(sorted(f["lot"]) == sorted(s.lots["name"]), "forecast: a row per lot in the fab")
            check("pos_24h" in f.columns, "forecast: the position 24 h ahead")

            tool = s.tools[s.tools["state"] != "unscheduled_down"]["name"].iloc[0]
            r = c.ingest([{"id": "py-1", "time_ms": str(s.now_ms), "kind": "EVENT_KIND_TOOL_STATE",
                           "tool": tool, "state": "TOOL_STATE_UNSCHEDULED_DOWN"}])
            check(list(r["outcome"]) == ["applied"], f"ingest: a tool down is applied ({list(r['outcome'])})")
            after = c.snapshot()
            check(after.tools.set_index("name").loc[tool, "state"] == "unscheduled_down",
                  "ingest: the snapshot shows the tool down")
            check(list(c.ingest([{"id": "py-1", "time_ms": "0", "kind": "EVENT_KIND_TOOL_STATE", "tool": tool,
                                  "state": "TOOL_STATE_STANDBY"}])["outcome"]) == ["duplicate"],
                  "ingest: a repeated id is a duplicate")
            try:
                c.ingest([{"id": "py-2", "time_ms": "0", "kind": "EVENT_KIND_TOOL_STATE", "tool": "no-such-tool",
                           "state": "TOOL_STATE_STANDBY"}])
                check(False, "ingest of an unknown tool raises")
            except FabtwinError as e:
                check(e.code.name == "INVALID_ARGUMENT" and "events[0].tool" in e.details,
                      f"ingest of an unknown tool: INVALID_ARGUMENT naming events[0].tool ({e.details})")
            frames = c.follow(max_frames_per_second=50)
            first = next(frames)
            check(first.HasField("keyframe") and first.keyframe.version >= after.version,
                  "follow: the stream starts with a keyframe")
            frames.close()

            w = c.wafers()
            completed = s.kpis["lots_completed"]
            check(completed > 0 and w["lot"].nunique() == completed,
                  f"wafers: the wafers of every completed lot ({completed} lots, {len(w)} wafers)")
            check(bool(((w["pass"] <= w["dies"]) & (w["die_yield"] - w["pass"] / w["dies"]).abs().lt(1e-9)).all()),
                  "wafers: die_yield = pass / dies")
            by_product = c.yield_summary(by="product")
            check(int(by_product["wafers"].sum()) == len(w), "yield_summary(product): wafers sum to the wafer list")
            check(int(by_product["pass"].sum()) == int(w["pass"].sum()), "yield_summary(product): good dies add up")
            one = w.iloc[0]
            wm = c.wafer_map(one["lot"], int(one["wafer"]), png_size=128)
            check(int((wm.bins == 0).sum()) == int(one["pass"]), "wafer_map: pass dies on the grid = the record's")
            check(wm.png[:8] == b"\x89PNG\r\n\x1a\n", "wafer_map: PNG bytes")
            try:
                c.wafer_map("no-such-lot", 1)
                check(False, "wafer_map of an unknown lot raises")
            except FabtwinError as e:
                check(e.code.name == "NOT_FOUND", f"wafer_map of an unknown lot: NOT_FOUND ({e.details})")
            com = c.commonality()
            check(len(com) > 0 and com["p_adjusted"].is_monotonic_increasing, "commonality: ranked rows")

            # What-if (WhatIfService): a small batch; its results equal `fabtwin whatif run`'s file.
            spec = {"base": {"model": os.path.abspath(model)}, "horizon_days": 2, "warmup_days": 1,
                    "replications": 2, "metrics": ["throughput", "cycle_time"],
                    "scenarios": [{"name": "cr", "deltas": [{"rule": {"group": "Diffusion_AB", "rule": "cr"}}]}]}
            job = c.whatif_submit(spec)
            states = list(c.whatif_watch(job))
            check(states[-1]["state"] == "done" and states[-1]["done"] == states[-1]["total"] == 2 * 2 * 2 + 2,
                  f"whatif_watch: ends done with every simulated day ({states[-1]})")
            check(all(a["done"] <= b["done"] for a, b in zip(states, states[1:])), "whatif_watch: done never falls")
            res = c.whatif_results(job)
            check(list(res["scenario"].unique()) == ["base", "cr"] and res[res["scenario"] == "base"]["diff"].isna().all()
                  and res[res["scenario"] == "cr"]["diff"].notna().any(), "whatif_results: rows per scenario, diffs")
            import json as _json

            with open(os.path.join(tmp, "spec.json"), "w") as sf:
                _json.dump(spec, sf)
            subprocess.run([fabtwin, "whatif", "run", os.path.join(tmp, "spec.json"), "--out",
                            os.path.join(tmp, "wi"), "--quiet"], check=True)
            with open(os.path.join(tmp, "wi", "results.json")) as rf:
                check(rf.read() == res.attrs["results_json"], "whatif_results: results.json as `whatif run` writes it")
            # The CLI: `whatif submit` waits and writes the files; `whatif results JOB` fetches a job's.
            r = subprocess.run([fabtwin, "whatif", "submit", os.path.join(tmp, "spec.json"), "--target", target,
                                "--out", os.path.join(tmp, "sub"), "--quiet"], capture_output=True, text=True)
            check(r.returncode == 0, f"whatif submit: exit 0 ({r.stderr.strip()})")
            r = subprocess.run([fabtwin, "whatif", "results", job, "--target", target, "--out",
                                os.path.join(tmp, "fetched"), "--quiet"], capture_output=True, text=True)
            check(r.returncode == 0, f"whatif results {job}: exit 0 ({r.stderr.strip()})")
            for name in ("results.json", "results.csv", "chart.png"):
                with open(os.path.join(tmp, "wi", name), "rb") as a, open(os.path.join(tmp, "sub", name), "rb") as b, \
                        open(os.path.join(tmp, "fetched", name), "rb") as f:
                    ref = a.read()
                    check(b.read() == ref and f.read() == ref, f"whatif submit / results: {name} as `whatif run` writes it")
            jobs = c.whatif_jobs()
            check(list(jobs["job_id"]) == ["job-2", "job-1"] and list(jobs["state"]) == ["done", "done"] and
                  bool((jobs["done"] == jobs["total"]).all()) and bool(jobs["finished"].notna().all()),
                  f"whatif_jobs: the two jobs, newest first, done ({jobs.to_dict('records')})")
            r = subprocess.run([fabtwin, "whatif", "jobs", "--target", target], capture_output=True, text=True)
            lines = r.stdout.splitlines()
            check(r.returncode == 0 and len(lines) == 3 and lines[1].startswith("job-2") and " done " in lines[2],
                  f"whatif jobs: a header and a line per job ({r.stdout!r} {r.stderr!r})")
            r = subprocess.run([fabtwin, "whatif", "results", "job-999", "--target", target, "--out",
                                os.path.join(tmp, "none"), "--quiet"], capture_output=True, text=True)
            check(r.returncode == 1 and "job-999" in r.stderr and
                  not os.path.exists(os.path.join(tmp, "none")), f"whatif results of an unknown job: exit 1 ({r.stderr.strip()})")
            # A served screen: the files of `fabtwin whatif screen`, screen.csv and screen.json included.
            scr = {"base": {"model": os.path.abspath(model)}, "horizon_days": 2, "warmup_days": 1, "replications": 2,
                   "metrics": ["throughput", "cycle_time"],
                   "screen": {"space": {"rule": [{"group": "Litho_E", "rules": ["fifo", "spt", "cr"]}]},
                              "design": {"type": "grid"}, "confirm": 2}}
            with open(os.path.join(tmp, "scr.json"), "w") as sf:
                _json.dump(scr, sf)
            sjob = c.whatif_submit(scr)
            sstates = list(c.whatif_watch(sjob))
            sres = c.whatif_results(sjob) if sstates[-1]["state"] == "done" else None
            scr_p = [p for p in sstates if p["phase"] == "screening"]
            check(scr_p and all(p["screen_done"] <= p["screen_total"] for p in scr_p) and
                  all(p["screen_total"] in (0, 4 * 152) for p in scr_p),
                  f"whatif_watch: screen_done and screen_total while screening (base + 3 rules, 150 + 2 days) ({scr_p[-1:]})")
            check(sres is not None and "rank_SPT" in sres.attrs["screen_csv"] and
                  sres["flow_estimate"].notna().any(), f"whatif screen served: screen.csv and flow estimates ({sstates[-1]})")
            subprocess.run([fabtwin, "whatif", "screen", os.path.join(tmp, "scr.json"), "--out", os.path.join(tmp, "ws"),
                            "--quiet"], check=True)
            r = subprocess.run([fabtwin, "whatif", "submit", os.path.join(tmp, "scr.json"), "--target", target,
                                "--out", os.path.join(tmp, "ssub"), "--quiet"], capture_output=True, text=True)
            check(r.returncode == 0, f"whatif submit of a screen: exit 0 ({r.stderr.strip()})")
            for name in ("results.csv", "screen.csv", "screen.json"):
                with open(os.path.join(tmp, "ws", name), "rb") as a, open(os.path.join(tmp, "ssub", name), "rb") as b:
                    check(a.read() == b.read(), f"whatif submit of a screen: {name} as `whatif screen` writes it")
            try:
                c.whatif_submit({**spec, "replications": 1})
                check(False, "whatif_submit of a bad spec raises")
            except FabtwinError as e:
                check(e.code.name == "INVALID_ARGUMENT" and "replications" in e.details,
                      f"whatif_submit of a bad spec: INVALID_ARGUMENT naming replications ({e.details})")

        out = os.path.join(tmp, "report")
        r = subprocess.run([sys.executable, example, "--target", target, "--out", out],
                           env={**os.environ, "PYTHONPATH": python_dir}, capture_output=True, text=True)
        print(r.stdout, r.stderr)
        check(r.returncode == 0, "yield_report.py exits 0")
        import pandas as pd

        sums = ["lots", "wafers", "dies", "pass", "die_yield", "mean_wafer_yield", "wafer_yield_sd"]
        expect = {"yield_by_tool.csv": ["tool"] + sums, "yield_by_day.csv": ["day"] + sums,
                  "commonality.csv": ["level", "route", "step", "tool", "tool_group", "lots", "lots_in", "yield_in",
                                      "yield_out", "effect", "statistic", "df1", "df2", "p", "p_adjusted",
                                      "significant"]}
        for name, cols in expect.items():
            path = os.path.join(out, name)
            ok = os.path.exists(path) and list(pd.read_csv(path).columns) == cols
            check(ok, f"{name}: the documented columns")
        day = pd.read_csv(os.path.join(out, "yield_by_day.csv"))
        check(int(day["wafers"].sum()) == len(w), "yield_by_day.csv: every wafer counted once")
        with open(os.path.join(out, "yield_report.png"), "rb") as png:
            check(png.read(8) == b"\x89PNG\r\n\x1a\n", "yield_report.png is a PNG")
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            rest, _ = serve.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            serve.kill()
            rest = ""
        check(serve.returncode == 0, f"the server stopped cleanly (exit {serve.returncode})")

# Tokens (docs/operations.md "Security"): a server with --auth answers the Python client by role.
with tempfile.TemporaryDirectory(prefix="fabtwin_py_auth") as tmp:
    auth = os.path.join(tmp, "auth.txt")
    with open(auth, "w") as f:
        f.write("py-viewer-token-0001 viewer\n")
    serve = subprocess.Popen([fabtwin, "serve", "--model", model, "--listen", "127.0.0.1:0",
                              "--db", os.path.join(tmp, "live.db"), "--auth", auth],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        m = re.search(r"\(port (\d+)", serve.stdout.readline())
        target = f"127.0.0.1:{m.group(1)}" if m else "127.0.0.1:1"
        codes = []
        for token, call in ((None, lambda c: c.model()), ("py-viewer-token-0001", lambda c: c.model()),
                            ("py-viewer-token-0001", lambda c: c.forecast(horizon_days=1, replications=1))):
            try:
                with Client(target, token=token, timeout=30) as c:
                    call(c)
                codes.append("OK")
            except FabtwinError as e:
                codes.append(e.code.name)
        check(codes == ["UNAUTHENTICATED", "OK", "PERMISSION_DENIED"],
              f"tokens: none UNAUTHENTICATED, a viewer reads the model and may not forecast ({codes})")
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.communicate(timeout=30)

if failures:
    sys.exit(f"{len(failures)} checks failed")
print("all checks passed")
