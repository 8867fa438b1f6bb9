#!/usr/bin/python3
"""The windowed viewer under Xvfb (CTest test_viewer_window, label slow): a fresh X server, the
mini-fab in a GLFW window with the Dear ImGui panels, a screenshot of the swapchain image after 20
frames (--screenshot). The screenshot must show the fab: the forced DOWN tool's red, standby
yellow and productive green in quantity, the probed idle tool's pixel in the standby colour, and
the validation layers silent.

With FABTWIN (and the services built): the live viewer's Yield panel (docs/viewer.md "Yield
panel") against a server that completed 8 model days of lots, Litho_E_1 picked (--pick): the
screenshot, taken once the panel's worker answered, shows the wafer's dies in the pass colour; with
a viewer-role token (PERMISSION_DENIED) the panel shows its one-line message instead, no crash.

    test_viewer_window.py VIEWER MODEL XVFB_RUN [FABTWIN]
"""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from png_rgba import read_png  # noqa: E402

viewer, model, xvfb_run = sys.argv[1:4]
fabtwin = sys.argv[4] if len(sys.argv) > 4 else None
PASS_COLOUR = (60, 180, 75)  # the Yield panel's pass bin (viewer/core/src/wafer_map.cpp)
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


with tempfile.TemporaryDirectory(prefix="fabtwin_viewer_win") as tmp:
    shot = os.path.join(tmp, "window.png")
    p = subprocess.run([xvfb_run, "-a", "-s", "-screen 0 1024x768x24", viewer, "--model", model, "--width", "800",
                        "--height", "500", "--frames", "20", "--start-days", "3", "--screenshot", shot, "--validation",
                        "--force", "Diffusion_AB_1=down", "--probe", "Diffusion_AB_2"],
                       capture_output=True, text=True, timeout=240)
    check(p.returncode == 0, f"the windowed viewer runs under Xvfb ({p.returncode}: {p.stderr.strip()[-500:]})")
    check("windowed; validation on: 0 messages" in p.stdout, f"a screenshot, no validation message ({p.stdout.strip()})")
    if os.path.exists(shot):
        w, h, rows = read_png(shot)
        check((w, h) == (800, 500), f"the screenshot has the window's size ({w}x{h})")
        counts = {}
        for row in rows:
            for i in range(0, len(row), 4):
                c = tuple(row[i:i + 3])
                counts[c] = counts.get(c, 0) + 1
        for name, colour in [("unscheduled down", (225, 35, 35)), ("standby", (235, 205, 40)),
                             ("productive", (40, 190, 70))]:
            check(counts.get(colour, 0) >= 100, f"the fab shows {name} tools ({counts.get(colour, 0)} pixels)")
        check(len(counts) > 30, f"panels, text and shading: many colours ({len(counts)})")
        m = re.search(r"^probe Diffusion_AB_2 (\d+) (\d+) (\d+) (\d+) (\d+) standby$", p.stdout, re.M)
        check(m is not None, "the idle tool is probed")
        if m:
            x, y = int(m.group(1)), int(m.group(2))
            check(tuple(rows[y][x * 4:x * 4 + 3]) == (235, 205, 40), "its pixel in the screenshot is the standby colour")



def colour_counts(path):
    counts = {}
    for row in read_png(path)[2]:
        for i in range(0, len(row), 4):
            c = tuple(row[i:i + 3])
            counts[c] = counts.get(c, 0) + 1
    return counts


def start_server(tmp, name, extra=()):
    serve = subprocess.Popen([fabtwin, "serve", "--model", model, "--listen", "127.0.0.1:0",
                              "--db", os.path.join(tmp, name + ".db"), *extra],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in serve.stdout:
        m = re.search(r"\(port (\d+)\)", line)
        if m:
            return serve, f"127.0.0.1:{m.group(1)}"
    sys.exit("the server did not say its port")


if fabtwin:
    with tempfile.TemporaryDirectory(prefix="fabtwin_viewer_yield") as tmp:
        token = "v" * 8 + "0123456789abcdef"
        auth = os.path.join(tmp, "auth.txt")
        with open(auth, "w") as f:
            f.write(f"{token} viewer\n")
        servers = []
        try:
            serve, target = start_server(tmp, "open")
            servers.append(serve)
            subprocess.run([fabtwin, "emulate", "--model", model, "--days", "8", "--target", target], check=True,
                           stdout=subprocess.DEVNULL, timeout=120)
            serve, auth_target = start_server(tmp, "auth", ["--auth", auth])
            servers.append(serve)
            for label, tgt, extra in [("open server", target, []), ("viewer-role token", auth_target,
                                                                      ["--token", token])]:
                shot = os.path.join(tmp, label.replace(" ", "_") + ".png")
                p = subprocess.run([xvfb_run, "-a", "-s", "-screen 0 1400x900x24", viewer, "--connect", tgt, *extra,
                                    "--width", "1280", "--height", "800", "--frames", "5", "--pick", "Litho_E_1",
                                    "--screenshot", shot, "--validation", "--timeout", "60"],
                                   capture_output=True, text=True, timeout=240)
                check(p.returncode == 0 and "validation on: 0 messages" in p.stdout,
                      f"{label}: the live windowed viewer with the Yield panel runs ({p.returncode}: "
                      f"{p.stderr.strip()[-300:]})")
                n = colour_counts(shot).get(PASS_COLOUR, 0) if os.path.exists(shot) else -1
                if label == "open server":
                    check(n >= 3000, f"{label}: the panel draws the wafer's good dies ({n} pixels of the pass colour)")
                else:
                    check(n == 0, f"{label}: refused, the panel draws no map ({n} pixels of the pass colour)")
        finally:
            for s in servers:
                s.terminate()
                s.wait(timeout=30)

print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
