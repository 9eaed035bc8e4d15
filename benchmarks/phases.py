"""Where fluxopt's own time goes: per-phase sums over a set of instances, solved one after the other.

    python benchmarks/phases.py FOLDER [--only NAME ...]

FOLDER holds instance folders (e.g. from ``fluxopt generate --departements 101``). Each instance
is solved in this process and written to a temporary folder; the phases are timed by wrapping
the functions that do them: load (``load_instance``), baseline (``compute_baseline``), LP build
(``build_lp``), result tables (``shape_tables``), write (``write_result``: CSV files and summary,
as ``fluxopt batch`` writes them); *HiGHS* is the time
inside HiGHS's ``run()``; *other* is the rest (stage glue outside HiGHS, summary).
"""

from __future__ import annotations

import argparse
import importlib
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

import fluxopt

BUILDER = importlib.import_module("fluxopt.builder")
RESULT = importlib.import_module("fluxopt.result")
WRITE = importlib.import_module("fluxopt.write")
SECONDS: dict[str, float] = defaultdict(float)


def timed(module: Any, name: str, label: str) -> None:
    """Replace ``module.name`` by a wrapper that adds its time to SECONDS[label]."""
    function: Callable[..., Any] = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            SECONDS[label] += time.perf_counter() - start

    setattr(module, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--only", nargs="*", help="Instance folder names to keep.")
    args = parser.parse_args()
    for name, label in (("load_instance", "load"), ("compute_baseline", "baseline"), ("build_lp", "LP build")):
        timed(BUILDER, name, label)
    timed(RESULT, "shape_tables", "tables")
    timed(WRITE, "write_result", "write")
    paths = sorted(p for p in args.folder.iterdir() if (p / "instance.toml").is_file())
    paths = [p for p in paths if not args.only or p.name in args.only]
    total = highs = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths:
            start = time.perf_counter()
            result = fluxopt.solve(path)
            WRITE.write_result(result, Path(tmp) / path.name, workbook=False, explanation=False)
            total += time.perf_counter() - start
            highs += sum(s.solver_seconds or 0.0 for s in result.stages)
    own = total - highs
    print(f"{len(paths)} instances: end to end {total:.2f} s, HiGHS {highs:.2f} s, "
          f"end to end / HiGHS {total / highs:.3f}; fluxopt's own {own:.2f} s:")
    for label, seconds in SECONDS.items():
        print(f"  {label:<10} {seconds:7.2f}")
    print(f"  {'other':<10} {own - sum(SECONDS.values()):7.2f}")


if __name__ == "__main__":
    main()
