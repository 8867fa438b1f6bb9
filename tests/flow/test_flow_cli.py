#!/usr/bin/env python3
"""`fabtwin flow calibrate` and `fabtwin flow run` end to end on the mini-fab: outputs, files and
exit codes, one case per class of bad input (standard library only).

usage: test_flow_cli.py FABTWIN_BINARY SOURCE_DIR
"""
import csv
import json
import os
import subprocess
import sys
import tempfile

FAB, SRC = sys.argv[1], sys.argv[2]
MINIFAB = os.path.join(SRC, "twin_models", "minifab.json")
HVLM_CAL = os.path.join(SRC, "twin_models", "smt2020", "SMT2020_HVLM.flow.json")
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


with tempfile.TemporaryDirectory() as tmp:
    cal = os.path.join(tmp, "minifab.flow.json")
    rc, out, err = run("flow", "calibrate", "--model", MINIFAB, "--days", "60", "--warmup", "20", "--reps", "2",
                       "--threads", "2", "--out", cal)
    check("calibrate exit 0", rc == 0 and "calibrated" in out, (rc, out, err))
    c = json.load(open(cal)) if rc == 0 else {}
    check("calibration file", c.get("schema") == "fabtwin.v1.FlowCalibration" and c.get("replications") == 2
          and len(c.get("groups", [])) > 0 and all(g["work_hours"] > 0 for g in c["groups"] if g["utilisation"] > 0), c)

    scen = os.path.join(tmp, "s.json")
    group = c["groups"][0]["name"] if c else "Diffusion_AB"
    tools = c["groups"][0]["tools"] if c else 1
    with open(scen, "w") as f:
        json.dump([{"name": "more", "deltas": [{"tool_count": {"group": group, "count": tools + 1}}]},
                   {"name": "fewer starts", "deltas": [{"product_mix": {"product": "part_A", "factor": 0.8}}]}], f)
    outdir = os.path.join(tmp, "out")
    rc, out, err = run("flow", "run", "--model", MINIFAB, "--calibration", cal, "--scenarios", scen, "--out", outdir,
                       "--days", "60", "--warmup", "20", "--threads", "2")
    check("run exit 0", rc == 0 and "scenario-years/s" in out, (rc, out, err))
    rows = list(csv.DictReader(open(os.path.join(outdir, "flow.csv")))) if rc == 0 else []
    check("flow.csv: base + 2 scenarios", [r["scenario"] for r in rows] == ["base", "more", "fewer starts"], rows)
    if len(rows) == 3:
        ct = [float(r["cycle_time_days"]) for r in rows]
        th = [float(r["throughput_lots_per_day"]) for r in rows]
        check("cycle times positive", all(x > 0 for x in ct), ct)
        check("fewer starts: lower throughput", th[2] < th[0], th)
        check("more tools: cycle time not longer", ct[1] <= ct[0] + 1e-9, ct)
    j = json.load(open(os.path.join(outdir, "flow.json"))) if rc == 0 else {}
    check("flow.json", j.get("schema") == "fabtwin.v1.FlowResults" and len(j.get("scenarios", [])) == 3, j.keys())
    util = list(csv.DictReader(open(os.path.join(outdir, "utilisation.csv")))) if rc == 0 else []
    check("utilisation.csv: every group of every scenario", len(util) == 3 * len(c.get("groups", [])), len(util))

    # Bad input, one case per class.
    def bad(name, args, code, text):
        rc, out, err = run(*args)
        check(name, rc == code and text in err, (rc, out, err))

    base = ["flow", "run", "--model", MINIFAB, "--calibration", cal, "--out", os.path.join(tmp, "o2")]
    with open(os.path.join(tmp, "rule.json"), "w") as f:
        json.dump({"name": "r", "deltas": [{"rule": {"group": group, "rule": "cr"}}]}, f)
    bad("a rule delta is refused naming it", base + ["--scenarios", os.path.join(tmp, "rule.json")], 1,
        "deltas[0].rule")
    with open(os.path.join(tmp, "unknown.json"), "w") as f:
        json.dump([{"name": "u", "deltas": [{"tool_count": {"group": "NoSuchGroup", "count": 2}}]}], f)
    bad("an unknown group is refused naming the field", base + ["--scenarios", os.path.join(tmp, "unknown.json")], 1,
        "tool_count")
    bad("a missing scenario file", base + ["--scenarios", os.path.join(tmp, "none.json")], 1, "none.json")
    bad("a calibration of another model", ["flow", "run", "--model", MINIFAB, "--calibration", HVLM_CAL,
                                           "--scenarios", scen, "--out", os.path.join(tmp, "o3")], 1,
        "calibrated for model 'SMT2020_HVLM'")
    badcal = os.path.join(tmp, "bad.flow.json")
    with open(badcal, "w") as f:
        c2 = dict(c)
        c2["groups"] = [dict(g) for g in c.get("groups", [])]
        if c2["groups"]:
            c2["groups"][0]["availability"] = 2
        json.dump(c2, f)
    bad("a calibration value out of range names the field", ["flow", "run", "--model", MINIFAB, "--calibration",
                                                             badcal, "--scenarios", scen, "--out", tmp], 1,
        "groups[0].availability")
    bad("--period-hours 0: exit 2", base + ["--scenarios", scen, "--period-hours", "0"], 2, "--period-hours")
    bad("--scenarios missing: exit 2", base, 2, "--scenarios")
    bad("--backend gpu: exit 2", base + ["--scenarios", scen, "--backend", "gpu"], 2, "--backend")
    bad("calibrate --warmup above --days: exit 2", ["flow", "calibrate", "--model", MINIFAB, "--days", "10",
                                                    "--warmup", "20", "--out", cal], 2, "--warmup")
    bad("calibrate --rules with an unknown rule: exit 2", ["flow", "calibrate", "--model", MINIFAB, "--rules",
                                                           "cr,fastest", "--out", cal], 2, "--rules")
    # Under other rules: the own parameters as before, each group's parameters under each rule, and a
    # rule scenario the run now evaluates.
    rcal = os.path.join(tmp, "rules.flow.json")
    rc, out, err = run("flow", "calibrate", "--model", MINIFAB, "--days", "60", "--warmup", "20", "--reps", "2",
                       "--threads", "2", "--rules", "spt,cr", "--out", rcal)
    rc_ = json.load(open(rcal)) if rc == 0 else {}
    check("calibrate --rules: own parameters unchanged, each group under rank_SPT and rank_CR",
          rc == 0 and c and [{k: v for k, v in g.items() if k != "rules"} for g in rc_.get("groups", [])] ==
          c["groups"] and all(sorted(g["rules"]) == ["rank_CR", "rank_SPT"] for g in rc_["groups"]), (rc, out, err))
    rscen = os.path.join(tmp, "r.json")
    with open(rscen, "w") as f:
        json.dump([{"name": "litho spt", "deltas": [{"rule": {"group": "Litho_E", "rule": "spt"}}]}], f)
    rc, out, err = run("flow", "run", "--model", MINIFAB, "--calibration", rcal, "--scenarios", rscen, "--out",
                       os.path.join(tmp, "o5"), "--days", "30", "--warmup", "10")
    check("run: a rule the calibration has is evaluated", rc == 0, (rc, out, err))
    rc, out, err = run("flow", "run", "--model", MINIFAB, "--calibration", cal, "--scenarios", rscen, "--out",
                       os.path.join(tmp, "o6"), "--days", "30", "--warmup", "10")
    check("run: a rule the calibration lacks: exit 1 naming the delta and --rules",
          rc == 1 and "deltas[0].rule" in err and "--rules spt" in err, (rc, out, err))
    rc, out, err = run("flow", "run", "--model", MINIFAB, "--calibration", cal, "--scenarios", scen, "--out",
                       os.path.join(tmp, "o4"), "--days", "5", "--warmup", "0", "--backend", "cuda")
    check("--backend cuda: runs where a device exists, else exit 1 saying so",
          rc == 0 or (rc == 1 and "cuda" in err), (rc, out, err))

# --help of every flow command lists its options (as test_cli.py does for the others).
HELP = {
    (): ["flow"],
    ("flow",): ["calibrate", "run"],
    ("flow", "calibrate"): ["--model", "--out", "--days", "--warmup", "--reps", "--seed", "--threads", "--rules"],
    ("flow", "run"): ["--model", "--calibration", "--scenarios", "--out", "--days", "--warmup", "--period-hours",
                      "--threads", "--backend", "--json"],
}
for cmd, names in HELP.items():
    rc, out, err = run(*cmd, "--help")
    words = set(out.replace(",", " ").split())
    missing = [n for n in names if n not in words]
    check(f"help {cmd}", rc == 0 and not missing and "Exit codes" in out, missing or (rc, err))
rc, out, err = run("flow")
check("flow without a subcommand: exit 2", rc == 2, (rc, err))

print(f"{passed} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
