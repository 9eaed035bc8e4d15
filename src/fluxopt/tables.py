"""Shape a solved LP into the tables of SPEC §5 (pandas DataFrames, French column names)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fluxopt.flux import Baseline
from fluxopt.instance import Instance
from fluxopt.lp import LinearProgram
from fluxopt.policy import PREFET_TYPES, TYPES, Policy
from fluxopt.rounding import controlled_rounding, settle, settle_to

DIGITS = 6
SHARES_COLUMNS = [
    "bailleur", "reservataire", "type", "methode", "flux_base", "equivalence_pct", "cible_equivalence",
    "origine_cible", "cible", "logements", "flux_pct", "ecart", "ecart_relatif", "prioritaires",
    "logements_arrondis", "accord",
]
SEGMENTS_COLUMNS = ["bailleur", "commune", "epci", "qpv", "titulaire", "type", "logements", "q1"]
CIL_COLUMNS = ["epci", "objectif", "taux", "flux_base", "relogements", "requis", "atteint", "deficit"]
BAILLEURS_COLUMNS = [
    "bailleur", "nom", "flux_base", "logements_reserves", "part_propre", "reserve_pct", "prefet_pct",
    "prefet_agents_pct",
]


def _clean(frame: pd.DataFrame) -> pd.DataFrame:
    """Round floats to 1e-6 dwellings and turn -0.0 into 0.0, so that outputs are stable and readable."""
    for column in frame.select_dtypes("float").columns:
        frame[column] = np.round(frame[column].to_numpy(), DIGITS) + 0.0
    return frame


def settled(base: Baseline, values: Values, tolerance: float) -> Values:
    """The solution without solver noise (FORMULATION.md, "Solver noise"): each X within
    ``tolerance`` (relative) of its target, else of an integer, becomes that number; the pair's x
    and q are scaled by the same factor (so that uniform rates, QPV balance and Q1 shares hold)
    and each segment's own share takes the difference (so that every segment still adds up to F)."""
    active = base.pairs["active"].to_numpy()
    targets = base.pairs.loc[active, "cible"].to_numpy(dtype=float)
    X = settle(settle_to(values.X, targets, tolerance), tolerance)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(values.X != 0, X / values.X, 1.0)
    links = base.links[active[base.links["pair"].to_numpy()]]
    rank = np.cumsum(active) - 1  # pair index -> position among the active pairs
    pair_of, seg_of = rank[links["pair"].to_numpy()], links["seg"].to_numpy()

    def apply(factor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = values.x * factor[pair_of]
        return x, values.own - np.bincount(seg_of, weights=x - values.x, minlength=len(values.own))

    x, own = apply(factor)
    # A share rounded up must not take more than a full segment holds: those pairs keep their values.
    full = np.flatnonzero(own < 0)
    if len(full):
        grown = np.unique(pair_of[np.isin(seg_of, full) & (factor[pair_of] > 1)])
        factor[grown], X[grown] = 1.0, values.X[grown]
        x, own = apply(factor)
    return Values(x=x, q=values.q * factor[pair_of], X=X, own=own, o=values.o)


#: Solver noise: a value within this multiple of the stage tolerance (relative, at least 1 dwelling)
#: of an integer or of its target is shown as that number (FORMULATION.md, "Solver noise").
SETTLE_FACTOR = 10


@dataclass(frozen=True)
class WholeDwellings:
    """The controlled rounding of the bailleur x holder matrix (see :mod:`fluxopt.rounding`):
    ``parts`` whole dwellings per row of the parts table, ``propre`` (own share), ``flux_base``
    per bailleur (in the bailleurs table's order), and ``reservataires`` per réservataire."""

    parts: np.ndarray
    propre: np.ndarray
    flux_base: np.ndarray
    reservataires: dict[str, int]


def whole_dwellings(parts: pd.DataFrame, bailleurs: pd.DataFrame) -> WholeDwellings:
    """Whole dwellings per year that add up, from the parts and bailleurs tables (or their CSV files).

    The matrix has one row per bailleur and one column per réservataire plus one for the
    bailleurs' own shares; every cell is the floor or the ceiling of its exact value, every
    row sums to the rounded flux base of the bailleur, every column to the rounding of its
    exact total (nearest integer whenever the table allows it).
    """
    b_ids = bailleurs["bailleur"].astype(str).tolist()
    r_ids = sorted(set(parts["reservataire"].astype(str)))
    row_of = {b: i for i, b in enumerate(b_ids)}
    col_of = {r: j for j, r in enumerate(r_ids)}
    matrix = np.zeros((len(b_ids), len(r_ids) + 1))
    rows = np.array([row_of[b] for b in parts["bailleur"].astype(str)], dtype=int)
    cols = np.array([col_of[r] for r in parts["reservataire"].astype(str)], dtype=int)
    matrix[rows, cols] = np.maximum(parts["logements"].to_numpy(dtype=float), 0.0)
    # The own share as the rest of the flux base, so that every row adds up to the flux base exactly.
    matrix[:, -1] = np.maximum(bailleurs["flux_base"].to_numpy(dtype=float) - matrix[:, :-1].sum(axis=1), 0.0)
    rounded = controlled_rounding(matrix)
    return WholeDwellings(
        parts=rounded.cells[rows, cols], propre=rounded.cells[:, -1], flux_base=rounded.rows,
        reservataires=dict(zip(r_ids, rounded.columns[:-1].tolist())),
    )


@dataclass(frozen=True)
class Values:
    """A solution in the Baseline's order: ``x`` and ``q`` per link of an active pair (``q`` NaN
    outside CIL EPCIs), ``X`` per active pair, ``own`` and ``o`` per segment (``o`` NaN outside
    CIL EPCIs). Values as solved: not clipped at 0."""

    x: np.ndarray
    q: np.ndarray
    X: np.ndarray
    own: np.ndarray
    o: np.ndarray


def lp_values(lp: LinearProgram, v: np.ndarray) -> Values:
    """A solution of ``lp`` (one value per column), in the Baseline's order."""
    return Values(
        x=v[lp.columns["x"].span],
        q=np.where(lp.q_of_x >= 0, v[lp.q_of_x], np.nan),
        X=lp.X(v),
        own=lp.own(v),
        o=np.where(lp.o_of_seg >= 0, v[lp.o_of_seg], np.nan),
    )


def _slices(sorted_keys: np.ndarray, keys: np.ndarray) -> list[slice]:
    """For each key, the slice of the rows holding it in an array sorted by key."""
    start = np.searchsorted(sorted_keys, keys, side="left")
    stop = np.searchsorted(sorted_keys, keys, side="right")
    return [slice(a, z) for a, z in zip(start.tolist(), stop.tolist())]


def shape_tables(inst: Instance, base: Baseline, policy: Policy, values: Values) -> dict[str, pd.DataFrame]:
    """The result tables ``parts``, ``segments``, ``cil``, ``bailleurs`` from a solution."""
    seg = base.segments
    F = seg["F"].to_numpy()
    values = settled(base, values, SETTLE_FACTOR * policy.tolerance)
    own = np.maximum(values.own, 0.0)
    active = base.pairs["active"].to_numpy()
    pairs = base.pairs[active].copy()
    pairs["logements"] = values.X
    pairs["equivalence_pct"] = 100 * pairs["p0"]
    pairs["flux_pct"] = 100 * pairs["logements"] / pairs["flux_base"]
    pairs["ecart"] = pairs["logements"] - pairs["cible"]
    # A pair agreed without any target has no relative departure (empty, not infinite).
    pairs["ecart_relatif"] = (pairs["ecart"] / pairs["cible"].where(pairs["cible"] > 0)).astype(float)
    part_min = policy.part_min_prioritaires
    pairs["prioritaires"] = np.where(pairs["type"] == "prefet", pairs["logements"], part_min * pairs["logements"])

    seg_b = seg["bailleur"].to_numpy(dtype=object)
    bailleurs = list(dict.fromkeys(seg_b.tolist()))
    seg_of = dict(zip(bailleurs, _slices(seg_b, np.array(bailleurs, dtype=object))))
    pairs["logements_arrondis"] = 0
    shares = _clean(pairs[SHARES_COLUMNS].reset_index(drop=True))

    # One row per segment and holder: the réservataires by id, then the bailleur's own share.
    links = base.links[active[base.links["pair"].to_numpy()]]
    where = links["seg"].to_numpy()
    holder = base.pairs["reservataire"].to_numpy(dtype=object)[links["pair"].to_numpy()]
    types = base.reservataires.set_index("reservataire")["type"]
    rows = pd.DataFrame({
        "at": np.concatenate([where, np.arange(len(seg))]),
        "own": np.concatenate([np.zeros(len(where), dtype=bool), np.ones(len(seg), dtype=bool)]),
        "titulaire": np.concatenate([holder, np.full(len(seg), "bailleur", dtype=object)]),
        "type": np.concatenate([types.reindex(holder).to_numpy(dtype=object), np.full(len(seg), "bailleur", dtype=object)]),
        "logements": np.concatenate([np.maximum(values.x, 0.0), own]),
        "q1": np.concatenate([values.q, values.o]),
    }).sort_values(["at", "own", "titulaire"], kind="stable")
    at = rows["at"].to_numpy()
    segments = _clean(pd.DataFrame({
        "bailleur": seg["bailleur"].to_numpy()[at], "commune": seg["commune"].to_numpy()[at],
        "epci": seg["epci"].to_numpy()[at], "qpv": seg["qpv"].to_numpy(dtype=bool)[at],
        "titulaire": rows["titulaire"].to_numpy(), "type": rows["type"].to_numpy(),
        "logements": rows["logements"].to_numpy(), "q1": rows["q1"].to_numpy(),
    }, columns=SEGMENTS_COLUMNS))

    # CIL targets: Q1 designations per segment (as written in the segments table), per EPCI and side.
    q1_seg = pd.Series(segments["q1"].to_numpy()).groupby(at).sum(min_count=1).reindex(np.arange(len(seg))).to_numpy()
    # With cil.relogements_q1, the rehousings outside QPV count as Q1 attributions on both sides.
    groups = seg.reset_index(drop=True).groupby(["epci", "qpv"]).indices
    RL = seg["RL"].to_numpy(dtype=float) if policy.relogements_q1 else np.zeros(len(seg))
    cil_rows = []
    for e, alpha, beta in zip(base.cil["epci"].tolist(), base.cil["alpha"].tolist(), base.cil["beta"].tolist()):
        for inside, objective, rate in ((False, "q1_hors_qpv", alpha), (True, "autres_qpv", beta)):
            in_e = groups.get((e, inside), np.zeros(0, dtype=int))
            flux = float(F[in_e].sum())
            if flux <= 0:
                continue
            q1 = float(sum(q1_seg[in_e].tolist()))
            rehoused = 0.0 if inside else float(sum(RL[in_e].tolist()))
            reached = flux - q1 if inside else q1 + rehoused
            required = rate * (flux + rehoused)
            cil_rows.append((e, objective, rate, flux, rehoused, required, reached, max(required - reached, 0.0)))
    cil = _clean(pd.DataFrame(cil_rows, columns=CIL_COLUMNS))

    names = inst.bailleurs.set_index("bailleur")["nom"].to_dict()
    held_of = _slices(shares["bailleur"].to_numpy(dtype=object), np.array(bailleurs, dtype=object))
    logements, kinds = shares["logements"].to_numpy(), shares["type"].to_numpy(dtype=object)
    b_rows = []
    for b, held in zip(bailleurs, held_of):
        flux = float(F[seg_of[b]].sum())
        reserved = float(logements[held].sum())
        prefet, agents = (float(logements[held][np.isin(kinds[held], types)].sum())
                          for types in (PREFET_TYPES, ("prefet_agents",)))
        b_rows.append((b, names.get(b, ""), flux, reserved, float(own[seg_of[b]].sum()),
                       100 * reserved / flux if flux else 0.0, 100 * prefet / flux if flux else 0.0,
                       100 * agents / flux if flux else 0.0))
    bailleurs_table = _clean(pd.DataFrame(b_rows, columns=BAILLEURS_COLUMNS))
    shares["logements_arrondis"] = whole_dwellings(shares, bailleurs_table).parts.astype("int64")
    return {"parts": shares, "segments": segments, "cil": cil, "bailleurs": bailleurs_table}


def bailleur_synthesis(parts: pd.DataFrame, bailleurs: pd.DataFrame) -> pd.DataFrame:
    """Per bailleur: flux base, share of each réservataire type (%), own share (%), whole dwellings.

    The percentages are of the bailleur's flux base; ``flux_base_arrondi`` and ``propre_arrondi``
    come from the controlled rounding (:func:`whole_dwellings`): the rounded réservataires' dwellings
    plus ``propre_arrondi`` make ``flux_base_arrondi``.
    """
    types = [t for t in TYPES if t in set(parts["type"])]
    whole = whole_dwellings(parts, bailleurs)
    owner, kind = parts["bailleur"].to_numpy(dtype=object), parts["type"].to_numpy(dtype=object)
    logements = parts["logements"].to_numpy(dtype=float)
    rows = []
    columns = (bailleurs[c].tolist() for c in ("bailleur", "nom", "flux_base", "part_propre"))
    for i, (b, nom, flux, propre) in enumerate(zip(*columns)):
        mine = owner == b
        held, kinds = logements[mine], kind[mine]
        flux = float(flux)
        row = {"bailleur": b, "nom": nom, "flux_base": flux}
        for t in types:  # each sum in row order, as the column's sum
            row[f"{t}_pct"] = 100 * float(held[kinds == t].sum()) / flux if flux else 0.0
        row["propre_pct"] = 100 * float(propre) / flux if flux else 0.0
        row["flux_base_arrondi"] = int(whole.flux_base[i])
        row["propre_arrondi"] = int(whole.propre[i])
        rows.append(row)
    return pd.DataFrame(rows)


def reservataire_synthesis(parts: pd.DataFrame) -> pd.DataFrame:
    """Per réservataire, over all bailleurs: target, proposal, deviation and whole dwellings
    (``logements_arrondis``: the sum of the pairs' controlled rounding, i.e. the rounding of the
    exact total)."""
    grouped = parts.groupby(["reservataire", "type"], sort=True).agg(
        bailleurs=("bailleur", "nunique"), cible=("cible", "sum"), logements=("logements", "sum"),
        logements_arrondis=("logements_arrondis", "sum"),
    ).reset_index()
    grouped["ecart"] = grouped["logements"] - grouped["cible"]
    grouped["ecart_relatif"] = grouped["ecart"] / grouped["cible"]
    return grouped.round(6)
