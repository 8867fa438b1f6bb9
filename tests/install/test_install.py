#!/usr/bin/env python3
"""The installed program stands on its own: `cmake --install` into a temporary prefix, the prefix
moved to another folder, and the moved `fabtwin` run from a folder outside the source and build
trees, with FABTWIN_DATA unset: it must find its models and yield parameters in the prefix.

usage: test_install.py CMAKE BUILD_DIR SOURCE_DIR
"""
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile

CMAKE, BUILD, SRC = sys.argv[1], os.path.realpath(sys.argv[2]), os.path.realpath(sys.argv[3])
failures = []
passed = 0


def check(name, cond, detail=""):
    global passed
    if cond:
        passed += 1
    else:
        failures.append(f"{name}: {detail}")
        print(f"FAILED: {name}: {detail}", file=sys.stderr)


def finish():
    print(f"{passed} checks passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


tmp = os.path.realpath(tempfile.mkdtemp(prefix="fabtwin_install_"))
try:
    first, moved, work = (os.path.join(tmp, d) for d in ("first", "moved", "work"))
    os.makedirs(work)
    p = subprocess.run([CMAKE, "--install", BUILD, "--prefix", first], capture_output=True, text=True, timeout=300)
    check("cmake --install exit", p.returncode == 0, p.stderr)
    if p.returncode != 0:
        finish()
    # Relocation: the prefix moves, the first one is gone.
    shutil.copytree(first, moved, symlinks=True)
    shutil.rmtree(first)

    fab = os.path.join(moved, "bin", "fabtwin")
    data = os.path.join(moved, "share", "fabtwin", "twin_models")
    minifab = os.path.join(data, "minifab.json")
    for rel in ("minifab.json", "yield_params.json", "README.md", "smt2020/README.md",
                "smt2020/SMT2020_HVLM/tool.txt.1l", "smt2020/SMT2020_LVHM/tool.txt.1l"):
        check(f"installed {rel}", os.path.isfile(os.path.join(data, rel)))
    check("installed program", os.access(fab, os.X_OK), fab)
    check("no build-tree marker installed", not any("fabtwin-data-dir.txt" in files for _, _, files in os.walk(moved)))
    # Nothing installed names the source tree's data or the build tree.
    for root, _, files in os.walk(moved):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                blob = fh.read()
            for needle in (os.path.join(SRC, "twin_models"), BUILD):
                check(f"{f} does not name {needle}", needle.encode() not in blob)

    env = {k: v for k, v in os.environ.items() if k != "FABTWIN_DATA"}

    def run(*args, extra_env=None):
        e = dict(env, **(extra_env or {}))
        p = subprocess.run([fab, *args], capture_output=True, text=True, timeout=600, cwd=work, env=e)
        return p.returncode, p.stdout, p.stderr

    with open(minifab) as fh:
        name = json.load(fh)["name"]
    rc, out, err = run("model", "show", minifab)
    check("model show exit", rc == 0, err)
    check("model show names the model", f"model {name}" in out, out[:200])
    rc, out, err = run("model", "show", minifab, "--json")
    check("model show --json exit", rc == 0, err)
    check("model show --json name", rc == 0 and json.loads(out).get("name") == name, out[:200])
    rc, out, err = run("model", "show", os.path.join(data, "smt2020", "SMT2020_HVLM"), "--json")
    check("installed SMT2020 HVLM loads", rc == 0 and json.loads(out).get("tools", 0) > 0, err)

    # yield run without --params: the parameters come from the moved prefix.
    ydir = os.path.join(work, "out")
    rc, out, err = run("yield", "run", "--model", minifab, "--days", "10", "--out", ydir)
    check("yield run exit", rc == 0, err)
    for f in ("wafers.csv", "tools.csv", "commonality.csv", "yield.json"):
        check(f"yield run wrote {f}", os.path.isfile(os.path.join(ydir, f)))
    if rc == 0:
        with open(os.path.join(ydir, "yield.json")) as fh:
            y = json.load(fh)
        with open(os.path.join(ydir, "wafers.csv"), newline="") as fh:
            rows = list(csv.DictReader(fh))
        check("yield.json model", y.get("model") == name, y.get("model"))
        check("yield.json days", y.get("days") == 10, y.get("days"))
        check("lots completed in 10 days", y.get("lots", 0) > 0, y.get("lots"))
        check("wafers.csv has a row per wafer", len(rows) == y.get("wafers"), (len(rows), y.get("wafers")))
        check("die yield is a fraction", 0 < y.get("die_yield", -1) <= 1, y.get("die_yield"))

    # The parameters really are read from the prefix: without them the run fails naming where it looked.
    params = os.path.join(data, "yield_params.json")
    mine = os.path.join(work, "mydata")
    os.makedirs(mine)
    shutil.move(params, os.path.join(mine, "yield_params.json"))
    rc, out, err = run("yield", "run", "--model", minifab, "--days", "10", "--out", os.path.join(work, "out2"))
    check("missing installed parameters: exit 1", rc == 1, (rc, err))
    check("missing installed parameters: names the file", params in err, err)
    # FABTWIN_DATA overrides the installed folder.
    rc, out, err = run("yield", "run", "--model", minifab, "--days", "10", "--out", os.path.join(work, "out3"),
                       extra_env={"FABTWIN_DATA": mine})
    check("FABTWIN_DATA run exit", rc == 0, err)
    check("FABTWIN_DATA run wrote yield.json", os.path.isfile(os.path.join(work, "out3", "yield.json")))
    nowhere = os.path.join(work, "nowhere")
    rc, out, err = run("yield", "run", "--model", minifab, "--days", "10", "--out", os.path.join(work, "out4"),
                       extra_env={"FABTWIN_DATA": nowhere})
    check("FABTWIN_DATA naming no folder: exit 1", rc == 1, (rc, err))
    check("FABTWIN_DATA naming no folder: says so", "FABTWIN_DATA" in err and nowhere in err, err)
finally:
    shutil.rmtree(tmp, ignore_errors=True)
finish()
