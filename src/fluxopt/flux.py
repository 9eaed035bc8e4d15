"""Flux base and stock equivalence (SPEC §4, data part): an Instance to the numbers the LP needs."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fluxopt.instance import Instance
from fluxopt.policy import PREFET_TYPES, Policy
from fluxopt.problems import InstanceError, Problem

#: Segment key: (bailleur, commune, "qpv" | "hors_qpv"); readable in constraint names.
SegmentKey = tuple[str, str, str]


def qpv_label(qpv: bool) -> str:
    return "qpv" if qpv else "hors_qpv"


@dataclass(frozen=True, eq=False)
class Baseline:
    """What the LP is built from.

    ``segments``: one row per segment, indexed by ``key``, with F (flux base), L, N, epci,
    qpv, cil (segment of a CIL EPCI). ``pairs``: one row per (bailleur, réservataire) with
    rights, with flux_base (F_br), flux_base_qpv, p0, cible (T), methode, active, uniforme.
    ``members``: per pair, the keys of S_{b,r}. ``cil``: per CIL EPCI, alpha and beta.
    ``q1``: [min, max] Q1 share per réservataire; ``q1_bailleur`` per bailleur.
    """

    segments: pd.DataFrame
    pairs: pd.DataFrame
    members: dict[tuple[str, str], list[SegmentKey]]
    cil: pd.DataFrame
    reservataires: pd.DataFrame
    q1: dict[str, tuple[float, float]]
    q1_bailleur: dict[str, tuple[float, float]]
    warnings: list[Problem] = field(default_factory=list)


def _segments(inst: Instance) -> pd.DataFrame:
    p = inst.patrimoine
    seg = pd.DataFrame(
        {
            "bailleur": p["bailleur"],
            "commune": p["commune"],
            "epci": p["epci"],
            "qpv": p["qpv"],
            "N": p["logements_flux"].astype(float),
            "L": p["liberations"],
            "F": p["flux_base"].clip(lower=0.0),
            "attributions": p["attributions"],
            "row": p["row"],
        }
    )
    seg["key"] = list(zip(seg["bailleur"], seg["commune"], seg["qpv"].map(qpv_label)))
    seg["cil"] = seg["epci"].isin(set(inst.cil["epci"]))
    return seg.sort_values(["bailleur", "commune", "qpv"]).set_index("key", drop=False)


def _live_stock(inst: Instance) -> pd.DataFrame:
    """The rights still running in the instance's year (the expired ones were reported at load)."""
    live = inst.stock[~(inst.stock["fin_droits"] < inst.annee)].copy()
    live["key"] = list(zip(live["bailleur"], live["commune"], live["qpv"].map(qpv_label)))
    return live


def _q1_bounds(inst: Instance, policy: Policy) -> tuple[dict, dict, list[Problem]]:
    problems: list[Problem] = []

    def bounds(frame: pd.DataFrame, ident: str, kind: pd.Series, source: str) -> dict[str, tuple[float, float]]:
        out = {}
        for (_, r), t in zip(frame.iterrows(), kind):
            lo, hi = policy.comportement(t)
            lo = lo if np.isnan(r["part_q1_min"]) else float(r["part_q1_min"])
            hi = hi if np.isnan(r["part_q1_max"]) else float(r["part_q1_max"])
            if lo > hi:
                col = "part_q1_max" if not np.isnan(r["part_q1_max"]) else "part_q1_min"
                problems.append(Problem(source, int(r["row"]), col,
                                        f"Q1 share [{lo}, {hi}] of {r[ident]} is empty once the policy's "
                                        f"default for type '{t}' fills the other bound"))
            out[r[ident]] = (lo, hi)
        return out

    res = inst.reservataires
    q1 = bounds(res, "reservataire", res["type"], inst.sources["reservataires"])
    known = bounds(inst.bailleurs, "bailleur", pd.Series(["bailleur"] * len(inst.bailleurs)), inst.sources["bailleurs"])
    q1_b = {b: known.get(b, policy.comportement("bailleur")) for b in inst.patrimoine["bailleur"].unique()}
    return q1, q1_b, problems


def compute_baseline(inst: Instance, policy: Policy) -> Baseline:
    """Flux base per segment, equivalence p0 and target T per (bailleur, réservataire) pair."""
    warnings: list[Problem] = []
    seg = _segments(inst)
    live = _live_stock(inst)
    q1, q1_b, problems = _q1_bounds(inst, policy)
    method = policy.methode
    if method == "attributions":
        for _, r in seg[seg["attributions"].isna()].iterrows():
            problems.append(Problem(inst.sources["patrimoine"], int(r["row"]), "attributions",
                                    "the 'attributions' equivalence method needs past attributions for every segment"))
        for _, r in live[live["attributions"].isna()].iterrows():
            problems.append(Problem(inst.sources["stock"], int(r["row"]), "attributions",
                                    "the 'attributions' equivalence method needs past attributions for every right"))
    if problems:
        raise InstanceError(problems)

    res = inst.reservataires.set_index("reservataire")
    live = live.join(seg[["L", "N"]], on="key")
    ratio = np.divide(live["L"], live["N"], out=np.zeros(len(live)), where=live["N"].to_numpy() > 0)
    live["E"] = live["liberations"].fillna(live["logements_reserves"] * ratio)
    by_bailleur = {b: g for b, g in seg.groupby("bailleur", sort=True)}
    rows, members = [], {}
    for (b, r), rights in live.groupby(["bailleur", "reservataire"], sort=True):
        perimeter = res.at[r, "communes"]
        own = by_bailleur[b]
        s_br = own if perimeter is None else own[own["commune"].isin(perimeter)]
        used = method
        p0 = 0.0
        if method == "rotation":
            if s_br["L"].sum() > 0:
                p0 = rights["E"].sum() / s_br["L"].sum()
            else:
                used = "stock"
        elif method == "attributions":
            if s_br["attributions"].sum() > 0:
                p0 = rights["attributions"].sum() / s_br["attributions"].sum()
            else:
                used = "stock"
        if used == "stock" and s_br["N"].sum() > 0:
            p0 = rights["logements_reserves"].sum() / s_br["N"].sum()
        if used != method:
            warnings.append(Problem(inst.sources["stock"], int(rights["row"].min()), None,
                                    f"pair {b} / {r}: no {'releases' if method == 'rotation' else 'past attributions'} "
                                    f"on its segments, the 'stock' method is used instead", "warning"))
        flux = float(s_br["F"].sum())
        rows.append({
            "bailleur": b, "reservataire": r, "type": res.at[r, "type"],
            "flux_base": flux, "flux_base_qpv": float(s_br.loc[s_br["qpv"], "F"].sum()),
            "p0": float(p0), "cible": float(p0) * flux, "methode": used,
        })
        members[(b, r)] = list(s_br.index)
    pairs = pd.DataFrame(rows, columns=["bailleur", "reservataire", "type", "flux_base", "flux_base_qpv",
                                        "p0", "cible", "methode"])
    pairs["active"] = pairs["cible"] > 0
    pairs["uniforme"] = pairs["type"].isin(PREFET_TYPES) & policy.uniforme
    for _, r in pairs[pairs["p0"] > 1].iterrows():
        warnings.append(Problem(inst.sources["stock"], None, None,
                                f"pair {r['bailleur']} / {r['reservataire']}: the former rights are worth "
                                f"{100 * r['p0']:.1f} % of the flux, more than all of it", "warning"))
    cil = inst.cil.copy()
    cil["alpha"] = cil["part_q1_hors_qpv"].fillna(policy.part_q1_hors_qpv)
    cil["beta"] = cil["part_autres_qpv"].fillna(policy.part_autres_qpv)
    return Baseline(seg, pairs, members, cil[["epci", "alpha", "beta"]].sort_values("epci").reset_index(drop=True),
                    inst.reservataires, q1, q1_b, warnings)
