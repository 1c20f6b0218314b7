"""Split one QueryVectors into engine, service call and HTTP, for one or more versions of the server.

    .venv/bin/python scripts/store_request_path.py [--rows 5202] [--dimension 384] \
        [--rounds 10] [--per-round 150] [NAME=SOURCE_DIR ...]

Builds one small index (one exact segment), then in rounds: the engine's query and
``VectorStore.call("QueryVectors", ...)`` in this process (one BLAS thread, as the store runs),
and QueryVectors over signed keep-alive HTTP (the bridge's ``JsonTransport``) against each server
version: ``cur`` is this checkout, ``NAME=DIR`` runs the store from ``DIR/src`` (e.g. a
``git archive`` of an older commit). Rounds interleave the versions so that a busy machine slows
them alike. For each server it also reports the CPU its threads used per request, from
``/proc/<pid>/task/*/schedstat`` (the event loop's thread apart), which is steadier than latency
on a shared machine. Linux only.
"""

from __future__ import annotations

import argparse
import os

# The engine and service figures are taken in this process: one BLAS thread, as in the store.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import contextlib
import functools
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from botocore.credentials import Credentials as BotoCredentials

from pgs3v.auth.credentials import Credentials, generate_credentials
from pgs3v.bridge.json_transport import JsonTransport
from pgs3v.store.api.arns import ArnScope
from pgs3v.store.api.limits import load_limits
from pgs3v.store.api.service import VectorStore
from pgs3v.store.process import StoreProcess

_BLAS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
_TARGET = {"vectorBucketName": "bkt", "indexName": "idx"}


def _cpu_ns(pid: int, thread: int | None = None) -> int:
    """Nanoseconds on a CPU so far: every thread of ``pid``, or only ``thread``."""
    tasks = [Path(f"/proc/{pid}/task/{thread}")] if thread else list(Path(f"/proc/{pid}/task").iterdir())
    total = 0
    for task in tasks:
        with contextlib.suppress(OSError):  # a thread that ended between the listing and the read
            total += int((task / "schedstat").read_text().split()[0])
    return total


def _fill(seed: Path, credentials: Credentials, rows: int, dimension: int) -> None:
    data = np.random.default_rng(0).standard_normal((rows, dimension)).astype(np.float32)
    server = StoreProcess(seed, credentials).start()
    transport = JsonTransport(server.endpoint, BotoCredentials(credentials.access_key_id,
                              credentials.secret_access_key), server.region, 10.0, 600.0)
    try:
        transport.call("CreateVectorBucket", {"vectorBucketName": "bkt"})
        transport.call("CreateIndex", {**_TARGET, "dataType": "float32", "dimension": dimension,
                                       "distanceMetric": "cosine"})
        for start in range(0, rows, 500):
            vectors = [{"key": f"k{i}", "data": {"float32": data[i].tolist()}, "metadata": {"g": i % 10}}
                       for i in range(start, min(rows, start + 500))]
            transport.call("PutVectors", {**_TARGET, "vectors": vectors})
        transport.call("Pgs3vOptimizeIndex", _TARGET)
    finally:
        transport.close()
        server.stop()


def main(argv: Sequence[str] | None = None) -> None:
    """Print the split, one line per server version."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=5202)
    parser.add_argument("--dimension", type=int, default=384)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=150)
    parser.add_argument("versions", nargs="*", default=["cur"], help="cur, or NAME=DIR serving from DIR/src")
    options = parser.parse_args(argv)
    versions = [item.split("=", 1) if "=" in item else [item, ""] for item in options.versions]

    root = Path(tempfile.mkdtemp(prefix="pgs3v-request-path-"))
    credentials = generate_credentials()
    signer = BotoCredentials(credentials.access_key_id, credentials.secret_access_key)
    servers: dict[str, StoreProcess] = {}
    try:
        _fill(root / "seed", credentials, options.rows, options.dimension)
        queries = np.random.default_rng(1).standard_normal((options.per_round, options.dimension)).astype(np.float32)
        bodies = [orjson.dumps({**_TARGET, "topK": 10, "queryVector": {"float32": q.tolist()},
                                "returnDistance": True}) for q in queries]
        transports: dict[str, JsonTransport] = {}
        for name, source in versions:
            shutil.copytree(root / "seed", root / name)
            # Each server chooses its own BLAS threads (the point of comparing versions).
            environ = {key: value for key, value in os.environ.items() if key not in _BLAS}
            if source:
                environ["PYTHONPATH"] = str(Path(source).resolve() / "src")
            servers[name] = StoreProcess(root / name, credentials).start(environ)
            transports[name] = JsonTransport(servers[name].endpoint, signer, servers[name].region, 10.0, 600.0)
            for body in bodies[:30]:
                transports[name].call_body("QueryVectors", body)

        store = VectorStore(root / "seed", limits=load_limits(environ={}), scope=ArnScope(), token_secret=b"x")
        index = store.state.vectors_of(store.state.catalog.indexes[("bkt", "idx")])
        times: dict[str, list[float]] = {key: [] for key in ["engine", "service", *servers]}
        cpu = dict.fromkeys(servers, 0)
        loop_cpu = dict.fromkeys(servers, 0)

        def timed(key: str, call: Callable[[Any], object], items: Sequence[Any]) -> None:
            for item in items:
                began = time.perf_counter()
                call(item)
                times[key].append(time.perf_counter() - began)

        for _ in range(options.rounds):
            timed("engine", lambda q: index.query(q, 10, 0, None), list(queries))
            timed("service", lambda r: store.call("QueryVectors", r), [orjson.loads(b) for b in bodies])
            for name, server in servers.items():
                assert server.process is not None
                pid = server.process.pid
                cpu_before, loop_before = _cpu_ns(pid), _cpu_ns(pid, pid)
                timed(name, functools.partial(transports[name].call_body, "QueryVectors"), bodies)
                cpu[name] += _cpu_ns(pid) - cpu_before
                loop_cpu[name] += _cpu_ns(pid, pid) - loop_before
        store.close()
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(root, ignore_errors=True)

    median = {key: 1000 * statistics.median(values) for key, values in times.items()}
    requests = options.rounds * options.per_round
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"{options.rows} x {options.dimension}, {options.rounds} rounds x {options.per_round} queries, "
          f"load average {load}")
    print(f"engine {median['engine']:.3f} ms, service {median['service']:.3f} ms "
          f"(+{median['service'] - median['engine']:.3f})")
    for name in servers:
        print(f"HTTP {name}: {median[name]:.3f} ms (+{median[name] - median['service']:.3f} over service), "
              f"server CPU {cpu[name] / requests / 1e3:.0f} us per request, "
              f"event loop {loop_cpu[name] / requests / 1e3:.0f} us")


if __name__ == "__main__":
    main()
