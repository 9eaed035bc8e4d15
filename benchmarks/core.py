"""The core rebuild's goals (issue 9), measured side by side in one run.

    python benchmarks/core.py --gironde DIR --national DIR [--repeat 3] [--jobs 2]

1. ``fluxopt solve`` end to end on a Gironde-scale instance (a subprocess: start-up, load,
   build, stages, explanation, workbook, write) against the hand-built highspy model of the same
   LP (``benchmarks/handbuilt.py``, also a subprocess), alternating, ``--repeat`` times each:
   medians and their ratio (goal <= 1.2).
2. HiGHS time over the national set, in one process: the LP and solver settings before this
   rebuild (the old ``build_lp`` of commit f8ea0af, HiGHS's defaults, warm-started) against
   ``fluxopt.solve`` now (time inside HiGHS's ``run()``), instance by instance alternating; the
   stage optima must agree within the stage tolerance (goal <= 0.65x).
3. The national set with ``fluxopt batch --jobs 2``: wall time (goal < 20 s).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import fluxopt
from lpbench import baseline, lexicographic, old_build_lp, same

HERE = Path(__file__).resolve().parent


def wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def end_to_end(folder: Path, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ours, hand = [], []
        for k in range(repeat):
            ours.append(wall([sys.executable, "-m", "fluxopt", "solve", str(folder), "--out", f"{tmp}/r{k}", "-q"]))
            hand.append(wall([sys.executable, str(HERE / "handbuilt.py"), str(folder)]))
    a, b = statistics.median(ours), statistics.median(hand)
    print(f"1. Gironde-scale end to end: fluxopt solve {a:.2f} s, hand-built {b:.2f} s (medians of {repeat}): "
          f"ratio {a / b:.2f} (goal <= 1.2)")


def national_highs(folder: Path) -> None:
    old = old_build_lp()
    before = after = 0.0
    agree = 0
    paths = sorted(p for p in folder.iterdir() if (p / "instance.toml").is_file())
    for path in paths:
        base, policy = baseline(path)
        run = lexicographic(old(base, policy), policy)
        result = fluxopt.solve(path)
        before += sum(run.seconds.values())
        after += sum(s.solver_seconds for s in result.stages)
        agree += same(run.optima, result.objectives)
    print(f"2. National HiGHS time: before {before:.1f} s, now {after:.1f} s: {after / before:.2f}x "
          f"(goal <= 0.65); optima equal on {agree}/{len(paths)}")


def national_jobs(folder: Path, jobs: int) -> None:
    paths = sorted(str(p) for p in folder.iterdir() if (p / "instance.toml").is_file())
    with tempfile.TemporaryDirectory() as tmp:
        seconds = wall([sys.executable, "-m", "fluxopt", "batch", *paths, "--out", tmp, "--jobs", str(jobs),
                        "--no-progress"])
    print(f"3. National set, fluxopt batch --jobs {jobs}: {seconds:.1f} s wall (goal < 20 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gironde", type=Path, required=True)
    parser.add_argument("--national", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    end_to_end(args.gironde, args.repeat)
    national_highs(args.national)
    national_jobs(args.national, args.jobs)


if __name__ == "__main__":
    main()
