"""The service's load benchmark (issue 14), in one run: requests per second and p50/p95 latency of
``POST /api/v1/resoudre`` for the example and Gironde, at 1, 4 and 16 concurrent clients, against a
real ``fluxopt serve`` started with ``--workers 1`` and ``--workers W``, and the same solves through
the Python API in this process. The two servers run side by side and are measured in turns.

    python benchmarks/service.py [--workers 2] [--requests 48] [--instances exemple gironde-33]

Goals: the service adds at most 50 ms p50 over the API on the example (one client); throughput
scales with --workers up to the number of cores. Two API baselines: ``fluxopt.solve`` alone, and
the same work as a service worker (solve with duals, ``fluxopt.explain``, the result document).
The machine is shared: run it when it is quiet, and read ratios rather than absolute times.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import tomllib
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx

import fluxopt
from fluxopt.api import solve_built
from fluxopt.builder import build
from fluxopt.explanations import explain
from fluxopt.jsondoc import result_document

ROOT = Path(__file__).resolve().parents[1]
TABLES = ("patrimoine", "reservataires", "stock", "cil", "bailleurs")


def document(folder: Path) -> dict[str, Any]:
    doc: dict[str, Any] = {"instance": tomllib.loads((folder / "instance.toml").read_text(encoding="utf-8"))}
    for table in TABLES:
        if (folder / f"{table}.csv").exists():
            doc[table] = list(csv.DictReader((folder / f"{table}.csv").open(encoding="utf-8-sig")))
    return doc


@contextmanager
def server(workers: int) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "fluxopt", "serve", "--port", str(port), "--workers",
                                str(workers), "--file-attente", "64"], stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                if httpx.get(f"{url}/sante", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(15)


def load(call: Callable[[], None], clients: int, requests: int) -> tuple[float, list[float]]:
    """Run ``requests`` calls from ``clients`` threads; return (requests per second, latencies)."""
    latencies: list[float] = []
    lock = threading.Lock()
    left = [requests]

    def client() -> None:
        while True:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
            start = time.perf_counter()
            call()
            with lock:
                latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return requests / (time.perf_counter() - start), latencies


def quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1] if len(values) > 1 else values[0]


def row(label: str, rps: float, latencies: list[float]) -> str:
    return f"| {label} | {rps:.1f} | {1000 * quantile(latencies, 0.5):.0f} | {1000 * quantile(latencies, 0.95):.0f} |"


def alternate(calls: list[Callable[[], None]], requests: int) -> list[list[float]]:
    """One client, each call in turn, ``requests`` times: the latencies of each (under the same machine load)."""
    out: list[list[float]] = [[] for _ in calls]
    for _ in range(requests):
        for call, latencies in zip(calls, out):
            start = time.perf_counter()
            call()
            latencies.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--requests", type=int, default=48)
    parser.add_argument("--instances", nargs="+", default=["exemple", "gironde-33"])
    args = parser.parse_args()
    docs = {name: document(ROOT / "instances" / name) for name in args.instances}
    bodies = {name: json.dumps(doc).encode() for name, doc in docs.items()}
    print(f"# fluxopt service benchmark ({os.cpu_count()} cores, {args.requests} requests per line)\n")
    print("| case | requests/s | p50 ms | p95 ms |\n|---|---|---|---|")
    throughput: dict[tuple[str, int, int], float] = {}
    overhead: dict[str, tuple[float, float, float]] = {}
    counts = sorted({1, args.workers})
    with server(counts[0]) as first, server(counts[-1]) as last:
        urls = {counts[0]: first, counts[-1]: last}
        clients_of = {w: httpx.Client(base_url=u, timeout=300, limits=httpx.Limits(max_connections=32))
                      for w, u in urls.items()}
        for name, body in bodies.items():
            doc = docs[name]

            def caller(http: httpx.Client, body: bytes = body) -> Callable[[], None]:
                def call() -> None:
                    answer = http.post("/api/v1/resoudre", content=body, headers={"content-type": "application/json"})
                    assert answer.status_code == 200, answer.text
                return call

            def api(doc: dict[str, Any] = doc) -> None:
                fluxopt.solve(doc)

            def same_work(doc: dict[str, Any] = doc) -> None:
                result = solve_built(build(doc), keep_duals=True)
                json.dumps(result_document(result, explain(result)))

            calls = {w: caller(http) for w, http in clients_of.items()}
            for warm in calls.values():
                load(warm, 2, 4)
            api()
            a, w, b = alternate([api, same_work, calls[counts[-1]]], args.requests)
            print(row(f"{name}, API fluxopt.solve, 1 client (in turns with the next two)", len(a) / sum(a), a))
            print(row(f"{name}, API, the same work as a worker (duals, explain, document), 1 client",
                      len(w) / sum(w), w))
            print(row(f"{name}, service --workers {counts[-1]}, 1 client (in turns with the API)", len(b) / sum(b), b))
            overhead[name] = (quantile(b, 0.5) - quantile(a, 0.5), quantile(b, 0.5) - quantile(w, 0.5),
                              quantile(a, 0.5))
            for clients in (1, 4, 16):
                # The two servers in turns, twice, so that both see the same machine load.
                seconds = {c: 0.0 for c in counts}
                latencies: dict[int, list[float]] = {c: [] for c in counts}
                for turn in range(2):
                    for workers in (counts if turn == 0 else counts[::-1]):
                        rps, lat = load(calls[workers], clients, args.requests // 2)
                        seconds[workers] += len(lat) / rps
                        latencies[workers] += lat
                for workers in counts:
                    throughput[name, workers, clients] = len(latencies[workers]) / seconds[workers]
                    print(row(f"{name}, service --workers {workers}, {clients} client(s)",
                              throughput[name, workers, clients], latencies[workers]))
    print()
    for name, (over_api, over_work, api_p50) in overhead.items():
        print(f"- {name}: service p50 - API p50 at 1 client: {1000 * over_api:+.0f} ms (API p50 {1000 * api_p50:.0f} ms); "
              f"service p50 - same work in process: {1000 * over_work:+.0f} ms (goal: at most +50 ms on the example)")
    if args.workers > 1:
        for name in docs:
            for clients in (4, 16):
                ratio = throughput[name, args.workers, clients] / throughput[name, 1, clients]
                print(f"- {name}: throughput --workers {args.workers} / --workers 1 at {clients} clients: {ratio:.2f}x")


if __name__ == "__main__":
    main()
