"""HiGHS settings per stage, warm vs cold starts, and provable stage skips, on the new (sparse) LP.

    python benchmarks/settings.py PATH ... [--configs NAME ...] [--csv OUT]

Every configuration solves each instance's four stages with lpbench.lexicographic (plain highspy,
one thread, fixing rows as fluxopt adds them); per instance the configurations run one after the
other in a rotating order, so that machine drift hits them alike. Prints per configuration the
HiGHS seconds per stage (inside ``run()``, summed over the instances), the ratio to ``warm``
(today's way) and on how many instances its four optima equal ``warm``'s within 1e-6 · max(1, |v|).

Skip (``skip0``): a stage is skipped when a point built without solving (x proportional to the
flux, X = T, q and o at the Q1 bound that helps the CIL targets, shortfalls and deviations as
they follow) satisfies every row and every earlier fixing row within 1e-9 and gives the stage's
objective 0: every stage objective is a sum of non-negative columns with non-negative costs, so
0 is then its optimum (a proof, not a heuristic). The next solved stage starts cold.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from lpbench import baseline, build_lp, instances, lexicographic, same

STAGES = ("ecart_cil", "ecart_max", "ecart_total", "regularite")

CONFIGS = {
    "warm": dict(warm=True),  # today: one Highs object, default options (dual simplex)
    "cold": dict(warm=False),
    "warm_primal": dict(warm=True, options={"simplex_strategy": 4}),
    "warm_presolve_off": dict(warm=True, options={"presolve": "off"}),
    "cold_presolve_off": dict(warm=False, options={"presolve": "off"}),
    "ipm": dict(warm=False, options={"solver": "ipm", "run_crossover": "on"}),
    "warm_ipm_first": dict(warm=True, options=lambda s: {"solver": "ipm"} if s == "ecart_cil" else {}),
    "warm_primal_after_first": dict(warm=True, options=lambda s: {} if s == "ecart_cil" else {"simplex_strategy": 4}),
    "warm_primal_presolve_off": dict(warm=True, options={"simplex_strategy": 4, "presolve": "off"}),
    "pdlp": dict(warm=False, options={"solver": "pdlp"}),  # slow: not in the default list
    "skip0": dict(warm=True),  # + the skip certificate below
    "skip0_primal": dict(warm=True, options={"simplex_strategy": 4}),
}
DEFAULT = [k for k in CONFIGS if k != "pdlp"]


def zero_point(lp, base, stage_done: dict[str, float]) -> np.ndarray | None:
    """The candidate point (see the module doc), or None."""
    v = np.zeros(lp.num_col)
    c = lp.columns
    pairs = base.pairs[base.pairs["active"].to_numpy(dtype=bool)].reset_index(drop=True)
    T = pairs["cible"].to_numpy(dtype=float)
    F_br = pairs["flux_base"].to_numpy(dtype=float)
    rate = np.where(F_br > 0, T / np.where(F_br > 0, F_br, 1.0), 0.0)
    x = rate[lp.x_pair] * lp.F[lp.x_seg]
    v[c["x"].span] = x
    uniform = pairs["uniforme"].to_numpy(dtype=bool)
    v[c["rho"].span] = rate[uniform]
    v[c["X"].span] = np.bincount(lp.x_pair, weights=x, minlength=len(T))
    own = lp.F - np.bincount(lp.x_seg, weights=x, minlength=len(lp.F))
    if own.min() < -1e-9:
        return None
    v[c["own"].span] = np.maximum(own, 0.0)
    dev = v[c["X"].span] - T
    v[c["u_plus"].span], v[c["u_minus"].span] = np.maximum(dev, 0), np.maximum(-dev, 0)
    qpv = base.segments["qpv"].to_numpy(dtype=bool)
    holder = pairs["reservataire"].to_numpy(dtype=object)
    has_q = lp.q_of_x >= 0
    k = np.flatnonzero(has_q)
    lo_hi = np.array([base.q1[r] for r in holder[lp.x_pair[k]].tolist()], dtype=float).reshape(-1, 2)
    v[lp.q_of_x[k]] = np.where(qpv[lp.x_seg[k]], lo_hi[:, 0], lo_hi[:, 1]) * x[k]
    s = np.flatnonzero(lp.o_of_seg >= 0)
    kb = np.array([base.q1_bailleur[lp.segments[i][0]] for i in s.tolist()], dtype=float).reshape(-1, 2)
    v[lp.o_of_seg[s]] = np.where(qpv[s], kb[:, 0], kb[:, 1]) * own[s]
    # Shortfalls, z and the regularity parts follow from their rows.
    act = lp.activity(v)
    for name, col, sign in (("cil_hors_qpv", "d1", 1.0), ("cil_qpv", "d2", -1.0)):
        rows, cols = lp.rows[name], c[col]
        bound = lp.row_lower[rows.span] if sign > 0 else lp.row_upper[rows.span]
        short = np.maximum(0.0, sign * (bound - act[rows.span]))
        pos = {e: i for i, e in enumerate(cols.index)}
        for e, d in zip(rows.index, short.tolist()):
            v[cols.start + pos[e]] = d
    v[c["z"].start] = float(np.max((v[c["u_plus"].span] + v[c["u_minus"].span]) / T)) if len(T) else 0.0
    act = lp.activity(v)
    for name, plus, minus in (("regularite_x", "reg_x_plus", "reg_x_minus"), ("regularite_q", "reg_q_plus", "reg_q_minus"),
                              ("regularite_o", "reg_o_plus", "reg_o_minus")):
        r = act[lp.rows[name].span]  # = x - share X (etc.) since the reg parts are still 0
        v[c[plus].span], v[c[minus].span] = np.maximum(r, 0), np.maximum(-r, 0)
    act = lp.activity(v)
    tol = 1e-9 * np.maximum(1.0, np.abs(np.where(np.isfinite(lp.row_upper), lp.row_upper, lp.row_lower)))
    if np.any(act < lp.row_lower - tol) or np.any(act > lp.row_upper + tol) or np.any(v > lp.col_upper + 1e-9) \
            or np.any(v < lp.col_lower - 1e-9):
        return None
    if any(float(lp.costs[k] @ v) > bound for k, bound in stage_done.items()):
        return None
    return v


def make_skip(base):
    done: dict[str, float] = {}

    def skip(lp, stage):
        v = zero_point(lp, base, done)
        proven = v is not None and float(lp.costs[stage] @ v) == 0.0
        done[stage] = 1e-6  # the fixing row's bound if the optimum is 0 (checked again below if solved)
        return 0.0 if proven else None
    return skip, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--configs", nargs="*", default=DEFAULT)
    parser.add_argument("--csv", type=Path)
    args = parser.parse_args()
    rows = []
    paths = instances(args.paths)
    for i, path in enumerate(paths):
        base, policy = baseline(path)
        lp = build_lp(base, policy)
        names = args.configs[i % len(args.configs):] + args.configs[:i % len(args.configs)]
        for name in names:
            cfg = dict(CONFIGS[name])
            if name.startswith("skip0"):
                skip, _ = make_skip(base)
                cfg["skip"] = skip
            t0 = time.perf_counter()
            run = lexicographic(lp, policy, **cfg)
            wall = time.perf_counter() - t0
            rows.append({"instance": path.name, "config": name, "status": run.status, "wall": wall,
                         **{f"t_{k}": run.seconds.get(k, np.nan) for k in STAGES},
                         **{f"v_{k}": run.optima.get(k, np.nan) for k in STAGES},
                         **{f"it_{k}": run.iterations.get(k, 0) for k in STAGES},
                         "skipped": sum(1 for k in STAGES if run.iterations.get(k) == 0 and run.seconds.get(k) == 0.0)})
        print(path.name, file=sys.stderr, flush=True)
    df = pd.DataFrame(rows)
    if args.csv:
        df.to_csv(args.csv, index=False)
    ref = df[df.config == "warm"].set_index("instance")
    out = []
    for name in args.configs:
        d = df[df.config == name].set_index("instance")
        equal = sum(d.at[i, "status"] == "optimal" and same({k: ref.at[i, f"v_{k}"] for k in STAGES},
                                                            {k: d.at[i, f"v_{k}"] for k in STAGES}) for i in d.index)
        t = d[[f"t_{k}" for k in STAGES]].sum()
        total = float(t.sum())
        out.append({"config": name, **{k: round(float(t[f"t_{k}"]), 2) for k in STAGES}, "HiGHS": round(total, 2),
                    "vs warm": round(total / float(ref[[f"t_{k}" for k in STAGES]].sum().sum()), 3),
                    "iterations": int(d[[f"it_{k}" for k in STAGES]].sum().sum()),
                    "optima equal": f"{equal}/{len(d)}", "stages skipped": int(d["skipped"].sum())})
    print(pd.DataFrame(out).to_string(index=False))


if __name__ == "__main__":
    main()
