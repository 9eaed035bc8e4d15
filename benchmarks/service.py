"""The service's load benchmark (issue 14), in one run: requests per second and p50/p95 latency of
``POST /api/v1/resoudre`` for the example and Gironde, at 1, 4 and 16 concurrent clients, against a
real ``fluxopt serve`` started with ``--workers 1`` and ``--workers W``, and the same work through the
Python API in 1 and W processes (the ceiling the machine allows), measured in turns.

    python benchmarks/service.py [--workers 2] [--requests 48] [--instances exemple gironde-33]

Goals: the service adds at most 50 ms p50 over the API on the example (one client); throughput
scales with --workers up to the number of cores. The load comes from a light asyncio httpx client
in its own process. The machine is shared: each line gives the CPU used per request by the
client, the server process (the event loop) and the workers, the cores our processes used and the
cores the rest of the machine used meanwhile (from /proc), and the service's own phases are read
from its Server-Timing header. Read ratios rather than absolute times.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.pool import Pool
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
TICK = os.sysconf("SC_CLK_TCK")
CLIENTS = (1, 4, 16)


def document(folder: Path) -> dict[str, Any]:
    doc: dict[str, Any] = {"instance": tomllib.loads((folder / "instance.toml").read_text(encoding="utf-8"))}
    for table in TABLES:
        if (folder / f"{table}.csv").exists():
            doc[table] = list(csv.DictReader((folder / f"{table}.csv").open(encoding="utf-8-sig")))
    return doc


# -- CPU accounting from /proc ------------------------------------------------------------------

def machine_busy() -> float:
    """CPU seconds the whole machine was busy since boot (all cores; idle and I/O wait excluded)."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    return (sum(values) - values[3] - values[4]) / TICK


def process_cpu() -> dict[int, tuple[int, float]]:
    """Every process: (parent, CPU seconds used)."""
    out: dict[int, tuple[int, float]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[int(name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK)
    return out


def server_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds of the server process and of its descendants (the fork server and the workers)."""
    table = process_cpu()
    children: dict[int, list[int]] = {}
    for child, (parent, _) in table.items():
        children.setdefault(parent, []).append(child)
    below, stack = 0.0, list(children.get(pid, []))
    while stack:
        p = stack.pop()
        below += table[p][1]
        stack += children.get(p, [])
    return table.get(pid, (0, 0.0))[1], below


# -- the client, in its own process ---------------------------------------------------------------

async def _client_load(url: str, body: bytes, clients: int, requests: int) -> dict[str, Any]:
    latencies: list[float] = []
    phases: dict[str, list[float]] = {}
    left = [requests]
    async with httpx.AsyncClient(base_url=url, timeout=600, limits=httpx.Limits(max_connections=clients)) as http:
        async def client() -> None:
            while left[0] > 0:
                left[0] -= 1
                start = time.perf_counter()
                answer = await http.post("/api/v1/resoudre", content=body, headers={"content-type": "application/json"})
                latencies.append(time.perf_counter() - start)
                assert answer.status_code == 200, answer.text
                for part in answer.headers["server-timing"].split(", "):
                    name, ms = part.split(";dur=")
                    phases.setdefault(name, []).append(float(ms))

        cpu, busy = time.process_time(), machine_busy()
        start = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        return {"wall": time.perf_counter() - start, "cpu": time.process_time() - cpu, "latencies": latencies,
                "machine": machine_busy() - busy, "phases": phases}


def client_main(url: str, body_file: str, clients: int, requests: int) -> None:
    """``--client``: load ``url`` and print what was measured as JSON."""
    print(json.dumps(asyncio.run(_client_load(url, Path(body_file).read_bytes(), clients, requests))))


# -- measures -----------------------------------------------------------------------------------

@dataclass
class Measure:
    """Requests of one case, summed over its turns."""

    wall: float = 0.0
    latencies: list[float] = field(default_factory=list)
    client: float = 0.0
    server: float = 0.0
    workers: float = 0.0
    others: float = 0.0
    phases: dict[str, list[float]] = field(default_factory=dict)

    def add(self, wall: float, latencies: list[float], client: float, server: float, workers: float,
            machine: float) -> None:
        self.wall += wall
        self.latencies += latencies
        self.client, self.server, self.workers = self.client + client, self.server + server, self.workers + workers
        self.others += max(machine - client - server - workers, 0.0)

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.wall

    def row(self, label: str) -> str:
        n = len(self.latencies)
        ours = (self.client + self.server + self.workers) / self.wall
        return (f"| {label} | {self.rps:.1f} | {1000 * quantile(self.latencies, 0.5):.0f} | "
                f"{1000 * quantile(self.latencies, 0.95):.0f} | {1000 * self.client / n:.0f} / "
                f"{1000 * self.server / n:.0f} / {1000 * self.workers / n:.0f} | {ours:.2f} | {self.others / self.wall:.2f} |")


def quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1] if len(values) > 1 else values[0]


@contextmanager
def server(workers: int) -> Iterator[tuple[str, int]]:
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
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(15)


def measure_service(into: Measure, url: str, pid: int, body_file: Path, clients: int, requests: int) -> None:
    """One turn: ``requests`` requests from ``clients`` clients of a client process, with the CPU each side used."""
    server0, workers0 = server_cpu(pid)
    out = subprocess.run([sys.executable, __file__, "--client", url, str(body_file), str(clients), str(requests)],
                         check=True, capture_output=True, text=True).stdout
    server1, workers1 = server_cpu(pid)
    got = json.loads(out)  # the machine's CPU is read by the client around its load (the server idles outside it)
    into.add(got["wall"], got["latencies"], got["cpu"], server1 - server0, workers1 - workers0, got["machine"])
    for name, values in got["phases"].items():
        into.phases.setdefault(name, []).extend(values)


_DOC: dict[str, Any] = {}


def _same_work(count: int) -> tuple[list[float], float]:
    """In a pool process: ``count`` times the work of a service worker; (latencies, CPU seconds)."""
    latencies, cpu = [], time.process_time()
    for _ in range(count):
        start = time.perf_counter()
        result = solve_built(build(_DOC), keep_duals=True)
        json.dumps(result_document(result, explain(result)))
        latencies.append(time.perf_counter() - start)
    return latencies, time.process_time() - cpu


def measure_api(into: Measure, pool: Pool, processes: int, requests: int) -> None:
    """One turn: ``requests`` solves shared by ``processes`` API processes."""
    busy0 = machine_busy()
    start = time.perf_counter()
    parts = pool.map(_same_work, [requests // processes] * processes)
    wall = time.perf_counter() - start
    busy1 = machine_busy()
    into.add(wall, [lat for lats, _ in parts for lat in lats], 0.0, 0.0, sum(cpu for _, cpu in parts), busy1 - busy0)


def alternate(calls: list[Callable[[], object]], requests: int) -> list[list[float]]:
    """One client, each call in turn, ``requests`` times: the latencies of each (under the same machine load)."""
    out: list[list[float]] = [[] for _ in calls]
    for _ in range(requests):
        for call, latencies in zip(calls, out):
            start = time.perf_counter()
            call()
            latencies.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--requests", type=int, default=48)
    parser.add_argument("--instances", nargs="+", default=["exemple", "gironde-33"])
    parser.add_argument("--client", nargs=4, metavar=("URL", "BODY", "CLIENTS", "REQUESTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        url, body_file, clients, requests = args.client
        client_main(url, body_file, int(clients), int(requests))
        return
    docs = {name: document(ROOT / "instances" / name) for name in args.instances}
    print(f"# fluxopt service benchmark ({os.cpu_count()} cores, {args.requests} requests per line, "
          f"load average {os.getloadavg()[0]:.2f} at the start)\n")
    head = ("| case | requests/s | p50 ms | p95 ms | CPU ms/request: client / server / workers "
            "| cores used: ours | others |\n|---|---|---|---|---|---|---|")
    counts = sorted({1, args.workers})
    half = args.requests // 2
    ratios: list[str] = []
    overhead: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, server(counts[0]) as first, server(counts[-1]) as last:
        servers = {counts[0]: first, counts[-1]: last}
        for name, doc in docs.items():
            body_file = Path(tmp) / f"{name}.json"
            body_file.write_bytes(json.dumps(doc).encode())
            _DOC.clear()
            _DOC.update(doc)
            _same_work(1)
            pools = {p: multiprocessing.get_context("fork").Pool(p) for p in counts}
            for p, pool in pools.items():
                pool.map(_same_work, [1] * p)
            for url, pid in servers.values():
                measure_service(Measure(), url, pid, body_file, 2, 4)  # warm both servers

            # Latency over the API: one client, in turns, in this process.
            with httpx.Client(base_url=servers[counts[-1]][0], timeout=600) as http:
                body = body_file.read_bytes()

                def service_call(body: bytes = body) -> None:
                    answer = http.post("/api/v1/resoudre", content=body, headers={"content-type": "application/json"})
                    assert answer.status_code == 200, answer.text

                a, w, s = alternate([partial(fluxopt.solve, doc), partial(_same_work, 1), service_call], args.requests)
            print(f"\n## {name}\n\n| case (1 client, in turns) | requests/s | p50 ms | p95 ms |\n|---|---|---|---|")
            for label, lat in (("API fluxopt.solve", a), ("API, the same work as a worker (duals, explain, "
                                                              "document)", w), (f"service --workers {counts[-1]}", s)):
                print(f"| {label} | {len(lat) / sum(lat):.1f} | {1000 * quantile(lat, 0.5):.0f} | "
                      f"{1000 * quantile(lat, 0.95):.0f} |")
            overhead.append(f"- {name}: service p50 - API p50, 1 client: {1000 * (quantile(s, 0.5) - quantile(a, 0.5)):+.0f} ms; "
                            f"service p50 - same work in process: {1000 * (quantile(s, 0.5) - quantile(w, 0.5)):+.0f} ms "
                            "(goal: at most +50 ms on the example)")

            # Throughput: each case twice, the order reversed the second time, so that all see the same load.
            print(f"\n{head}")
            api = {p: Measure() for p in counts}
            service = {(c, w): Measure() for c in CLIENTS for w in counts}
            for turn in range(2):
                cases: list[Callable[[], None]] = []
                for p in counts:
                    cases.append(partial(measure_api, api[p], pools[p], p, half))
                for clients in CLIENTS:
                    for workers in counts:
                        url, pid = servers[workers]
                        cases.append(partial(measure_service, service[clients, workers], url, pid, body_file, clients,
                                             half))
                for case in cases if turn == 0 else cases[::-1]:
                    case()
            for pool in pools.values():
                pool.close()
            for p in counts:
                print(api[p].row(f"API, the same work, {p} process{'es' if p > 1 else ''}"))
            for clients in CLIENTS:
                for workers in counts:
                    print(service[clients, workers].row(f"service --workers {workers}, {clients} client(s)"))
            if len(counts) > 1:
                w = counts[-1]
                ratios.append(f"- {name}: API {w} processes / 1: {api[w].rps / api[1].rps:.2f}x; service --workers {w} / "
                              "--workers 1 at " + ", ".join(f"{c} clients: {service[c, w].rps / service[c, 1].rps:.2f}x"
                                                            for c in CLIENTS))
            for key in ((1, counts[-1]), (CLIENTS[-1], counts[-1])):
                phases = service[key].phases
                print(f"\nServer-Timing, --workers {key[1]}, {key[0]} client(s), median ms: "
                      + ", ".join(f"{phase} {statistics.median(v):.1f}" for phase, v in phases.items()))
    print(f"\nLoad average at the end: {os.getloadavg()[0]:.2f}\n")
    print("\n".join(overhead + ratios))


if __name__ == "__main__":
    main()
