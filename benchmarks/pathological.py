"""The two pathological instances of issue 10, built and timed with ``fluxopt solve --time-limit``.

- ``un-bailleur``: 2,000 réservataires on one bailleur (100 segments, 4,000 rights);
- ``5000-segments``: 5,000 segments of 50 bailleurs, 500 réservataires, 50,000 stock rows.

Every réservataire's perimeter is the whole département (the worst case: S_{b,r} holds all of
the bailleur's segments). Each instance is run as a subprocess (``python -m fluxopt solve``)
with ``--time-limit`` and, when given, ``--memory-limit``; the wall time, the peak memory of the
child (``ru_maxrss``), the exit code and fluxopt's own size estimate are printed as a Markdown
table. Usage::

    python benchmarks/pathological.py --time-limit 5 [--memory-limit 8] [--out /tmp/patho]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _write(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def make_instance(folder: Path, *, bailleurs: int, communes: int, reservataires: int, rights: int,
                  seed: int = 1) -> Path:
    """An instance with ``bailleurs`` × ``communes`` × 2 segments (qpv and not), ``reservataires``
    réservataires over the whole département and ``rights`` stock rows."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "instance.toml").write_text('nom = "pathological"\nterritoire = "33"\nannee = 2025\n'
                                          'politique = "elan-2020"\n', encoding="utf-8")
    codes = [f"33{i:03d}" for i in range(1, communes + 1)]
    seg, capacity = [], {}
    for b in range(bailleurs):
        for c in codes:
            for qpv in (0, 1):
                n = rng.randint(200, 2000)
                seg.append([f"B{b}", c, "200000001", qpv, n, round(n * 0.08, 1)])
                capacity[(f"B{b}", c, qpv)] = n
    _write(folder / "patrimoine.csv", ["bailleur", "commune", "epci", "qpv", "logements", "liberations"], seg)
    kinds = ["commune", "autre", "action_logement", "departement"]
    res = [["PREF", "prefet", ""]] + [[f"R{i}", kinds[i % len(kinds)], "200000001" if i % len(kinds) == 0 else ""]
                                      for i in range(1, reservataires)]
    _write(folder / "reservataires.csv", ["reservataire", "type", "perimetre"], res)
    keys = list(capacity)
    stock: dict[tuple, int] = {}
    per_right = 0.25 * sum(capacity.values()) / max(rights, 1)
    while len(stock) < rights:
        key = (rng.choice(keys), f"R{rng.randrange(1, reservataires)}" if rng.random() > 0.05 else "PREF")
        stock[key] = max(1, int(rng.uniform(0.2, 1.0) * per_right))
    used: dict[tuple, int] = {}
    rows = []
    for ((b, c, q), r), n in stock.items():
        n = min(n, capacity[(b, c, q)] - used.get((b, c, q), 0))
        if n > 0:
            used[(b, c, q)] = used.get((b, c, q), 0) + n
            rows.append([b, r, c, q, n])
    _write(folder / "stock.csv", ["bailleur", "reservataire", "commune", "qpv", "logements_reserves"], rows)
    return folder


INSTANCES = {
    "un-bailleur": dict(bailleurs=1, communes=50, reservataires=2000, rights=4000),
    "5000-segments": dict(bailleurs=50, communes=50, reservataires=500, rights=50_000),
}


def run(folder: Path, out: Path, time_limit: float, memory_limit: float | None) -> dict:
    import fluxopt
    from fluxopt.lp import estimate_size

    estimate = estimate_size(fluxopt.load_instance(folder))
    args = [sys.executable, "-m", "fluxopt", "solve", str(folder), "-o", str(out), "-q", "--force",
            "--time-limit", str(time_limit)]
    if memory_limit is not None:
        args += ["--memory-limit", str(memory_limit)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    status = ""
    if (out / "summary.json").is_file() and proc.returncode in (0, 3, 4):
        status = json.loads((out / "summary.json").read_text(encoding="utf-8"))["status"]
    return {"exit": proc.returncode, "wall": wall, "peak_mib": peak / 1024 if peak > before else None,
            "status": status, "estimate": estimate, "stderr": proc.stderr.strip().splitlines()[-1:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-limit", type=float, default=5.0)
    parser.add_argument("--memory-limit", type=float, default=None, help="GiB, passed to fluxopt solve")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--only", choices=sorted(INSTANCES), default=None)
    args = parser.parse_args()
    base = args.out or Path(tempfile.mkdtemp(prefix="patho-"))
    print(f"cores {os.cpu_count()}, python {sys.version.split()[0]}, load {os.getloadavg()[0]:.2f}", file=sys.stderr)
    print("| instance | x columns (estimate) | rows (estimate) | non-zeros (estimate) | memory estimate (GiB) | "
          "--time-limit (s) | wall (s) | exit | status | peak RSS (MiB) | last line on stderr |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, shape in INSTANCES.items():
        if args.only and name != args.only:
            continue
        t0 = time.perf_counter()
        folder = make_instance(base / name, **shape)
        print(f"{name}: generated in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        r = run(folder, base / f"{name}-out", args.time_limit, args.memory_limit)
        e = r["estimate"]
        peak = "" if r["peak_mib"] is None else f"{r['peak_mib']:.0f}"
        print(f"| {name} | {e.x:,} | {e.rows:,} | {e.nonzeros:,} | {e.bytes / 2**30:.2f} | {args.time_limit:g} | "
              f"{r['wall']:.1f} | {r['exit']} | {r['status']} | {peak} | {' '.join(r['stderr'])[:160]} |", flush=True)


if __name__ == "__main__":
    main()
