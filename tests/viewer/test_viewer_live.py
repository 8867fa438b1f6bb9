#!/usr/bin/python3
"""The viewer connected to a live server (CTest test_viewer_live).

Starts `fabtwin serve` on the mini-fab (follow mode, port 0, a temporary store), starts
`fabtwin-viewer --connect --headless --wait-state Litho_E_1=unscheduled_down`, waits until the
viewer holds the server's keyframe (Litho_E_1 is up then), ingests a tool-down event through the
generated gRPC stubs, and checks that the viewer's frame shows Litho_E_1 in the DOWN colour and an
idle tool in the standby colour, with the validation layers silent. Then the same against a server
with `--auth` (docs/operations.md "Security"): without a token the viewer exits 1 naming the
refusal; with a viewer-role token (--token-file) it shows the tool an operator put down.

The Yield panel's data (docs/viewer.md "Yield panel"): a server that completed lots (8 model days of
`fabtwin emulate --target`): `--headless --wafer-map LOT:WAFER` draws the wafer's dies in the bin
colours at the grid positions the server gave (every die's pixel probed), `--headless --yield-panel
TOOL` (a round and a refresh) lists the tool's newest wafers newest first, its YieldSummary row and its stacked map as the
generated stubs see them; a viewer-role token (PERMISSION_DENIED) and a `--no-yield` server
(FAILED_PRECONDITION) give one line and exit 1.

    test_viewer_live.py VIEWER FABTWIN PYTHON_DIR MODEL
"""
import os
import re
import subprocess
import sys
import tempfile
import time

viewer, fabtwin, python_dir, model = sys.argv[1:5]
sys.path.insert(0, python_dir)
import grpc  # noqa: E402
from fabtwin.v1 import twin_pb2, twin_pb2_grpc, yield_pb2, yield_pb2_grpc  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from png_rgba import read_png  # noqa: E402

# The panel's bin colours (viewer/core/src/wafer_map.cpp): pass, random, centre, edge, scratch.
BIN_COLOURS = [(60, 180, 75), (230, 60, 50), (245, 150, 30), (150, 80, 210), (60, 160, 230)]

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def start_server(tmp, name, extra=()):
    serve = subprocess.Popen([fabtwin, "serve", "--model", model, "--listen", "127.0.0.1:0",
                              "--db", os.path.join(tmp, name + ".db"), *extra],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in serve.stdout:
        m = re.search(r"\(port (\d+)\)", line)
        if m:
            return serve, f"127.0.0.1:{m.group(1)}"
    sys.exit("the server did not say its port: " + serve.stdout.read())


def tool_down_seen(tmp, target, label, auth_args=(), ingest_token=None):
    """Starts the viewer waiting for Litho_E_1 down, ingests the event, checks the frame."""
    out = os.path.join(tmp, label + ".png")
    view = subprocess.Popen([viewer, "--connect", target, *auth_args, "--headless", "--width", "480",
                             "--height", "270", "--frames", "2", "--out", out, "--wait-state",
                             "Litho_E_1=unscheduled_down", "--probe", "Litho_E_1", "--probe", "Diffusion_AB_1",
                             "--timeout", "60", "--validation"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = view.stdout.readline()
        check(first.startswith("fabtwin-viewer: live: minifab on " + target),
              f"{label}: the viewer follows the server's stream ({first.strip()})")
        time.sleep(0.2)
        check(view.poll() is None, f"{label}: the viewer waits: the tool is not down yet")
        md = (("authorization", "Bearer " + ingest_token),) if ingest_token else None
        # The generated stubs directly (the test needs nothing of the fabtwin_client wrapper).
        with grpc.insecure_channel(target) as ch:
            twin = twin_pb2_grpc.TwinServiceStub(ch)
            snap = twin.GetSnapshot(twin_pb2.GetSnapshotRequest(), timeout=30, metadata=md)
            names = [t.name for t in twin.GetModel(twin_pb2.GetModelRequest(), timeout=30, metadata=md).tools]
            litho = snap.tools[names.index("Litho_E_1")]
            check(litho.state == twin_pb2.TOOL_STATE_STANDBY, f"{label}: Litho_E_1 is up before the event")
            req = twin_pb2.IngestRequest()
            e = req.events.add()
            e.id, e.time_ms, e.kind = "viewer-1", snap.now_ms, twin_pb2.EVENT_KIND_TOOL_STATE
            e.tool, e.state = "Litho_E_1", twin_pb2.TOOL_STATE_UNSCHEDULED_DOWN
            r = twin_pb2_grpc.IngestServiceStub(ch).Ingest(req, timeout=30, metadata=md)
            check([x.outcome for x in r.results] == [twin_pb2.OUTCOME_APPLIED], f"{label}: the tool-down event is applied")
        rest, err = view.communicate(timeout=90)
        check(view.returncode == 0, f"{label}: the viewer exits 0 after the event ({view.returncode}: {err.strip()})")
        probes = {m.group(1): (tuple(map(int, m.group(2, 3, 4))), m.group(5))
                  for m in re.finditer(r"^probe (\S+) \d+ \d+ (\d+) (\d+) (\d+) (\S+)$", rest, re.M)}
        check(probes.get("Litho_E_1") == ((225, 35, 35), "unscheduled_down"),
              f"{label}: the frame shows Litho_E_1 in the DOWN colour ({probes.get('Litho_E_1')})")
        check(probes.get("Diffusion_AB_1") == ((235, 205, 40), "standby"),
              f"{label}: an idle tool shows the standby colour ({probes.get('Diffusion_AB_1')})")
        check("validation on: 0 messages" in rest and os.path.getsize(out) > 0,
              f"{label}: PNG written, no validation message")
    finally:
        if view.poll() is None:
            view.kill()


def yield_checks(tmp):
    servers = []
    try:
        serve, target = start_server(tmp, "yield")
        servers.append(serve)
        subprocess.run([fabtwin, "emulate", "--model", model, "--days", "8", "--target", target], check=True,
                       stdout=subprocess.DEVNULL, timeout=120)
        with grpc.insecure_channel(target) as ch:
            y = yield_pb2_grpc.YieldServiceStub(ch)
            wafers = [w for r in y.ListWafers(yield_pb2.ListWafersRequest(), timeout=60) for w in r.wafers]
            check(len(wafers) > 100, f"the server completed lots ({len(wafers)} wafers)")
            worst = min(wafers, key=lambda w: (w.die_yield, w.lot, w.wafer))
            check(getattr(worst, "pass") < worst.dies,
                  f"a wafer with failed dies to draw ({worst.lot} #{worst.wafer}: bins {list(worst.bins)})")
            ref = y.WaferMap(yield_pb2.WaferMapRequest(lot=worst.lot, wafer=worst.wafer), timeout=60)
            tool = "Litho_E_1"
            tool_wafers = [w for r in y.ListWafers(yield_pb2.ListWafersRequest(
                filter=yield_pb2.YieldFilter(tool=tool)), timeout=60) for w in r.wafers]
            rows = y.YieldSummary(yield_pb2.YieldSummaryRequest(filter=yield_pb2.YieldFilter(tool=tool),
                                                                group_by=yield_pb2.GROUP_BY_TOOL), timeout=60).rows
            tool_row = [r for r in rows if r.tool == tool]
            newest = tool_wafers[-1] if tool_wafers else None
            stacked = y.StackedMap(yield_pb2.StackedMapRequest(filter=yield_pb2.YieldFilter(
                tool=tool, product=newest.product)), timeout=60) if newest else None

        out = os.path.join(tmp, "wafer.png")
        p = subprocess.run([viewer, "--connect", target, "--headless", "--wafer-map", f"{worst.lot}:{worst.wafer}",
                            "--width", "360", "--height", "300", "--out", out], capture_output=True, text=True,
                           timeout=60)
        check(p.returncode == 0, f"--wafer-map exits 0 ({p.returncode}: {p.stderr.strip()})")
        m = re.search(r"^wafer-map bins pass=(\d+) random=(\d+) centre=(\d+) edge=(\d+) scratch=(\d+)$", p.stdout, re.M)
        check(m is not None and [int(x) for x in m.groups()] == list(ref.wafer.bins),
              f"--wafer-map prints the wafer's bins ({m and m.groups()} vs {list(ref.wafer.bins)})")
        g = re.search(r"^wafer-map grid (\d+) x (\d+), origin ([\d.]+) ([\d.]+), cell ([\d.]+), gap ([\d.]+)$",
                      p.stdout, re.M)
        check(g is not None and (int(g.group(1)), int(g.group(2))) == (ref.grid.rows, ref.grid.columns),
              "--wafer-map places the server's die grid")
        if g and os.path.exists(out):
            w, h, img = read_png(out)
            ox, oy, cell, gap = map(float, g.group(3, 4, 5, 6))
            wrong, seen = 0, set()
            for i, (c, r) in enumerate(zip(ref.grid.die_column, ref.grid.die_row)):
                x = int(ox + c * cell + (cell - gap) / 2)
                yy = int(oy + (ref.grid.rows - 1 - r) * cell + (cell - gap) / 2)
                px = tuple(img[yy][x * 4:x * 4 + 3])
                want = BIN_COLOURS[ref.die_bins[i]]
                seen.add(ref.die_bins[i])
                wrong += px != want
            check(wrong == 0 and len(ref.die_bins) == ref.wafer.dies,
                  f"every die's pixel has its bin's colour ({wrong} of {len(ref.die_bins)} wrong; bins {sorted(seen)})")
            check(len(seen) >= 2, "the map shows failed dies in their bin's colour too")

        out = os.path.join(tmp, "panel.png")
        p = subprocess.run([viewer, "--connect", target, "--headless", "--yield-panel", tool, "--width", "480",
                            "--height", "240", "--out", out], capture_output=True, text=True, timeout=60)
        check(p.returncode == 0, f"--yield-panel {tool} exits 0 ({p.returncode}: {p.stderr.strip()})")
        check("yield-panel rounds 2" in p.stdout, "the panel's data after a refresh (a second round, listing since)")
        listed = re.findall(r"^yield-panel wafer (\S+) (\d+) ", p.stdout, re.M)
        expect = [(w.lot, str(w.wafer)) for w in reversed(tool_wafers[-30:])]
        check(listed == expect and len(listed) == 30,
              f"the panel lists the tool's 30 newest wafers, newest first ({listed[:2]} vs {expect[:2]})")
        sm = re.search(r"^yield-panel summary (\S+) lots (\d+) wafers (\d+) dies (\d+) pass (\d+) ", p.stdout, re.M)
        check(sm is not None and len(tool_row) == 1 and sm.group(1) == tool and
              [int(x) for x in sm.group(2, 3, 4, 5)] == [tool_row[0].sums.lots, tool_row[0].sums.wafers,
                                                          tool_row[0].sums.dies, getattr(tool_row[0].sums, "pass")],
              f"the panel's summary line is the tool's YieldSummary row ({sm and sm.group(0)})")
        mm = re.search(r"^yield-panel map (\S+) (\d+) ", p.stdout, re.M)
        check(mm is not None and newest is not None and (mm.group(1), int(mm.group(2))) == (newest.lot, newest.wafer),
              "the panel draws the newest wafer by default")
        st = re.search(r"^yield-panel stacked (\S+) wafers (\d+) dies (\d+) max_fail_rate ([\d.]+)$", p.stdout, re.M)
        check(st is not None and stacked is not None and st.group(1) == stacked.product and
              int(st.group(2)) == stacked.wafers and int(st.group(3)) == len(stacked.fail_rate) and
              abs(float(st.group(4)) - max(stacked.fail_rate)) < 1e-6,
              f"the panel's stacked map is the tool's StackedMap ({st and st.group(0)})")

        # Refusals: one line, exit 1.
        auth = os.path.join(tmp, "yield_auth.txt")
        viewer_token, analyst_token = "v" * 8 + "0123456789abcdef", "a" * 8 + "0123456789abcdef"
        with open(auth, "w") as f:
            f.write(f"{viewer_token} viewer\n{analyst_token} analyst\n")
        serve, target = start_server(tmp, "yield_auth", ["--auth", auth])
        servers.append(serve)
        p = subprocess.run([viewer, "--connect", target, "--token", viewer_token, "--headless", "--yield-panel", "all",
                            "--out", out], capture_output=True, text=True, timeout=60)
        check(p.returncode == 1 and "PERMISSION_DENIED" in p.stderr and p.stderr.count("\n") == 1,
              f"a viewer-role token: the panel's one line, exit 1 ({p.returncode}: {p.stderr.strip()})")
        p = subprocess.run([viewer, "--connect", target, "--token", analyst_token, "--headless", "--yield-panel", "all",
                            "--out", out], capture_output=True, text=True, timeout=60)
        check(p.returncode == 0 and "yield-panel filter all" in p.stdout,
              f"an analyst-role token: the panel's queries answered ({p.returncode}: {p.stderr.strip()})")
        serve, target = start_server(tmp, "no_yield", ["--no-yield"])
        servers.append(serve)
        for opt in (["--yield-panel", "all"], ["--wafer-map", "Lot_A_1:1"]):
            p = subprocess.run([viewer, "--connect", target, "--headless", *opt, "--out", out], capture_output=True,
                               text=True, timeout=60)
            check(p.returncode == 1 and "FAILED_PRECONDITION" in p.stderr and p.stderr.count("\n") == 1,
                  f"a --no-yield server, {opt[0]}: one line, exit 1 ({p.returncode}: {p.stderr.strip()})")
    finally:
        for s in servers:
            s.terminate()
            s.wait(timeout=30)


with tempfile.TemporaryDirectory(prefix="fabtwin_viewer_live") as tmp:
    yield_checks(tmp)
    servers = []
    try:
        serve, target = start_server(tmp, "open")
        servers.append(serve)
        tool_down_seen(tmp, target, "open server")

        viewer_token, operator_token = "v" * 8 + "0123456789abcdef", "o" * 8 + "fedcba9876543210"
        auth = os.path.join(tmp, "auth.txt")
        with open(auth, "w") as f:
            f.write(f"{viewer_token} viewer\n{operator_token} operator\n")
        token_file = os.path.join(tmp, "viewer.token")
        with open(token_file, "w") as f:
            f.write(viewer_token + "\n")
        serve, target = start_server(tmp, "auth", ["--auth", auth])
        servers.append(serve)
        p = subprocess.run([viewer, "--connect", target, "--headless", "--timeout", "20"], capture_output=True,
                           text=True, timeout=60)
        check(p.returncode == 1 and "GetModel failed" in p.stderr and p.stderr.count("\n") == 1,
              f"auth server, no token: exit 1 with one line ({p.returncode}: {p.stderr.strip()})")
        p = subprocess.run([viewer, "--connect", target, "--token", "x" * 24, "--headless", "--timeout", "20"],
                           capture_output=True, text=True, timeout=60)
        check(p.returncode == 1 and "GetModel failed" in p.stderr,
              f"auth server, unknown token: exit 1 ({p.returncode}: {p.stderr.strip()})")
        tool_down_seen(tmp, target, "auth server", ["--token-file", token_file], ingest_token=operator_token)
    finally:
        for s in servers:
            s.terminate()
            s.wait(timeout=30)

print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
