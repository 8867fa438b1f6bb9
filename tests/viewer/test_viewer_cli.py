#!/usr/bin/python3
"""fabtwin-viewer's command line (CTest test_viewer_cli): bad options exit 2 with a line naming
what is wrong, failures while running exit 1, a headless run writes a PNG whose probed pixels show
the forced and the idle colours, with the validation layers silent.

    test_viewer_cli.py VIEWER MODEL
"""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from png_rgba import read_png  # noqa: E402

viewer, model = sys.argv[1:3]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def run(*args):
    p = subprocess.run([viewer, *args], capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


with tempfile.TemporaryDirectory(prefix="fabtwin_viewer") as tmp:
    out = os.path.join(tmp, "frame.png")
    code, so, se = run("--model", model, "--headless", "--width", "400", "--height", "240", "--frames", "3",
                       "--start-days", "3", "--out", out, "--force", "Diffusion_AB_1=down", "--probe",
                       "Diffusion_AB_1", "--probe", "Diffusion_AB_2", "--validation")
    check(code == 0, f"headless run exits 0 ({code}: {se.strip()})")
    check("validation on: 0 messages" in so, "the validation layers are on and silent")
    probes = {m.group(1): (int(m.group(2)), int(m.group(3)), tuple(map(int, m.group(4, 5, 6))), m.group(7))
              for m in re.finditer(r"^probe (\S+) (\d+) (\d+) (\d+) (\d+) (\d+) (\S+)$", so, re.M)}
    check(set(probes) == {"Diffusion_AB_1", "Diffusion_AB_2"}, f"one probe line per tool ({so.strip()})")
    if os.path.exists(out) and len(probes) == 2:
        w, h, rows = read_png(out)
        check((w, h) == (400, 240), "the PNG has the size asked for")
        x, y, rgb, state = probes["Diffusion_AB_1"]
        check(tuple(rows[y][x * 4:x * 4 + 3]) == (225, 35, 35) and state == "unscheduled_down",
              f"the forced tool's pixel in the PNG is the DOWN colour ({tuple(rows[y][x * 4:x * 4 + 3])})")
        x, y, rgb, state = probes["Diffusion_AB_2"]
        check(tuple(rows[y][x * 4:x * 4 + 3]) == (235, 205, 40) and state == "standby",
              f"the idle tool's pixel in the PNG is the standby colour ({tuple(rows[y][x * 4:x * 4 + 3])}, {state})")

    # Bad arguments: exit 2 and one line naming the option.
    for args, needle in [
        (["--force", "Nope_1=down"], "--force 'Nope_1=down': unknown tool 'Nope_1'"),
        (["--force", "Litho_E_1=broken"], "unknown state 'broken'"),
        (["--force", "Litho_E_1"], "expected TOOL=STATE"),
        (["--camera", "group:Nope"], "--camera: unknown tool group 'Nope'"),
        (["--camera", "1,2"], "give 3 numbers"),
        (["--probe", "Nope"], "--probe: unknown tool 'Nope'"),
        (["--width", "5"], "--width"),
        (["--heat", "colour"], "--heat"),
    ]:
        code, so, se = run("--model", model, "--headless", "--out", os.path.join(tmp, "x.png"), *args)
        check(code == 2 and needle in se, f"{' '.join(args)}: exit 2 naming it ({code}: {se.strip()})")
    # The Yield panel's headless modes (live only): bad values exit 2 before connecting.
    for args, needle in [
        (["--connect", "127.0.0.1:1", "--headless", "--wafer-map", "Lot_1"], "expected LOT:WAFER"),
        (["--connect", "127.0.0.1:1", "--headless", "--wafer-map", "Lot_1:0"], "expected LOT:WAFER"),
        (["--connect", "127.0.0.1:1", "--headless", "--wafer-map", ":3"], "expected LOT:WAFER"),
        (["--connect", "127.0.0.1:1", "--wafer-map", "Lot_1:1"], "needs --headless"),
        (["--connect", "127.0.0.1:1", "--headless", "--wafer-map", "Lot_1:1", "--yield-panel", "all"],
         "one of them"),
        (["--model", model, "--headless", "--wafer-map", "Lot_1:1"], "--wafer-map"),
        (["--model", model, "--headless", "--yield-panel", "all"], "--yield-panel"),
        (["--connect", "127.0.0.1:1", "--yield-refresh", "0"], "--yield-refresh"),
    ]:
        code, so, se = run(*args)
        check(code == 2 and needle in se, f"{' '.join(args[2:])}: exit 2 naming it ({code}: {se.strip()})")
    code, so, se = run("--connect", "127.0.0.1:1", "--headless", "--wafer-map", "Lot_1:1", "--timeout", "2",
                       "--out", os.path.join(tmp, "w.png"))
    check(code == 1 and se.count("\n") == 1 and ("UNAVAILABLE" in se or "no gRPC client" in se),
          f"--wafer-map, no server: exit 1 with one line ({code}: {se.strip()})")
    code, so, se = run("--headless")
    check(code == 2 and "give --model PATH or --connect HOST:PORT" in se, f"no source: exit 2 ({se.strip()})")
    code, so, se = run("--model", model, "--connect", "127.0.0.1:1", "--headless")
    check(code == 2 and "excludes" in se, f"--model with --connect: exit 2 ({se.strip()})")

    # Failures while running: exit 1 and one line.
    code, so, se = run("--model", os.path.join(tmp, "missing.json"), "--headless")
    check(code == 1 and "--model:" in se and "missing.json" in se, f"a missing model: exit 1 naming it ({se.strip()})")
    bad_layout = os.path.join(tmp, "layout.json")
    open(bad_layout, "w").write('{\n  "groups": {"Diffusion_AB": {"at": [0, 0], "mesh": "teapot"}}\n}\n')
    code, so, se = run("--model", model, "--headless", "--layout", bad_layout)
    check(code == 1 and "layout.json:2" in se and "Diffusion_AB.mesh" in se,
          f"a bad layout file: exit 1 naming line and field ({se.strip()})")
    code, so, se = run("--model", model, "--headless", "--meshes", tmp)
    check(code == 1 and "mesh file not found" in se, f"no meshes: exit 1 ({se.strip()})")
    code, so, se = run("--model", model, "--headless", "--device", "no-such-gpu", "--out", out)
    check(code == 1 and se.count("\n") == 1 and "no usable device matches --device 'no-such-gpu'" in se,
          f"no such device: exit 1, one line ({se.strip()})")
    code, so, se = run("--connect", "127.0.0.1:1", "--headless", "--timeout", "1")
    check(code == 1 and "--connect 127.0.0.1:1" in se, f"no server: exit 1 ({se.strip()})")
    # Without a loader's device list (an ICD file that does not exist): no device, one line.
    env = dict(os.environ, VK_ICD_FILENAMES=os.path.join(tmp, "none.json"))
    p = subprocess.run([viewer, "--model", model, "--headless", "--out", out], capture_output=True, text=True, env=env,
                       timeout=120)
    check(p.returncode == 1 and "no Vulkan device found" in p.stderr,
          f"no Vulkan device: exit 1 with one clear line ({p.returncode}: {p.stderr.strip()})")

print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
