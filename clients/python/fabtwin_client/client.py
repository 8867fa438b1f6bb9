"""Client: one gRPC channel to a fabtwin server, its replies as pandas DataFrames."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

import grpc
import pandas as pd

from fabtwin.v1 import twin_pb2, twin_pb2_grpc

_TOOL_STATES = {
    twin_pb2.TOOL_STATE_PRODUCTIVE: "productive",
    twin_pb2.TOOL_STATE_STANDBY: "standby",
    twin_pb2.TOOL_STATE_SETUP: "setup",
    twin_pb2.TOOL_STATE_ENGINEERING: "engineering",
    twin_pb2.TOOL_STATE_SCHEDULED_DOWN: "scheduled_down",
    twin_pb2.TOOL_STATE_UNSCHEDULED_DOWN: "unscheduled_down",
    twin_pb2.TOOL_STATE_NON_SCHEDULED: "non_scheduled",
}
_LOT_PLACES = {
    twin_pb2.LOT_PLACE_QUEUED: "queued",
    twin_pb2.LOT_PLACE_ON_TOOL: "on_tool",
    twin_pb2.LOT_PLACE_IN_TRANSPORT: "in_transport",
}


class FabtwinError(RuntimeError):
    """A call the server refused or that failed: `code` is the gRPC status code (grpc.StatusCode),
    `details` the server's message (for bad requests it names the request field)."""

    def __init__(self, rpc: str, code: grpc.StatusCode, details: str):
        super().__init__(f"{rpc}: {code.name}: {details}")
        self.rpc, self.code, self.details = rpc, code, details


@dataclass
class Snapshot:
    """The live state at one journal version. Times are model milliseconds (`*_ms`) and, where the
    model has a calendar epoch, pandas Timestamps (UTC) beside them."""

    version: int
    now: pd.Timestamp
    tools: pd.DataFrame   # name, group, area, state, since, setup, lots (names on the tool)
    queues: pd.DataFrame  # group, lot, since: one row per queued lot, in queue order
    lots: pd.DataFrame    # name, product, priority, wafers, step, route_position, place, group, tool, held, ...
    kpis: dict


class Client:
    """A connection to `fabtwin serve`.

    target    "host:port"
    token     sent as `authorization: Bearer TOKEN` (servers started with --auth need it)
    tls_ca    PEM file of the CA that signed the server's certificate: connect with TLS
    tls_cert, tls_key  PEM files of a client certificate (servers started with --tls-client-ca)
    timeout   seconds per call
    """

    def __init__(self, target: str = "127.0.0.1:50051", token: Optional[str] = None,
                 tls_ca: Optional[str] = None, tls_cert: Optional[str] = None,
                 tls_key: Optional[str] = None, timeout: float = 60.0):
        if tls_ca or tls_cert:
            def read(p):
                with open(p, "rb") as f:
                    return f.read()
            creds = grpc.ssl_channel_credentials(
                root_certificates=read(tls_ca) if tls_ca else None,
                private_key=read(tls_key) if tls_key else None,
                certificate_chain=read(tls_cert) if tls_cert else None)
            self._channel = grpc.secure_channel(target, creds)
        else:
            self._channel = grpc.insecure_channel(target)
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self._timeout = timeout
        self._twin = twin_pb2_grpc.TwinServiceStub(self._channel)
        self._model = None
        self._yield = None

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- calls ---------------------------------------------------------------------------------

    def _call(self, name: str, method, request):
        try:
            return method(request, timeout=self._timeout, metadata=self._metadata)
        except grpc.RpcError as e:
            raise FabtwinError(name, e.code(), e.details()) from None

    def _stream(self, name: str, method, request) -> Iterable:
        try:
            yield from method(request, timeout=self._timeout, metadata=self._metadata)
        except grpc.RpcError as e:
            raise FabtwinError(name, e.code(), e.details()) from None

    def model_summary(self) -> twin_pb2.ModelSummary:
        """The model's names and indices (cached: it never changes while the server runs)."""
        if self._model is None:
            self._model = self._call("GetModel", self._twin.GetModel, twin_pb2.GetModelRequest())
        return self._model

    def _time(self, ms):
        """Model ms (a scalar or a Series) as UTC Timestamps from the model's epoch."""
        epoch = pd.Timestamp(self.model_summary().epoch_unix_s, unit="s", tz="UTC")
        return epoch + pd.to_timedelta(ms, unit="ms")

    def model(self) -> dict:
        """The model as DataFrames: tool_groups, tools, products, routes, steps."""
        m = self.model_summary()
        groups = pd.DataFrame({"name": [g.name for g in m.tool_groups],
                               "area": [m.areas[g.area] for g in m.tool_groups],
                               "tools": [g.tool_count for g in m.tool_groups]})
        tools = pd.DataFrame({"name": [t.name for t in m.tools],
                              "group": [m.tool_groups[t.group].name for t in m.tools]})
        routes = pd.DataFrame({"name": [r.name for r in m.routes], "steps": [r.step_count for r in m.routes]})
        products = pd.DataFrame({"name": [p.name for p in m.products],
                                 "route": [m.routes[p.route].name for p in m.products]})
        steps = pd.DataFrame({"route": [m.routes[s.route].name for s in m.steps],
                              "number": [s.number for s in m.steps],
                              "description": [s.description for s in m.steps],
                              "group": [m.tool_groups[s.tool_group].name for s in m.steps]})
        return {"name": m.name, "tool_groups": groups, "tools": tools, "products": products,
                "routes": routes, "steps": steps}

    def snapshot(self) -> Snapshot:
        """The whole live state now (GetSnapshot)."""
        m = self.model_summary()
        k = self._call("GetSnapshot", self._twin.GetSnapshot, twin_pb2.GetSnapshotRequest())
        group_of = lambda t: m.tool_groups[m.tools[t].group]  # noqa: E731
        tools = pd.DataFrame({
            "name": [m.tools[t.tool].name for t in k.tools],
            "group": [group_of(t.tool).name for t in k.tools],
            "area": [m.areas[group_of(t.tool).area] for t in k.tools],
            "state": [_TOOL_STATES.get(t.state, "unspecified") for t in k.tools],
            "since_ms": [t.since_ms for t in k.tools],
            "setup": [m.setups[t.setup] if t.HasField("setup") else None for t in k.tools],
            "lots": [[x.lot for x in t.lots] for t in k.tools],
        })
        tools["since"] = self._time(tools["since_ms"])
        queues = pd.DataFrame([{"group": m.tool_groups[q.group].name, "lot": x.lot, "since_ms": x.since_ms}
                               for q in k.queues for x in q.lots], columns=["group", "lot", "since_ms"])
        queues["since"] = self._time(queues["since_ms"])
        rows = []
        for lot in k.lots:
            step = m.steps[lot.step]
            route = m.routes[step.route]
            rows.append({
                "name": lot.name, "product": m.products[lot.product].name, "priority": lot.priority,
                "wafers": lot.wafers, "pass": getattr(lot, "pass"), "step": step.number,
                "route_position": lot.step - route.first_step + 1, "route_steps": route.step_count,
                "place": _LOT_PLACES.get(lot.place, "unspecified"),
                "group": m.tool_groups[lot.group].name if lot.HasField("group") else None,
                "tool": m.tools[lot.tool].name if lot.HasField("tool") else None,
                "held": lot.held, "released_ms": lot.released_ms, "due_ms": lot.due_ms, "since_ms": lot.since_ms})
        lots = pd.DataFrame(rows, columns=["name", "product", "priority", "wafers", "pass", "step",
                                           "route_position", "route_steps", "place", "group", "tool",
                                           "held", "released_ms", "due_ms", "since_ms"])
        for c in ("released", "due", "since"):
            lots[c] = self._time(lots[c + "_ms"])
        kpis = {f.name: list(v) if f.label == f.LABEL_REPEATED else v for f, v in k.kpis.ListFields()}
        return Snapshot(k.version, self._time(k.now_ms), tools, queues, lots, kpis)

    def forecast(self, horizon_days: float = 7, replications: int = 10, lots: Sequence[str] = (),
                 at_hours: Sequence[float] = (), seed: int = 0) -> pd.DataFrame:
        """Forecast: one row per lot with its completion interval (p10/p50/p90 as Timestamps) and,
        per at_hours value h, the median route position `pos_<h>h`. The reply's totals are in
        DataFrame.attrs (lots_completed, wafers_completed, moves: mean, ci95)."""
        req = twin_pb2.ForecastRequest(horizon_days=horizon_days, replications=replications,
                                       lots=list(lots), at_hours=list(at_hours), seed=seed)
        r = self._call("Forecast", self._twin.Forecast, req)
        rows = []
        for f in r.lots:
            row = {"lot": f.lot, "position": f.position, "route_steps": f.route_steps,
                   "completed_fraction": f.completed_fraction}
            c = f.completion_ms
            for q in ("p10", "p50", "p90"):
                row[f"completion_{q}"] = self._time(getattr(c, q)) if c.n else pd.NaT
            for h, p in zip(at_hours, f.position_at):
                row[f"pos_{h:g}h"] = p.p50 if p.n else float("nan")
            rows.append(row)
        df = pd.DataFrame(rows)
        df.attrs = {name: {"mean": getattr(r, name).mean, "ci95": getattr(r, name).ci95}
                    for name in ("lots_completed", "wafers_completed", "moves")}
        df.attrs["from"], df.attrs["to"] = self._time(r.from_ms), self._time(r.to_ms)
        return df
