#!/usr/bin/python3
"""The viewer connected to a live server (CTest test_viewer_live).

Starts `fabtwin serve` on the mini-fab (follow mode, port 0, a temporary store), starts
`fabtwin-viewer --connect --headless --wait-state Litho_E_1=unscheduled_down`, waits until the
viewer holds the server's keyframe (Litho_E_1 is up then), ingests a tool-down event through the
generated gRPC stubs, and checks that the viewer's frame shows Litho_E_1 in the DOWN colour and an
idle tool in the standby colour, with the validation layers silent. Then the same against a server
with `--auth` (docs/operations.md "Security"): without a token the viewer exits 1 naming the
refusal; with a viewer-role token (--token-file) it shows the tool an operator put down.

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
from fabtwin.v1 import twin_pb2, twin_pb2_grpc  # noqa: E402

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


with tempfile.TemporaryDirectory(prefix="fabtwin_viewer_live") as tmp:
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
