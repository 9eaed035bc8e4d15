"""The bilan of year N (SPEC §6): realised base, objective, gap and carry-over per pair; the
priority and CIL shares; the R441-5-1 tables. Pure arithmetic on DataFrames."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fluxopt.bilan.conventions import OUTSIDE_FLUX, OWN, Conventions
from fluxopt.bilan.realise import Realise
from fluxopt.problems import Problem

DIGITS = 6
PARTS_COLUMNS = ["bailleur", "reservataire", "type", "flux_pct", "base_realisee", "objectif", "proposes", "attribues",
                 "ecart", "ecart_relatif", "report_brut", "report", "plafonne"]
PRIORITAIRES_COLUMNS = ["bailleur", "titulaire", "type", "attribues", "prioritaires", "part", "cible", "ecart", "atteint"]
CIL_COLUMNS = ["epci", "objectif", "taux", "attributions", "relogements", "requis", "atteint", "part", "deficit"]
R441_COLUMNS = ["bailleur", "titulaire", "critere", "valeur", "proposes", "attribues"]
#: The R441-5-1 breakdowns, in the order of the article.
CRITERES = ("typologie", "financement", "qpv", "commune", "periode")
SEGMENT = ["bailleur", "commune", "qpv"]


def _clean(frame: pd.DataFrame) -> pd.DataFrame:
    floats = frame.select_dtypes("float").columns
    frame[floats] = frame[floats].round(DIGITS) + 0.0
    return frame.reset_index(drop=True)


@dataclass(frozen=True)
class Bilan:
    """A computed bilan: the tables of SPEC §6, the totals and the warnings."""

    conventions: Conventions
    realise: Realise
    parts: pd.DataFrame
    report: pd.DataFrame
    prioritaires: pd.DataFrame
    cil: pd.DataFrame
    r441: pd.DataFrame
    totaux: dict[str, Any]
    par_bailleur: pd.DataFrame
    warnings: list[Problem] = field(default_factory=list)

    @property
    def annee(self) -> int:
        return self.conventions.annee

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The CSV tables by file name."""
        return {"bilan_parts.csv": self.parts, "report.csv": self.report, "bilan_cil.csv": self.cil,
                "bilan_prioritaires.csv": self.prioritaires, "bilan_r441-5-1.csv": self.r441}


def linked(conv: Conventions, rows: pd.DataFrame) -> np.ndarray:
    """Whether each row's holder has a convention covering its segment (a link of S_{b,r})."""
    links = set(zip(*(conv.links[c].tolist() for c in ("bailleur", "reservataire", "commune", "qpv"))))
    keys = zip(*(rows[c].tolist() for c in ("bailleur", "titulaire", "commune", "qpv")))
    return np.fromiter((k in links for k in keys), dtype=bool, count=len(rows))


def _pairs(conv: Conventions, rows: pd.DataFrame, flux: pd.DataFrame, inside: np.ndarray) -> pd.DataFrame:
    """bilan_parts: per pair of the conventions, over its segments S_{b,r} (sums in dictionaries:
    a few thousand rows, where pandas' joins cost more than the arithmetic)."""
    pol = conv.policy.values
    part, plafond = float(pol["report.part"]), float(pol["report.plafond"])
    base_seg: dict[tuple, int] = {}
    for key, n in zip(zip(*(flux[c].tolist() for c in SEGMENT)), flux["proposes"].tolist()):
        base_seg[key] = base_seg.get(key, 0) + n
    base: dict[tuple, int] = {}
    for b, r, c, q in zip(*(conv.links[col].tolist() for col in ("bailleur", "reservataire", "commune", "qpv"))):
        base[(b, r)] = base.get((b, r), 0) + base_seg.get((b, c, q), 0)
    done: dict[tuple, list[int]] = {}
    mine = rows[inside]
    for key, n, a in zip(zip(mine["bailleur"].tolist(), mine["titulaire"].tolist()), mine["proposes"].tolist(),
                         mine["attribues"].tolist()):
        sums = done.setdefault(key, [0, 0])
        sums[0] += n
        sums[1] += a
    out = conv.parts[["bailleur", "reservataire", "type", "flux_pct"]].copy()
    keys = list(zip(out["bailleur"].tolist(), out["reservataire"].tolist()))
    out["base_realisee"] = np.array([base.get(k, 0) for k in keys], dtype=float)
    out["objectif"] = out["flux_pct"].astype(float) / 100 * out["base_realisee"]
    out["proposes"] = np.array([done.get(k, (0, 0))[0] for k in keys], dtype="int64")
    out["attribues"] = np.array([done.get(k, (0, 0))[1] for k in keys], dtype="int64")
    out["ecart"] = out["proposes"] - out["objectif"]
    out["ecart_relatif"] = out["ecart"] / out["objectif"].where(out["objectif"] > 0)
    out["report_brut"] = -part * out["ecart"]
    limit = plafond * out["objectif"]
    out["report"] = out["report_brut"].clip(lower=-limit, upper=limit)
    out["plafonne"] = (out["report_brut"] - out["report"]).abs() > 1e-9
    return _clean(out[PARTS_COLUMNS])


def _prioritaires(conv: Conventions, flux: pd.DataFrame) -> pd.DataFrame:
    """Per bailleur and holder of the flux: priority households among the lettings, against the target
    (the préfet: all of them; any other réservataire and the bailleur: ``prioritaires.part_min``)."""
    done = flux.groupby(["bailleur", "titulaire"], sort=True)[["attribues", "prioritaires"]].sum().reset_index()
    types = dict(zip(conv.reservataires["reservataire"], conv.reservataires["type"])) | {OWN: OWN}
    done["type"] = done["titulaire"].map(types)
    done["part"] = done["prioritaires"] / done["attribues"].where(done["attribues"] > 0)
    done["cible"] = np.where(done["type"] == "prefet", 1.0, float(conv.policy.part_min_prioritaires))
    done["ecart"] = done["part"] - done["cible"]
    done["atteint"] = (done["ecart"] >= -1e-9) | (done["attribues"] == 0)
    return _clean(done[PRIORITAIRES_COLUMNS])


def _cil(conv: Conventions, rows: pd.DataFrame, flux: pd.DataFrame) -> pd.DataFrame:
    """Per CIL EPCI: the Q1 share of the lettings outside QPV (rehousing counted as Q1 when
    ``cil.relogements_q1``) and the share of the other quartiles inside QPV, against their rates."""
    pol = conv.policy.values
    epci_of = conv.segments[[*SEGMENT, "epci"]]
    flux = flux.merge(epci_of, on=SEGMENT)
    rehoused = rows[rows["titulaire"] == "relogement"].merge(epci_of, on=SEGMENT)
    rates = {(e, o): float(t) for e, o, t in zip(conv.cil["epci"], conv.cil["objectif"], conv.cil["taux"])}
    sums = {k: (float(a), float(q)) for k, a, q in zip(
        *(lambda g: (g.index, g["attribues"], g["q1"]))(flux.groupby(["epci", "qpv"])[["attribues", "q1"]].sum()))}
    rehousings = rehoused[~rehoused["qpv"]].groupby("epci")["attribues"].sum().to_dict() if pol["cil.relogements_q1"] else {}
    out = []
    for e in sorted(set(conv.cil["epci"])):
        for inside, objective, default in ((False, "q1_hors_qpv", "cil.part_q1_hors_qpv"),
                                           (True, "autres_qpv", "cil.part_autres_qpv")):
            rate = rates.get((e, objective), float(pol[default]))
            lettings, q1 = sums.get((e, inside), (0.0, 0.0))
            if inside:
                rl, reached, base = 0.0, lettings - q1, lettings
            else:
                rl = float(rehousings.get(e, 0.0))
                reached, base = q1 + rl, lettings + rl
            if base <= 0:
                continue
            required = rate * base
            out.append((e, objective, rate, lettings, rl, required, reached, reached / base, max(required - reached, 0.0)))
    return _clean(pd.DataFrame(out, columns=CIL_COLUMNS))


def _r441(rows: pd.DataFrame) -> pd.DataFrame:
    """proposes and attribues per bailleur and holder, by each R441-5-1 breakdown (long table)."""
    sums: dict[tuple, list[int]] = {}
    qpv = ["QPV" if q else "hors QPV" for q in rows["qpv"].tolist()]
    columns = [rows[c].tolist() if c != "qpv" else qpv for c in CRITERES]
    for b, h, n, a, *values in zip(rows["bailleur"].tolist(), rows["titulaire"].tolist(), rows["proposes"].tolist(),
                                   rows["attribues"].tolist(), *columns):
        for i, value in enumerate(values):
            acc = sums.setdefault((b, h, i, value), [0, 0])
            acc[0] += n
            acc[1] += a
    ordered = sorted(sums)
    return pd.DataFrame({"bailleur": [k[0] for k in ordered], "titulaire": [k[1] for k in ordered],
                         "critere": [CRITERES[k[2]] for k in ordered], "valeur": [k[3] for k in ordered],
                         "proposes": np.array([sums[k][0] for k in ordered], dtype="int64"),
                         "attribues": np.array([sums[k][1] for k in ordered], dtype="int64")}, columns=R441_COLUMNS)


def _per_bailleur(conv: Conventions, rows: pd.DataFrame, parts: pd.DataFrame, inside: np.ndarray) -> pd.DataFrame:
    """Per bailleur: the realised base and how it splits (réservataires in their conventions, the
    bailleur's own share, réservataires outside any convention), the dwellings outside the flux,
    the carry-over owed and taken back."""
    holder = rows["titulaire"].to_numpy(dtype=object)
    kind = np.select([holder == OWN, holder == OUTSIDE_FLUX[0], holder == OUTSIDE_FLUX[1], inside],
                     ["proposes_bailleur", "mutations", "relogements", "proposes_reservataires"], "proposes_hors_convention")
    table = rows.assign(_kind=kind).groupby(["bailleur", "_kind"])["proposes"].sum().unstack(fill_value=0)
    out = pd.DataFrame(index=pd.Index(sorted(set(conv.segments["bailleur"])), name="bailleur"))
    columns = ["proposes_reservataires", "proposes_bailleur", "proposes_hors_convention", "mutations", "relogements"]
    table = table.reindex(columns=columns, fill_value=0)
    out["base_realisee"] = table[columns[:3]].sum(axis=1)
    out[columns] = table[columns]
    out["attribues"] = rows.groupby("bailleur")["attribues"].sum()
    out["report_du"] = parts[parts["report"] > 0].groupby("bailleur")["report"].sum()
    out["report_repris"] = parts[parts["report"] < 0].groupby("bailleur")["report"].sum()
    out = out.fillna(0)
    ints = [c for c in out.columns if not c.startswith("report")]
    out[ints] = out[ints].astype("int64")
    return _clean(out.reset_index())


def compute_bilan(conv: Conventions, realise: Realise) -> Bilan:
    """The bilan of ``realise`` against the conventions ``conv`` (SPEC §6)."""
    rows = realise.frame
    flux = rows[~rows["titulaire"].isin(OUTSIDE_FLUX)]
    inside = linked(conv, rows)
    parts = _pairs(conv, rows, flux, inside)
    report = parts.loc[parts["report"].abs() > 1e-9, ["bailleur", "reservataire", "report"]] \
        .rename(columns={"report": "logements"}).reset_index(drop=True)
    prioritaires = _prioritaires(conv, flux) if realise.has_prioritaires else \
        pd.DataFrame({c: pd.Series(dtype="object") for c in PRIORITAIRES_COLUMNS})
    cil = _cil(conv, rows, flux) if realise.has_q1 else pd.DataFrame({c: pd.Series(dtype="object") for c in CIL_COLUMNS})
    per_bailleur = _per_bailleur(conv, rows, parts, inside)
    totals = per_bailleur.drop(columns="bailleur").sum()
    totaux: dict[str, Any] = {k: (round(float(v), DIGITS) + 0.0 if k.startswith("report") else int(v)) for k, v in totals.items()}
    totaux |= {"paires": len(parts), "paires_en_deficit": int((parts["ecart"] < -1e-9).sum()),
               "paires_en_exces": int((parts["ecart"] > 1e-9).sum()), "reports_plafonnes": int(parts["plafonne"].sum()),
               "lignes": len(rows)}
    return Bilan(conv, realise, parts, report, prioritaires, cil, _r441(rows), totaux, per_bailleur,
                 list(realise.warnings))
