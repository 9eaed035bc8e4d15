"""Shape a solved model into the tables of SPEC §5 (pandas DataFrames, French column names)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from fluxopt.flux import Baseline
from fluxopt.instance import Instance
from fluxopt.policy import PREFET_TYPES, Policy

DIGITS = 6
SHARES_COLUMNS = [
    "bailleur", "reservataire", "type", "methode", "flux_base", "equivalence_pct", "cible", "logements",
    "flux_pct", "ecart", "ecart_relatif", "prioritaires", "logements_arrondis",
]
SEGMENTS_COLUMNS = ["bailleur", "commune", "epci", "qpv", "titulaire", "type", "logements", "q1"]
CIL_COLUMNS = ["epci", "objectif", "taux", "flux_base", "requis", "atteint", "deficit"]
BAILLEURS_COLUMNS = [
    "bailleur", "nom", "flux_base", "logements_reserves", "part_propre", "reserve_pct", "prefet_pct",
    "prefet_agents_pct",
]


def _clean(frame: pd.DataFrame) -> pd.DataFrame:
    """Round floats to 1e-6 dwellings and turn -0.0 into 0.0, so that outputs are stable and readable."""
    floats = frame.select_dtypes("float").columns
    frame[floats] = frame[floats].round(DIGITS) + 0.0
    return frame


def largest_remainder(values: np.ndarray, total: int) -> np.ndarray:
    """Integers summing to ``total``, each the floor of its value plus one for the largest remainders."""
    floors = np.floor(values + 1e-9)
    short = int(total - floors.sum())
    order = np.lexsort((np.arange(len(values)), -(values - floors)))
    result = floors.astype(int)
    if short > 0:
        result[order[:short]] += 1
    elif short < 0:
        result[order[::-1][: -short]] -= 1
    return result


def shape_tables(inst: Instance, base: Baseline, policy: Policy, m: pyo.ConcreteModel) -> dict[str, pd.DataFrame]:
    """The result tables ``parts``, ``segments``, ``cil``, ``bailleurs`` from the model's current values."""
    seg = base.segments
    x = {k: max(v.value or 0.0, 0.0) for k, v in m.x.items()}
    q = {k: v.value or 0.0 for k, v in m.q.items()}
    o = {k: v.value or 0.0 for k, v in m.o.items()}

    pairs = base.pairs[base.pairs["active"]].copy()
    pairs["logements"] = [pyo.value(m.X[b, r]) for b, r in zip(pairs["bailleur"], pairs["reservataire"])]
    pairs["equivalence_pct"] = 100 * pairs["p0"]
    pairs["flux_pct"] = 100 * pairs["logements"] / pairs["flux_base"]
    pairs["ecart"] = pairs["logements"] - pairs["cible"]
    pairs["ecart_relatif"] = pairs["ecart"] / pairs["cible"]
    part_min = policy.part_min_prioritaires
    pairs["prioritaires"] = np.where(pairs["type"] == "prefet", pairs["logements"], part_min * pairs["logements"])

    own = pd.Series([max(pyo.value(m.own[s]), 0.0) for s in seg.index], index=seg.index)

    # Whole dwellings: largest remainder per bailleur over its réservataires and its own share.
    rounded = pd.Series(0, index=pairs.index, dtype="int64")
    for b, group in pairs.groupby("bailleur"):
        own_b = float(own[seg["bailleur"] == b].sum())
        values = np.append(group["logements"].to_numpy(), own_b)
        total = int(round(float(seg.loc[seg["bailleur"] == b, "F"].sum())))
        rounded[group.index] = largest_remainder(values, total)[:-1]
    pairs["logements_arrondis"] = rounded
    shares = _clean(pairs[SHARES_COLUMNS].reset_index(drop=True))

    types = base.reservataires.set_index("reservataire")["type"].to_dict()
    by_segment: dict[tuple, list] = {}
    for k in sorted(x):
        by_segment.setdefault(k[1:], []).append(k)
    rows = []
    for s, r in seg.iterrows():
        common = (r["bailleur"], r["commune"], r["epci"], bool(r["qpv"]))
        for k in by_segment.get(s, []):
            rows.append((*common, k[0], types[k[0]], x[k], q.get(k, np.nan)))
        rows.append((*common, "bailleur", "bailleur", float(own[s]), o.get(s, np.nan)))
    segments = _clean(pd.DataFrame(rows, columns=SEGMENTS_COLUMNS))

    cil_rows = []
    q1_by_seg = segments.groupby(["bailleur", "commune", "qpv"])["q1"].sum(min_count=1)
    for _, c in base.cil.iterrows():
        for where, objective, rate in (("hors_qpv", "q1_hors_qpv", c["alpha"]), ("qpv", "autres_qpv", c["beta"])):
            in_e = seg[(seg["epci"] == c["epci"]) & (seg["qpv"] == (where == "qpv"))]
            flux = float(in_e["F"].sum())
            if flux <= 0:
                continue
            q1 = float(sum(q1_by_seg.get((s[0], s[1], s[2] == "qpv"), 0.0) for s in in_e.index))
            reached = q1 if where == "hors_qpv" else flux - q1
            required = rate * flux
            cil_rows.append((c["epci"], objective, rate, flux, required, reached, max(required - reached, 0.0)))
    cil = _clean(pd.DataFrame(cil_rows, columns=CIL_COLUMNS))

    names = inst.bailleurs.set_index("bailleur")["nom"].to_dict()
    b_rows = []
    for b, group in seg.groupby("bailleur", sort=True):
        flux = float(group["F"].sum())
        held = shares[shares["bailleur"] == b]
        reserved = float(held["logements"].sum())

        def pct(kinds: tuple[str, ...]) -> float:
            return 100 * float(held.loc[held["type"].isin(kinds), "logements"].sum()) / flux if flux else 0.0

        b_rows.append((b, names.get(b, ""), flux, reserved, float(own[group.index].sum()),
                       100 * reserved / flux if flux else 0.0, pct(PREFET_TYPES), pct(("prefet_agents",))))
    bailleurs = _clean(pd.DataFrame(b_rows, columns=BAILLEURS_COLUMNS))
    return {"parts": shares, "segments": segments, "cil": cil, "bailleurs": bailleurs}
