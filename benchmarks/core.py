"""The core rebuild's goals (issue 9), measured side by side in one run.

    python benchmarks/core.py --gironde DIR --national DIR [--repeat 5] [--jobs 2] [--base SRC] [--skip-highs]
        [--skip-batch]

1. ``fluxopt solve`` end to end on a Gironde-scale instance (a subprocess: start-up, load,
   build, stages, explanation, workbook, write) against the hand-built highspy model of the same
   LP (``benchmarks/handbuilt.py``, also a subprocess), alternating, ``--repeat`` times each:
   medians and their ratio (goal <= 1.2), also with the bytecode cache on (see 4.); then where
   fluxopt's time goes at that scale (each
   phase once more, in this process, after a first warm-up solve; imports in a fresh process).
2. HiGHS time over the national set, in one process: the LP and solver settings before this
   rebuild (the old ``build_lp`` of commit f8ea0af, HiGHS's defaults, warm-started) against
   ``fluxopt.solve`` now (time inside HiGHS's ``run()``), instance by instance alternating; the
   stage optima must agree within the stage tolerance (goal <= 0.65x). ``--skip-highs`` leaves it out.
3. The national set with ``fluxopt batch --jobs 2``: wall time (goal < 20 s) and the CPU time of
   the batch and its workers (user + sys): CPU / jobs is the wall time on free cores.
   ``--skip-batch`` leaves it out.
4. ``fluxopt solve instances/exemple``: wall time, medians of ``--repeat`` (goal < 0.6 s), and
   the time ``fluxopt solve`` spends importing (a fresh process). When Python runs without its
   bytecode cache (``PYTHONDONTWRITEBYTECODE``, as on the benchmark machine), every run compiles
   fluxopt's modules again: each version is then also measured with the cache on (in a temporary
   ``PYTHONPYCACHEPREFIX``), as a ``pip``-installed package runs.

``--base SRC``: the ``src`` folder of another checkout (e.g. ``git worktree add /tmp/core-base
main``); its ``fluxopt`` runs the same commands (``PYTHONPATH=SRC``), alternating with this one,
so that before and after come from one run. The load average (1 min) is printed at the start
and after each part: the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, TypeVar

import fluxopt
from lpbench import baseline, lexicographic, old_build_lp, same

HERE = Path(__file__).resolve().parent
EXEMPLE = HERE.parent / "instances" / "exemple"
#: What ``fluxopt solve`` imports before it reads the instance, and what the hand-built model imports.
SOLVE_IMPORTS = "fluxopt.cli, fluxopt.solvers, fluxopt.builder, fluxopt.instance, fluxopt.api, fluxopt.write"
HAND_IMPORTS = "numpy, pandas, highspy"
#: The libraries ``fluxopt solve`` needs (its floor).
LIBRARIES = "numpy, pandas, highspy, click, xlsxwriter"
T = TypeVar("T")


def load() -> str:
    return f"load average {os.getloadavg()[0]:.2f}"


def environments(base: Path | None) -> dict[str, dict[str, str]]:
    """The environment of each version measured: this checkout's fluxopt, and ``base``'s if given."""
    now = dict(os.environ)
    if base is None:
        return {"now": now}
    return {"base": {**now, "PYTHONPATH": str(base.resolve())}, "now": now}


def run(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall and CPU seconds (user + sys of the command and every process it waited for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def solve_command(folder: Path, out: str) -> list[str]:
    return [sys.executable, "-m", "fluxopt", "solve", str(folder), "--out", out, "-q"]


def end_to_end(folder: Path, repeat: int, envs: dict[str, dict[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        variants = bytecode_variants(envs, tmp, folder)
        times: dict[str, list[float]] = {name: [] for name in [*variants, "hand-built"]}
        for k in range(repeat):
            for name, env in variants.items():
                times[name].append(run(solve_command(folder, f"{tmp}/{k}-{name}"), env)[0])
            times["hand-built"].append(run([sys.executable, str(HERE / "handbuilt.py"), str(folder)])[0])
    hand = statistics.median(times["hand-built"])
    print(f"1. Gironde-scale end to end (medians of {repeat}, alternating): hand-built {hand:.2f} s; " + "; ".join(
        f"fluxopt {name} {statistics.median(times[name]):.2f} s, ratio {statistics.median(times[name]) / hand:.2f}"
        for name in variants) + " (goal <= 1.2)")
    print("   all runs: " + "; ".join(f"{name} " + " ".join(f"{t:.2f}" for t in ts) for name, ts in times.items()))
    phases(folder)
    print(f"   {load()}")


def import_seconds(modules: str) -> float:
    """Seconds to import ``modules`` in a fresh interpreter (median of 3)."""
    code = f"import time; t = time.perf_counter(); import {modules}; print(time.perf_counter() - t)"
    return statistics.median(float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                                  text=True).stdout) for _ in range(3))


def phases(folder: Path) -> None:
    """Where ``fluxopt solve``'s time goes, phase by phase (this checkout, after one warm-up solve)."""
    from fluxopt.api import solve_built
    from fluxopt.builder import build
    from fluxopt.cli import bailleur_table
    from fluxopt.explanations import explain
    from fluxopt.instance import load_instance
    from fluxopt.workbook import write_workbook
    from fluxopt.write import write_result

    fluxopt.solve(folder)
    seconds: dict[str, float] = {}

    def timed(name: str, step: Callable[[], T]) -> T:
        start = time.perf_counter()
        value = step()
        seconds[name] = time.perf_counter() - start
        return value

    with tempfile.TemporaryDirectory() as tmp:
        inst = timed("load", lambda: load_instance(folder))
        built = timed("build", lambda: build(inst))
        result = timed("stages and result", lambda: solve_built(built, keep_duals=True))
        # As ``fluxopt solve`` without --sensibilite: the reasons are not checked by counterfactual solves.
        explanation = timed("explanation", lambda: explain(result, counterfactuals=False))
        timed("CSV files and summary", lambda: write_result(result, Path(tmp) / "r", workbook=False,
                                                            explanation=explanation))
        timed("workbook", lambda: write_workbook(result, Path(tmp) / "resultats.xlsx", explanation))
        timed("table printed", lambda: bailleur_table(result))
    highs = sum(s.solver_seconds for s in result.stages)
    print(f"   fluxopt's phases, one process: imports {import_seconds(SOLVE_IMPORTS):.2f} s (hand-built's "
          f"{import_seconds(HAND_IMPORTS):.2f} s); " + ", ".join(f"{k} {v:.3f}" for k, v in seconds.items())
          + f" s; of which HiGHS {highs:.3f} s")


def national_highs(folder: Path) -> None:
    old = old_build_lp()
    before = after = 0.0
    agree = 0
    paths = sorted(p for p in folder.iterdir() if (p / "instance.toml").is_file())
    for path in paths:
        base, policy = baseline(path)
        result_old = lexicographic(old(base, policy), policy)
        result = fluxopt.solve(path)
        before += sum(result_old.seconds.values())
        after += sum(s.solver_seconds for s in result.stages)
        agree += same(result_old.optima, result.objectives)
    print(f"2. National HiGHS time: before {before:.1f} s, now {after:.1f} s: {after / before:.2f}x "
          f"(goal <= 0.65); optima equal on {agree}/{len(paths)}; {load()}")


def national_jobs(folder: Path, jobs: int, repeat: int, envs: dict[str, dict[str, str]]) -> None:
    paths = sorted(str(p) for p in folder.iterdir() if (p / "instance.toml").is_file())
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in envs}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(repeat):
            for name, env in envs.items():
                runs[name].append(run([sys.executable, "-m", "fluxopt", "batch", *paths, "--out", f"{tmp}/{name}{k}",
                                       "--jobs", str(jobs), "--no-progress"], env))
    print(f"3. National set, fluxopt batch --jobs {jobs} (goal < 20 s wall), medians of {repeat}: " + "; ".join(
        f"{name} {statistics.median(w for w, _c in rs):.1f} s wall, {statistics.median(c for _w, c in rs):.1f} s CPU "
        f"(CPU / {jobs} = {statistics.median(c for _w, c in rs) / jobs:.1f} s)" for name, rs in runs.items())
        + f"; {load()}")
    print("   all runs (wall/CPU): " + "; ".join(f"{name} " + " ".join(f"{w:.1f}/{c:.1f}" for w, c in rs)
                                              for name, rs in runs.items()))


def with_bytecode(env: dict[str, str], cache: str) -> dict[str, str]:
    """``env`` with Python's bytecode cache on (in ``cache``, outside the checkouts), as an installed package has it."""
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPYCACHEPREFIX": cache}


def bytecode_variants(envs: dict[str, dict[str, str]], tmp: str, folder: Path) -> dict[str, dict[str, str]]:
    """``envs``, and when Python runs without its bytecode cache, each also with the cache on
    (compiled by a first solve of ``folder``), as a ``pip``-installed package runs."""
    variants = dict(envs)
    if sys.dont_write_bytecode:
        variants |= {f"{name}, bytecode cached": with_bytecode(env, f"{tmp}/pyc-{name}") for name, env in envs.items()}
        for name, env in variants.items():
            run(solve_command(folder, f"{tmp}/warm-{name}"), env)
    return variants


def exemple(repeat: int, envs: dict[str, dict[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        variants = bytecode_variants(envs, tmp, EXEMPLE)
        times: dict[str, list[float]] = {name: [] for name in variants}
        for k in range(repeat):
            for name, env in variants.items():
                times[name].append(run(solve_command(EXEMPLE, f"{tmp}/{k}-{name}"), env)[0])
    print(f"4. fluxopt solve instances/exemple (goal < 0.6 s), medians of {repeat}: " + "; ".join(
        f"{name} {statistics.median(ts):.2f} s" for name, ts in times.items())
        + f"; imports {import_seconds(SOLVE_IMPORTS):.2f} s (this checkout), the libraries alone "
          f"({LIBRARIES}) {import_seconds(LIBRARIES):.2f} s; {load()}")
    print("   all runs: " + "; ".join(f"{name} " + " ".join(f"{t:.2f}" for t in ts) for name, ts in times.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gironde", type=Path, required=True)
    parser.add_argument("--national", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--base", type=Path, help="src folder of another checkout, measured alternately")
    parser.add_argument("--skip-highs", action="store_true", help="leave out part 2 (the old LP's HiGHS time)")
    parser.add_argument("--batch-repeat", type=int, default=1, help="runs of part 3 per version")
    parser.add_argument("--skip-batch", action="store_true", help="leave out part 3 (the national batch)")
    args = parser.parse_args()
    envs = environments(args.base)
    print(f"start: {load()}; bytecode cache {'off' if sys.dont_write_bytecode else 'on'}")
    end_to_end(args.gironde, args.repeat, envs)
    if not args.skip_highs:
        national_highs(args.national)
    if not args.skip_batch:
        national_jobs(args.national, args.jobs, args.batch_repeat, envs)
    exemple(args.repeat, envs)


if __name__ == "__main__":
    main()
