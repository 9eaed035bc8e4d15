"""The controlled rounding of logements_arrondis (fluxopt.rounding), timed on random matrices.

    python benchmarks/rounding.py [--repeat 5]

Matrices bailleurs x holders with about 60 % of the cells nonzero (a réservataire holds rights
at some bailleurs only) and fractional values up to 300 dwellings; median time of the HiGHS LP
and the distance to the exact values against the cell-by-cell rounding (which does not add up).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from fluxopt.rounding import controlled_rounding


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(12)
    for m, n in ((9, 21), (40, 120), (150, 400)):
        times, extra = [], []
        for _ in range(args.repeat):
            a = rng.uniform(0, 300, (m, n)) * (rng.uniform(size=(m, n)) < 0.6)
            start = time.perf_counter()
            r = controlled_rounding(a)
            times.append(time.perf_counter() - start)
            extra.append(np.abs(r.cells - a).sum() - np.abs(np.rint(a) - a).sum())
        print(f"{m:>4} x {n:<4} cells {m * n:>6}: {statistics.median(times) * 1000:8.1f} ms; "
              f"distance above cell-by-cell rounding: {statistics.median(extra):.2f} dwellings in all")


if __name__ == "__main__":
    main()
