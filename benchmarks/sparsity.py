"""Old (implicit X and own) vs new (explicit columns X, own) formulation: size and HiGHS time per stage.

    python benchmarks/sparsity.py PATH ... [--repeat 1] [--csv OUT]

PATH: instance folders or folders of instances (``fluxopt generate --departements 101 --seed 1
--out /tmp/national``, ``instances``). Both LPs are built from the same Baseline in this process
(the old ``build_lp`` is loaded from git, see lpbench.py) and solved by the same plain highspy
lexicographic loop (warm-started, fixing rows as fluxopt adds them, one thread); per instance the
order old/new alternates, so that drifts of the shared machine hit both. Prints per instance and
in total: columns, rows, non-zeros, densest column, HiGHS seconds per stage (inside ``run()``),
and checks that every stage optimum agrees within 1e-6 · max(1, |v|).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from lpbench import baseline, build_lp, instances, lexicographic, old_build_lp, same

STAGE_SHORT = {"ecart_cil": "cil", "ecart_max": "max", "ecart_total": "tot", "regularite": "reg"}


def size(lp) -> dict[str, int]:
    return {"cols": lp.num_col, "rows": lp.num_row, "nnz": len(lp.value),
            "max_col_nnz": int(np.bincount(lp.index, minlength=lp.num_col).max()) if len(lp.value) else 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--csv", type=Path)
    args = parser.parse_args()
    old = old_build_lp()
    rows, bad = [], []
    for i, path in enumerate(instances(args.paths)):
        base, policy = baseline(path)
        lps = {"old": old(base, policy), "new": build_lp(base, policy)}
        row = {"instance": path.name}
        for tag, lp in lps.items():
            row.update({f"{k}_{tag}": v for k, v in size(lp).items()})
        runs = {}
        for rep in range(args.repeat):
            for tag in (("old", "new") if (i + rep) % 2 == 0 else ("new", "old")):
                run = lexicographic(lps[tag], policy)
                if tag in runs:
                    for k, v in run.seconds.items():
                        runs[tag].seconds[k] = min(runs[tag].seconds[k], v)
                else:
                    runs[tag] = run
        for tag, run in runs.items():
            row.update({f"{STAGE_SHORT[k]}_{tag}": v for k, v in run.seconds.items()})
            row[f"highs_{tag}"] = sum(run.seconds.values())
        ok = runs["old"].status == runs["new"].status == "optimal" and same(runs["old"].optima, runs["new"].optima)
        row["optima_equal"] = ok
        if not ok:
            bad.append((path.name, runs["old"].optima, runs["new"].optima))
        rows.append(row)
        print(f"{path.name}: nnz {row['nnz_old']} -> {row['nnz_new']}, HiGHS {row['highs_old']:.3f} -> "
              f"{row['highs_new']:.3f} s, optima {'equal' if ok else 'DIFFER'}", file=sys.stderr, flush=True)
    df = pd.DataFrame(rows)
    if args.csv:
        df.to_csv(args.csv, index=False)
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 50)
    print(df.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    tot = df.drop(columns=["instance", "optima_equal"]).sum()
    print("\nTotals over", len(df), "instances:")
    for k in ("cols", "rows", "nnz"):
        print(f"  {k}: {tot[k + '_old']:,.0f} -> {tot[k + '_new']:,.0f} ({tot[k + '_new'] / tot[k + '_old']:.3f}x)")
    for k in [*STAGE_SHORT.values(), "highs"]:
        if f"{k}_old" in tot:
            print(f"  HiGHS {k}: {tot[k + '_old']:.2f} -> {tot[k + '_new']:.2f} s "
                  f"({tot[k + '_new'] / max(tot[k + '_old'], 1e-12):.3f}x)")
    print(f"  optima equal (1e-6 rel) on {int(df['optima_equal'].sum())}/{len(df)} instances")
    for name, a, b in bad:
        print("  DIFFER:", name, a, b)


if __name__ == "__main__":
    main()
