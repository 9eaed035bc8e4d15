"""The national bilan in batch (issue 15), measured in one run; writes benchmarks/BILAN.md.

    python benchmarks/bilan.py [--seed 1] [--departements 101] [--jobs 2] [--work DIR]

1. Generates the national set with a realised year per département (``generate(..., realise=True)``).
2. Solves it in batch (``solve_many``, ``--jobs`` workers): the conventions of year N.
3. Draws the 101 bilans one after the other in this process, twice: the computation only
   (read the result folder and realise.csv, check every row, compute the tables), then
   everything ``fluxopt bilan`` writes (CSV, JSON, bilan.xlsx with charts, the letters).
4. Draws them again in ``--jobs`` worker processes, written in full (the batch).
   The bilan is arithmetic: it should take seconds, a small fraction of the solve.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

import fluxopt
from fluxopt.bilan import compute_bilan, load_conventions, read_realise, write_bilan
from fluxopt.generate import generate


def one(result: Path, realise: Path, out: Path) -> int:
    """One bilan written in full (a worker's job); returns its letters."""
    done = fluxopt.bilan(result, realise)
    write_bilan(done, out)
    return len(done.parts)


def run(args: argparse.Namespace) -> str:
    load = os.getloadavg()[0]
    work = Path(args.work or tempfile.mkdtemp(prefix="bilan-bench-"))
    start = time.perf_counter()
    folders = generate(args.departements, seed=args.seed, out=work / "instances", realise=True)
    generation = time.perf_counter() - start
    rows = sum(sum(1 for _ in (f / "realise.csv").open(encoding="utf-8")) - 1 for f in folders)
    start = time.perf_counter()
    table = fluxopt.solve_many(folders, jobs=args.jobs, out=work / "results", progress=False)
    solve_wall = time.perf_counter() - start
    results = {Path(p).name: work / "results" / d for p, d in zip(folders, table["dossier"])}
    phases = {"conventions": 0.0, "realise": 0.0, "calcul": 0.0}
    per: list[tuple[str, int, float]] = []
    start = time.perf_counter()
    for folder in folders:
        t0 = time.perf_counter()
        conv = load_conventions(results[folder.name])
        t1 = time.perf_counter()
        realise = read_realise(folder / "realise.csv", conv)
        t2 = time.perf_counter()
        compute_bilan(conv, realise)
        t3 = time.perf_counter()
        phases["conventions"] += t1 - t0
        phases["realise"] += t2 - t1
        phases["calcul"] += t3 - t2
        per.append((folder.name, len(realise.frame), t3 - t0))
    compute_wall = time.perf_counter() - start
    start = time.perf_counter()
    letters = 0
    for folder in folders:
        done = fluxopt.bilan(results[folder.name], folder / "realise.csv")
        write_bilan(done, work / "bilans" / folder.name)
        letters += len(done.parts)
    full_wall = time.perf_counter() - start
    start = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor(args.jobs) as pool:
        jobs = [pool.submit(one, results[f.name], f / "realise.csv", work / "bilans-batch" / f.name) for f in folders]
        assert sum(j.result() for j in jobs) == letters
    batch_wall = time.perf_counter() - start
    times = pd.DataFrame(per, columns=["departement", "lignes", "secondes"])
    biggest = times.loc[times["lignes"].idxmax()]
    lines = [
        "# Benchmark: the national bilan", "",
        f"`python benchmarks/bilan.py --seed {args.seed} --departements {args.departements} --jobs {args.jobs}`, "
        f"one run on {os.cpu_count()} cores (shared: expect noise; load average at the start {load:.2f}, "
        f"at the end {os.getloadavg()[0]:.2f}).", "",
        "| step | seconds |", "|---|---|",
        f"| generate {len(folders)} départements with realise.csv ({rows:,} realised rows) | {generation:.1f} |",
        f"| solve them in batch (jobs={args.jobs}, wall) | {solve_wall:.1f} |",
        f"| bilans, computation only (one process, sequential) | {compute_wall:.1f} |",
        f"| — reading the result folders | {phases['conventions']:.1f} |",
        f"| — reading and checking realise.csv | {phases['realise']:.1f} |",
        f"| — computing the tables | {phases['calcul']:.1f} |",
        f"| bilans written in full (CSV, JSON, bilan.xlsx with charts, {letters:,} letters) | {full_wall:.1f} |",
        f"| the same in batch (jobs={args.jobs}, wall) | {batch_wall:.1f} |",
        "",
        f"Ratios in this run: the bilans' computation takes {compute_wall / solve_wall:.2f} × the batch solve's wall "
        f"time, written in full {full_wall / solve_wall:.2f} ×, in batch {batch_wall / solve_wall:.2f} ×. Per département: median "
        f"{times['secondes'].median():.3f} s, largest {times['secondes'].max():.3f} s; the largest realise.csv "
        f"({biggest['departement']}, {int(biggest['lignes']):,} rows) takes {biggest['secondes']:.3f} s.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--departements", type=int, default=101)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--work", help="working folder (default: a new temporary folder)")
    parser.add_argument("--report", default=str(Path(__file__).with_name("BILAN.md")))
    args = parser.parse_args()
    text = run(args)
    Path(args.report).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
