"""The SPEC §4 LP built by hand in highspy from the instance's CSV files (no fluxopt import): the yardstick.

    python benchmarks/handbuilt.py INSTANCE ... [--settings default|recommended]

Reads patrimoine/reservataires/stock/bailleurs/cil.csv and the policy ``models/elan-2020.toml``
(its rotation method, uniform préfet, caps, Q1 shares, CIL rates, order and tolerance; the
version-2 options prefet.cible, defaut.vers_prefet, report.csv, accords.csv, cil.relogements_q1,
surcharges and decimal commas are not handled: none of the bundled or generated instances uses
them). Builds the sparse LP (explicit X[b,r] and own_s columns, as fluxopt's lp.py on branch
lp-sparse) as CSR arrays, passes it at once, and solves the stages lexicographically on one Highs
object (costs replaced, fixing row objective <= v* + tol * max(1, |v*|) appended per stage).
``--settings recommended`` (the default) uses the options benchmarks/RESULTS.md recommends;
``default`` HiGHS's defaults. Prints wall time (read + build + solve), HiGHS time (inside run())
per stage and the four optima.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import tomllib
from pathlib import Path

import highspy
import numpy as np
import pandas as pd

POLICY = Path(__file__).resolve().parents[1] / "models" / "elan-2020.toml"
#: Per stage after the first (the first: HiGHS's defaults): primal simplex, warm-started (see RESULTS.md).
RECOMMENDED = {"simplex_strategy": 4}
INF = highspy.kHighsInf


def read(folder: Path) -> dict[str, pd.DataFrame]:
    return {n: pd.read_csv(folder / f"{n}.csv", dtype=str, keep_default_na=False)
            for n in ("patrimoine", "reservataires", "stock", "bailleurs", "cil")}


def num(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s.replace("", np.nan)).to_numpy(dtype=float)


def build(folder: Path, pol: dict):
    t = read(folder)
    year = tomllib.loads((folder / "instance.toml").read_text(encoding="utf-8"))["annee"]
    p = t["patrimoine"].copy()
    N = np.clip(num(p["logements"]) - np.nan_to_num(num(p["logements_hors_flux"])), 0, None)
    lib, rate = num(p["liberations"]), num(p["taux_rotation"])
    L = np.where(np.isnan(lib), rate * N, lib)
    z0 = lambda c: np.nan_to_num(num(p[c]))  # noqa: E731
    F = np.clip(L + z0("mises_en_service") - z0("mutations_internes") - z0("relogements"), 0, None)
    p = p.assign(N=N, L=L, F=F, q=p["qpv"].str.strip().str.lower().isin(["oui", "1", "true", "vrai"]))
    p = p.sort_values(["bailleur", "commune", "q"]).reset_index(drop=True)
    N, L, F = (p[c].to_numpy(dtype=float) for c in ("N", "L", "F"))
    n_seg = len(p)
    seg_of = {k: i for i, k in enumerate(zip(p["bailleur"], p["commune"], p["q"]))}
    # Live rights and targets (rotation method; stock method where the pair's segments release nothing).
    st = t["stock"].copy()
    fin = num(st["fin_droits"])
    st = st[~(fin < year)]
    st["q"] = st["qpv"].str.strip().str.lower().isin(["oui", "1", "true", "vrai"])
    s_idx = np.array([seg_of.get(k, -1) for k in zip(st["bailleur"], st["commune"], st["q"])])
    R = num(st["logements_reserves"])
    ratio = np.where(N[s_idx] > 0, L[s_idx] / np.where(N[s_idx] > 0, N[s_idx], 1), 0.0)
    E = np.where(np.isnan(num(st["liberations"])), R * ratio, num(st["liberations"]))
    st = st.assign(E=E, R=R)
    rights = st.groupby(["bailleur", "reservataire"], sort=True)[["E", "R"]].sum().reset_index()
    res = t["reservataires"].set_index("reservataire")
    by_epci = p.groupby("epci")["commune"].apply(set).to_dict()
    perim = {}
    for r, text in res["perimetre"].items():
        codes = [c for c in re.split(r"[\s,;]+", text) if c]
        perim[r] = None if not codes else set().union(*[by_epci.get(c, {c}) for c in codes])
    seg_b = p.groupby("bailleur").indices
    pairs, links = [], []
    for b, r, e_sum, r_sum in rights.itertuples(index=False):
        segs = [s for s in seg_b.get(b, []) if perim[r] is None or p.at[s, "commune"] in perim[r]]
        segs = np.array(segs, dtype=int)
        Lsum, Fbr = L[segs].sum(), F[segs].sum()
        p0 = e_sum / Lsum if Lsum > 0 else (r_sum / N[segs].sum() if N[segs].sum() > 0 else 0.0)
        T = p0 * Fbr
        if T > 0:
            pairs.append((b, r, res.at[r, "type"], T, Fbr, F[segs][p["q"].to_numpy()[segs]].sum()))
            links.append(segs)
    pr = pd.DataFrame(pairs, columns=["b", "r", "type", "T", "Fbr", "Fq"])
    n_p = len(pr)
    x_pair = np.repeat(np.arange(n_p), [len(s) for s in links])
    x_seg = np.concatenate(links) if links else np.zeros(0, dtype=int)
    n_x = len(x_seg)
    uniform = pr["type"].isin(["prefet", "prefet_agents"]).to_numpy() & bool(pol["prefet"]["uniforme"])
    qpv = p["q"].to_numpy()
    cil = t["cil"]
    cil_epci = cil["epci"].tolist()
    alpha = np.where(np.isnan(num(cil["part_q1_hors_qpv"])), pol["cil"]["part_q1_hors_qpv"], num(cil["part_q1_hors_qpv"]))
    beta = np.where(np.isnan(num(cil["part_autres_qpv"])), pol["cil"]["part_autres_qpv"], num(cil["part_autres_qpv"]))
    a_of = dict(zip(cil_epci, alpha))
    in_cil = p["epci"].isin(cil_epci).to_numpy()
    seg_alpha = np.array([a_of.get(e, 0.0) for e in p["epci"]])

    def shares(frame: pd.DataFrame, ident: str, kinds: list[str]) -> dict[str, tuple[float, float]]:
        lo = num(frame["part_q1_min"]) if "part_q1_min" in frame else np.full(len(frame), np.nan)
        hi = num(frame["part_q1_max"]) if "part_q1_max" in frame else np.full(len(frame), np.nan)
        return {i: (d[0] if np.isnan(a) else a, d[1] if np.isnan(z) else z)
                for i, k, a, z in zip(frame[ident], kinds, lo, hi) for d in [pol["comportement"][k]]}
    kap = shares(t["reservataires"], "reservataire", t["reservataires"]["type"].tolist())
    bl = t["bailleurs"]
    kap_b = shares(bl, "bailleur", ["bailleur"] * len(bl))
    kap_b = {b: kap_b.get(b, tuple(pol["comportement"]["bailleur"])) for b in p["bailleur"].unique()}

    # Columns.
    cols: dict[str, int] = {}
    n = 0

    def col(name: str, k: int) -> np.ndarray:
        nonlocal n
        cols[name] = n
        n += k
        return np.arange(n - k, n)
    xs = col("x", n_x)
    pu = np.flatnonzero(uniform)
    rho = np.full(n_p, -1)
    rho[pu] = col("rho", len(pu))
    XP = col("X", n_p)
    own = col("own", n_seg)
    up, um = col("u_plus", n_p), col("u_minus", n_p)
    qx = np.flatnonzero(in_cil[x_seg])
    qc = col("q", len(qx))
    os_ = np.flatnonzero(in_cil)
    oc = np.full(n_seg, -1)
    oc[os_] = col("o", len(os_))
    d1, d2 = col("d1", len(cil_epci)), col("d2", len(cil_epci))
    zc = col("z", 1)[0]
    rx = np.flatnonzero(~uniform[x_pair])
    rxp, rxm = col("rxp", len(rx)), col("rxm", len(rx))
    rq = np.flatnonzero(~qpv[x_seg[qx]])
    rqp, rqm = col("rqp", len(rq)), col("rqm", len(rq))
    ro = os_[~qpv[os_]]
    rop, rom = col("rop", len(ro)), col("rom", len(ro))
    lower, upper = np.zeros(n), np.full(n, INF)
    held = np.zeros(n_seg, dtype=bool)
    held[x_seg] = True
    lower[own[~held]] = upper[own[~held]] = F[~held]

    # Rows as coordinates.
    R_, C_, V_, lo_, hi_ = [], [], [], [], []
    count = 0

    def rows(k, r, c, v, lo, hi):
        nonlocal count
        R_.append(np.asarray(r) + count)
        C_.append(np.asarray(c))
        V_.append(np.asarray(v, dtype=float))
        lo_.append(np.broadcast_to(np.asarray(lo, dtype=float), (k,)))
        hi_.append(np.broadcast_to(np.asarray(hi, dtype=float), (k,)))
        count += k
    hs = np.flatnonzero(held)
    rank = np.full(n_seg, -1)
    rank[hs] = np.arange(len(hs))
    rows(len(hs), np.concatenate([rank[x_seg], np.arange(len(hs))]), np.concatenate([xs, own[hs]]),
         np.ones(n_x + len(hs)), F[hs], F[hs])  # capacite
    xu = np.flatnonzero(uniform[x_pair])
    rows(len(xu), np.tile(np.arange(len(xu)), 2), np.concatenate([xs[xu], rho[x_pair[xu]]]),
         np.concatenate([np.ones(len(xu)), -F[x_seg[xu]]]), 0, 0)  # prefet_uniforme
    rows(n_p, np.concatenate([np.arange(n_p), x_pair]), np.concatenate([XP, xs]),
         np.concatenate([np.ones(n_p), -np.ones(n_x)]), 0, 0)  # def_X
    Fb = p.groupby("bailleur")["F"].sum()
    for key, cap in sorted(pol["plafonds"].items()):
        types = ["prefet", "prefet_agents"] if key == "prefet" else [key]
        for b in sorted(Fb.index):
            cov = np.flatnonzero(pr["type"].isin(types).to_numpy() & (pr["b"] == b).to_numpy())
            if len(cov):
                rows(1, np.zeros(len(cov), dtype=int), XP[cov], np.ones(len(cov)), -INF, cap * Fb[b])  # plafond
    Fbr, Fq = pr["Fbr"].to_numpy(), pr["Fq"].to_numpy()
    bal = np.flatnonzero(~uniform & (Fq > 0) & (Fq < Fbr))
    inq = np.flatnonzero(np.isin(x_pair, bal) & qpv[x_seg])
    brank = np.full(n_p, -1)
    brank[bal] = np.arange(len(bal))
    lam = pol["equilibre"]["tolerance_qpv"]
    for sign in (1.0, -1.0):  # equilibre_qpv_max, _min
        c = Fq[bal] / Fbr[bal] + sign * lam
        rows(len(bal), np.concatenate([brank[x_pair[inq]], np.arange(len(bal))]), np.concatenate([xs[inq], XP[bal]]),
             sign * np.concatenate([np.ones(len(inq)), -c]), -INF, 0)
    P = np.arange(n_p)
    T = pr["T"].to_numpy()
    rows(n_p, np.tile(P, 3), np.concatenate([XP, up, um]), np.concatenate([np.ones(n_p), -np.ones(n_p), np.ones(n_p)]),
         T, T)  # ecart
    k1 = np.array([kap[r] for r in pr["r"].to_numpy()[x_pair[qx]]], dtype=float).reshape(-1, 2)
    j = np.arange(len(qx))
    rows(len(qx), np.tile(j, 2), np.concatenate([xs[qx], qc]), np.concatenate([k1[:, 0], -np.ones(len(qx))]), -INF, 0)
    rows(len(qx), np.tile(j, 2), np.concatenate([qc, xs[qx]]), np.concatenate([np.ones(len(qx)), -k1[:, 1]]), -INF, 0)
    kb = np.array([kap_b[b] for b in p["bailleur"].to_numpy()[os_]], dtype=float).reshape(-1, 2)
    j = np.arange(len(os_))
    rows(len(os_), np.tile(j, 2), np.concatenate([own[os_], oc[os_]]), np.concatenate([kb[:, 0], -np.ones(len(os_))]),
         -INF, 0)
    rows(len(os_), np.tile(j, 2), np.concatenate([oc[os_], own[os_]]), np.concatenate([np.ones(len(os_)), -kb[:, 1]]),
         -INF, 0)
    epci = p["epci"].to_numpy()
    for inside in (False, True):  # cil_hors_qpv, cil_qpv
        for i, e in enumerate(cil_epci):
            where = (epci == e) & (qpv == inside)
            flux = F[where].sum()
            if flux <= 0:
                continue
            cs = np.concatenate([qc[where[x_seg[qx]]], oc[where], [d2[i] if inside else d1[i]]])
            vs = np.ones(len(cs))
            vs[-1] = -1.0 if inside else 1.0
            if inside:
                rows(1, np.zeros(len(cs), dtype=int), cs, vs, -INF, (1 - beta[i]) * flux)
            else:
                rows(1, np.zeros(len(cs), dtype=int), cs, vs, alpha[i] * flux, INF)
    rows(n_p, np.tile(P, 3), np.concatenate([up, um, np.full(n_p, zc)]), np.concatenate([np.ones(n_p), np.ones(n_p), -T]),
         -INF, 0)  # ecart_max_def
    k = len(rx)
    j = np.arange(k)
    rows(k, np.tile(j, 4), np.concatenate([xs[rx], XP[x_pair[rx]], rxp, rxm]),
         np.concatenate([np.ones(k), -F[x_seg[rx]] / Fbr[x_pair[rx]], -np.ones(k), np.ones(k)]), 0, 0)
    k = len(rq)
    j = np.arange(k)
    kq = qx[rq]
    rows(k, np.tile(j, 4), np.concatenate([qc[rq], xs[kq], rqp, rqm]),
         np.concatenate([np.ones(k), -seg_alpha[x_seg[kq]], -np.ones(k), np.ones(k)]), 0, 0)
    k = len(ro)
    j = np.arange(k)
    rows(k, np.tile(j, 4), np.concatenate([oc[ro], own[ro], rop, rom]),
         np.concatenate([np.ones(k), -seg_alpha[ro], -np.ones(k), np.ones(k)]), 0, 0)
    r, c, v = np.concatenate(R_), np.concatenate(C_), np.concatenate(V_)
    keep = v != 0
    r, c, v = r[keep], c[keep], v[keep]
    order = np.argsort(r, kind="stable")
    start = np.zeros(count + 1, dtype=np.int32)
    np.cumsum(np.bincount(r, minlength=count), out=start[1:])
    costs = {s: np.zeros(n) for s in ("ecart_cil", "ecart_max", "ecart_total", "regularite")}
    costs["ecart_cil"][d1] = costs["ecart_cil"][d2] = 1.0
    costs["ecart_max"][zc] = 1.0
    costs["ecart_total"][up] = costs["ecart_total"][um] = 1.0 / T
    costs["regularite"][cols["rxp"]:] = 1.0
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, count
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = np.zeros(n), lower, upper
    lp.row_lower_, lp.row_upper_ = np.concatenate(lo_), np.concatenate(hi_)
    a = lp.a_matrix_
    a.format_ = highspy.MatrixFormat.kRowwise
    a.num_col_, a.num_row_ = n, count
    a.start_, a.index_, a.value_ = start, c[order].astype(np.int32), v[order]
    return lp, costs, len(v)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--settings", choices=("default", "recommended"), default="recommended")
    args = parser.parse_args()
    pol = tomllib.loads(POLICY.read_text(encoding="utf-8"))
    for folder in args.folders:
        t0 = time.perf_counter()
        lp, costs, nnz = build(folder, pol)
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        h.passModel(lp)
        optima, highs_s = {}, {}
        tol = pol["objectif"]["tolerance"]
        for i, stage in enumerate(pol["objectif"]["ordre"]):
            if i == 1 and args.settings == "recommended":
                for k, v in RECOMMENDED.items():
                    h.setOptionValue(k, v)
            h.changeColsCost(lp.num_col_, np.arange(lp.num_col_, dtype=np.int32), costs[stage])
            t1 = time.perf_counter()
            h.run()
            highs_s[stage] = time.perf_counter() - t1
            status = h.getModelStatus()
            if status == highspy.HighsModelStatus.kModelEmpty:
                vstar = 0.0
            elif status == highspy.HighsModelStatus.kOptimal:
                vstar = h.getInfo().objective_function_value
            else:
                print(folder.name, stage, h.modelStatusToString(status), file=sys.stderr)
                break
            optima[stage] = vstar
            cols = np.flatnonzero(costs[stage]).astype(np.int32)
            h.addRow(-INF, vstar + tol * max(1.0, abs(vstar)), len(cols), cols, costs[stage][cols])
        wall = time.perf_counter() - t0
        print(f"{folder.name}: {lp.num_col_} columns, {lp.num_row_} rows, {nnz} non-zeros; wall {wall:.3f} s, "
              f"HiGHS {sum(highs_s.values()):.3f} s ("
              + ", ".join(f"{k} {v:.3f}" for k, v in highs_s.items()) + "); optima "
              + ", ".join(f"{k} {v:.9g}" for k, v in optima.items()))


if __name__ == "__main__":
    main()
