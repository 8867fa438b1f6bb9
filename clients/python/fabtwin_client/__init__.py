"""fabtwin's Python client: the twin's gRPC API (proto/fabtwin/v1) as pandas DataFrames.

    from fabtwin_client import Client
    c = Client("127.0.0.1:50051", token="...")
    c.snapshot().tools          # one row per tool: name, group, state, since ...
    c.yield_summary(by="tool")  # one row per tool: wafers, dies, yield ...

The generated stubs (fabtwin/v1/*_pb2.py, *_pb2_grpc.py) sit beside this package in the build's
python/ folder (<build>/python) or the install's lib/fabtwin/python; put that folder on PYTHONPATH.
Runs with Debian's python3 (/usr/bin/python3: python3-grpcio, python3-protobuf, python3-pandas).
"""
from .client import Client, FabtwinError, Snapshot, StackedMap, WaferMap

__all__ = ["Client", "FabtwinError", "Snapshot", "StackedMap", "WaferMap"]
