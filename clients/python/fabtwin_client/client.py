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
    now_ms: int
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
        self._whatif = None

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
        return Snapshot(k.version, k.now_ms, self._time(k.now_ms), tools, queues, lots, kpis)

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


    def follow(self, max_frames_per_second: float = 10, from_version: Optional[int] = None) -> Iterable:
        """StreamState: yields the raw StateFrame messages (a keyframe, then deltas; see docs/api.md
        "Frames") until the server ends the stream or the caller stops iterating."""
        req = twin_pb2.StreamStateRequest(max_frames_per_second=max_frames_per_second)
        if from_version is not None:
            req.from_version = from_version
        try:
            for frame in self._twin.StreamState(req, metadata=self._metadata):
                yield frame
        except grpc.RpcError as e:
            raise FabtwinError("StreamState", e.code(), e.details()) from None

    def ingest(self, events: Sequence) -> pd.DataFrame:
        """Ingest one batch of MES events (twin_pb2.MesEvent messages, or dicts of their fields as
        protobuf's JSON names them, e.g. {"id": "e1", "time_ms": 0, "kind": "EVENT_KIND_TOOL_STATE",
        "tool": "Litho_E_1", "state": "TOOL_STATE_UNSCHEDULED_DOWN"}). Returns one row per event:
        id, outcome (applied, late, duplicate, refused), reason, field, message; the twin's version
        after the batch in attrs["version"]. A batch that cannot be decoded raises FabtwinError
        (INVALID_ARGUMENT naming events[i].field) and nothing of it is applied."""
        from google.protobuf import json_format

        req = twin_pb2.IngestRequest()
        for e in events:
            if isinstance(e, dict):
                json_format.ParseDict(e, req.events.add())
            else:
                req.events.add().CopyFrom(e)
        r = self._call("Ingest", twin_pb2_grpc.IngestServiceStub(self._channel).Ingest, req)
        rows = [{"id": x.id, "outcome": twin_pb2.Outcome.Name(x.outcome).removeprefix("OUTCOME_").lower(),
                 "reason": twin_pb2.RefuseReason.Name(x.reason).removeprefix("REFUSE_REASON_").lower()
                 if x.reason else "", "field": x.field, "message": x.message} for x in r.results]
        df = pd.DataFrame(rows, columns=["id", "outcome", "reason", "field", "message"])
        df.attrs["version"], df.attrs["now_ms"] = r.version, r.now_ms
        return df

    # ---- yield queries (YieldService) ----------------------------------------------------------

    def wafers(self, page_size: int = 1000, **filter) -> pd.DataFrame:
        """Every wafer matching the filter (product, lot, route, step, tool, since, until), in
        completion order: lot, wafer, product, completed, dies, pass, die_yield, bins."""
        pb, stub = _yield_api(self)
        req = pb.ListWafersRequest(filter=_filter(self, pb, **filter), page_size=page_size)
        rows = [_wafer_row(self, w) for page in self._stream("ListWafers", stub.ListWafers, req) for w in page.wafers]
        df = pd.DataFrame(rows, columns=["lot", "wafer", "product", "completed_ms", "dies", "pass", "die_yield", "bins"])
        df["completed"] = self._time(df["completed_ms"])
        return df

    def yield_summary(self, by: str = "product", **filter) -> pd.DataFrame:
        """Yield sums grouped `by` product | day | tool | step, over the filter's lots. Columns: the key
        (product; day; tool; route, step, product) then lots, wafers, dies, pass, die_yield,
        mean_wafer_yield, wafer_yield_sd and bin_0.. (dies per bin). attrs["pre_aggregated"] says
        whether whole days were summed (docs/api.md)."""
        if by not in _GROUP_BY:
            raise ValueError(f"by must be one of {sorted(_GROUP_BY)}, not {by!r}")
        pb, stub = _yield_api(self)
        req = pb.YieldSummaryRequest(filter=_filter(self, pb, **filter), group_by=_GROUP_BY[by])
        r = self._call("YieldSummary", stub.YieldSummary, req)
        keys = {"product": ["product"], "day": ["day"], "tool": ["tool"], "step": ["route", "step", "product"]}[by]
        rows = []
        for row in r.rows:
            d = {k: getattr(row, k) for k in keys}
            d.update({k: getattr(row.sums, k) for k in _SUMS})
            d.update({f"bin_{i}": n for i, n in enumerate(row.sums.bins)})
            rows.append(d)
        df = pd.DataFrame(rows, columns=None if rows else keys + _SUMS)
        df.attrs["pre_aggregated"] = r.pre_aggregated
        return df

    def wafer_map(self, lot: str, wafer: int, png_size: int = 0) -> WaferMap:
        """One wafer's die bins as a grid (and a PNG of png_size pixels when > 0)."""
        pb, stub = _yield_api(self)
        r = self._call("WaferMap", stub.WaferMap, pb.WaferMapRequest(lot=lot, wafer=wafer, png_size=png_size))
        return WaferMap(_wafer_row(self, r.wafer), _grid(r.grid, list(r.die_bins), -1), r.png)

    def stacked_map(self, png_size: int = 0, scale_max: float = 0, **filter) -> StackedMap:
        """The per-die fail rate over the filter's wafers (one product)."""
        pb, stub = _yield_api(self)
        req = pb.StackedMapRequest(filter=_filter(self, pb, **filter), png_size=png_size, scale_max=scale_max)
        r = self._call("StackedMap", stub.StackedMap, req)
        return StackedMap(r.product, r.wafers, _grid(r.grid, list(r.fail_rate), float("nan")), r.png)

    def commonality(self, levels=("step_tool", "tool", "tool_group"), significance: float = 0.05,
                    bonferroni: bool = False, max_rows: int = 0, **filter) -> pd.DataFrame:
        """Tool commonality over the filter's lots, ranked (most suspect first): level, route, step,
        tool, tool_group, lots, lots_in, yield_in, yield_out, effect, statistic, df1, df2, p,
        p_adjusted, significant. attrs: lots, wafers, tests per level."""
        pb, stub = _yield_api(self)
        for lv in levels:
            if lv not in _LEVELS:
                raise ValueError(f"levels: {lv!r} is not one of {sorted(_LEVELS)}")
        req = pb.CommonalityRequest(filter=_filter(self, pb, **filter), levels=[_LEVELS[lv] for lv in levels],
                                    significance=significance, bonferroni=bonferroni, max_rows=max_rows)
        r = self._call("Commonality", stub.Commonality, req)
        cols = ["level", "route", "step", "tool", "tool_group", "lots", "lots_in", "yield_in", "yield_out", "effect",
                "statistic", "df1", "df2", "p", "p_adjusted", "significant"]
        rows = [{c: (_LEVEL_NAMES.get(row.level, "unspecified") if c == "level" else getattr(row, c)) for c in cols}
                for row in r.rows]
        df = pd.DataFrame(rows, columns=cols)
        df.attrs = {"lots": r.lots, "wafers": r.wafers, "tests": dict(zip(_LEVELS, r.tests))}
        return df

    # ---- what-if batches (WhatIfService) ------------------------------------------------------

    def whatif_submit(self, spec: dict, base_dir: str = "", label: str = "") -> str:
        """Submit a what-if spec (docs/whatif.md; a dict, sent as JSON) and return the job id. The
        base may be {"live": True}: the served twin's state now. Paths in the spec are read on the
        server's machine, relative to `base_dir`. A bad spec raises FabtwinError (INVALID_ARGUMENT,
        the message naming the spec's field)."""
        import json

        pb, stub = _whatif_api(self)
        req = pb.SubmitRequest(spec_json=json.dumps(spec), base_dir=base_dir, label=label)
        return self._call("Submit", stub.Submit, req).job_id

    def whatif_watch(self, job_id: str, timeout: Optional[float] = None) -> Iterable[dict]:
        """The job's progress as dicts (done, total: simulated days; eta_s; state: "queued",
        "running", "done", "failed" or "cancelled"; message; phase while running: "screening" or
        "simulating"; screen_done, screen_total: the flow model's scenario-days while screening,
        eta_s then the screen's), until its final state."""
        pb, stub = _whatif_api(self)
        try:
            for p in stub.Watch(pb.WatchRequest(job_id=job_id), timeout=timeout, metadata=self._metadata):
                yield {"done": p.done, "total": p.total, "eta_s": p.eta_s,
                       "state": pb.JobState.Name(p.state).lower(), "message": p.message, "phase": p.phase,
                       "screen_done": p.screen_done, "screen_total": p.screen_total}
        except grpc.RpcError as e:
            raise FabtwinError("Watch", e.code(), e.details()) from None

    def whatif_results(self, job_id: str) -> pd.DataFrame:
        """A finished job's rows: scenario, metric, subject, n, mean, sd, ci_low, ci_high, the
        paired difference against the base (diff, diff_ci_low, diff_ci_high; NaN for the base) and
        the flow model's estimate (flow_estimate; NaN where the job has none).
        attrs: results_json, results_csv (the files `fabtwin whatif run` writes), chart_png, and
        screen_csv, screen_json for a screen ("" otherwise; the files `fabtwin whatif screen` adds)."""
        pb, stub = _whatif_api(self)
        r = self._call("Results", stub.Results, pb.ResultsRequest(job_id=job_id))
        nan = float("nan")
        cols = ["scenario", "metric", "subject", "n", "mean", "sd", "ci_low", "ci_high", "diff", "diff_ci_low",
                "diff_ci_high", "flow_estimate"]
        rows = [{"scenario": x.scenario, "metric": x.metric, "subject": x.subject, "n": x.n, "mean": x.mean,
                 "sd": x.sd, "ci_low": x.ci_low, "ci_high": x.ci_high,
                 "diff": x.diff if x.HasField("diff") else nan,
                 "diff_ci_low": x.diff_ci_low if x.HasField("diff_ci_low") else nan,
                 "diff_ci_high": x.diff_ci_high if x.HasField("diff_ci_high") else nan,
                 "flow_estimate": x.flow_estimate if x.HasField("flow_estimate") else nan} for x in r.rows]
        df = pd.DataFrame(rows, columns=cols)
        df.attrs = {"results_json": r.results_json, "results_csv": r.results_csv, "chart_png": r.chart_png,
                    "screen_csv": r.screen_csv, "screen_json": r.screen_json}
        return df

    def whatif_jobs(self, limit: int = 100) -> pd.DataFrame:
        """The server's what-if jobs, newest first (queued, running and finished ones, those kept in
        its store across restarts included; at most `limit`, up to 1000): job_id, name (the spec's),
        state, message, submitted and finished (UTC timestamps; NaT until it ends), done and total
        (simulated days)."""
        pb, stub = _whatif_api(self)
        r = self._call("ListJobs", stub.ListJobs, pb.ListJobsRequest(limit=limit))
        rows = [{"job_id": j.job_id, "name": j.name, "state": pb.JobState.Name(j.state).lower(), "message": j.message,
                 "submitted": pd.to_datetime(j.submitted_unix_ms, unit="ms", utc=True),
                 "finished": pd.to_datetime(j.finished_unix_ms, unit="ms", utc=True) if j.finished_unix_ms else pd.NaT,
                 "done": j.done, "total": j.total} for j in r.jobs]
        return pd.DataFrame(rows, columns=["job_id", "name", "state", "message", "submitted", "finished", "done",
                                           "total"])

    def whatif_cancel(self, job_id: str) -> str:
        """Cancel a queued or running job; returns its state after the call."""
        pb, stub = _whatif_api(self)
        return pb.JobState.Name(self._call("Cancel", stub.Cancel, pb.CancelRequest(job_id=job_id)).state).lower()


# ---- yield queries (YieldService, proto/fabtwin/v1/yield.proto) -----------------------------------

_GROUP_BY = {"product": 1, "day": 2, "tool": 3, "step": 4}
_LEVELS = {"step_tool": 1, "tool": 2, "tool_group": 3}
_LEVEL_NAMES = {v: k for k, v in _LEVELS.items()}
_SUMS = ["lots", "wafers", "dies", "pass", "die_yield", "mean_wafer_yield", "wafer_yield_sd"]


@dataclass
class WaferMap:
    """One wafer's die map: `bins` is a rows x columns array of bins (row 0 at the bottom, -1 where
    the grid has no die); `info` the wafer's record; `png` the rendered map when asked for."""

    info: dict
    bins: "object"  # numpy.ndarray
    png: bytes


@dataclass
class StackedMap:
    """Per-die fail rate over `wafers` wafers of `product`: `fail_rate` is a rows x columns array
    (NaN where the grid has no die)."""

    product: str
    wafers: int
    fail_rate: "object"  # numpy.ndarray
    png: bytes


def _grid(grid, values, fill):
    import numpy as np

    out = np.full((grid.rows, grid.columns), fill, dtype=float if isinstance(fill, float) else int)
    for c, r, v in zip(grid.die_column, grid.die_row, values):
        out[r, c] = v
    return out


def _whatif_api(client: Client):
    if getattr(client, "_whatif", None) is None:
        from fabtwin.v1 import whatif_pb2, whatif_pb2_grpc

        client._whatif = (whatif_pb2, whatif_pb2_grpc.WhatIfServiceStub(client._channel))
    return client._whatif


def _yield_api(client: Client):
    if client._yield is None:
        from fabtwin.v1 import yield_pb2, yield_pb2_grpc

        client._yield = (yield_pb2, yield_pb2_grpc.YieldServiceStub(client._channel))
    return client._yield


def _filter(client: Client, pb, product=None, lot=None, route=None, step=None, tool=None, since=None,
            until=None):
    """A YieldFilter; since / until are model ms (int) or anything pandas.Timestamp reads (UTC)."""

    def ms(t):
        if t is None or isinstance(t, int):
            return t
        epoch = pd.Timestamp(client.model_summary().epoch_unix_s, unit="s", tz="UTC")
        ts = pd.Timestamp(t)
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts
        return int((ts - epoch) / pd.Timedelta(milliseconds=1))

    f = pb.YieldFilter(product=product or "", lot=lot or "", route=route or "", tool=tool or "")
    if step is not None:
        f.step = step
    if since is not None:
        f.from_ms = ms(since)
    if until is not None:
        f.to_ms = ms(until)
    return f


def _wafer_row(client: Client, w) -> dict:
    return {"lot": w.lot, "wafer": w.wafer, "product": w.product, "completed_ms": w.completed_ms,
            "dies": w.dies, "pass": getattr(w, "pass"), "die_yield": w.die_yield, "bins": list(w.bins)}
