#!/usr/bin/python3
"""The windowed viewer under Xvfb (CTest test_viewer_window, label slow): a fresh X server, the
mini-fab in a GLFW window with the Dear ImGui panels, a screenshot of the swapchain image after 20
frames (--screenshot). The screenshot must show the fab: the forced DOWN tool's red, standby
yellow and productive green in quantity, the probed idle tool's pixel in the standby colour, and
the validation layers silent.

    test_viewer_window.py VIEWER MODEL XVFB_RUN
"""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from png_rgba import read_png  # noqa: E402

viewer, model, xvfb_run = sys.argv[1:4]
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

print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
