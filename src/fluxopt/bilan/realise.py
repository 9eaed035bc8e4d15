"""``realise.csv`` (or a sheet ``realise``): what happened in year N (SPEC §6), read and checked
row by row under the instance error contract (every problem at once, with file, row, column)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fluxopt.bilan.conventions import OUTSIDE_FLUX, OWN, Conventions
from fluxopt.cells import MAX_FLOW, CellError, Column, _boolean, _commune, _integer, code, typed_table
from fluxopt.i18n import _
from fluxopt.problems import InstanceError, Problem, closest
from fluxopt.readers import normalize_name, read_table_file

TYPOLOGIES = ("T1", "T2", "T3", "T4", "T5", "T6")
FINANCEMENTS = ("PLAI", "PLUS", "PLS", "PLI", "autre")
#: The label of a missing optional description (typologie, financement, période).
NON_RENSEIGNE = "non renseigné"


def _typologie(value: Any) -> str:
    text = code(value).upper().replace(" ", "")
    if text not in TYPOLOGIES:
        raise CellError("typologie_invalide", _("'{valeur}' is not a dwelling type ({choix})") + closest(text, TYPOLOGIES),
                        valeur=str(value), choix=", ".join(TYPOLOGIES))
    return text


def _financement(value: Any) -> str:
    text = normalize_name(value)
    by_name = {f.lower(): f for f in FINANCEMENTS}
    if text not in by_name:
        raise CellError("financement_invalide",
                        _("'{valeur}' is not a financing ({choix})") + closest(text.upper(), FINANCEMENTS),
                        valeur=str(value), choix=", ".join(FINANCEMENTS))
    return by_name[text]


SPEC: dict[str, Column] = {
    "bailleur": Column(code, True),
    "commune": Column(_commune, True),
    "qpv": Column(_boolean, True, dtype="bool"),
    "titulaire": Column(code, True),
    "proposes": Column(_integer, True, dtype="int64", high=MAX_FLOW),
    "attribues": Column(_integer, True, dtype="int64", high=MAX_FLOW),
    "q1": Column(_integer, False, 0, "int64", MAX_FLOW),
    "prioritaires": Column(_integer, False, 0, "int64", MAX_FLOW),
    "typologie": Column(_typologie, False, NON_RENSEIGNE),
    "financement": Column(_financement, False, NON_RENSEIGNE),
    "periode": Column(code, False, NON_RENSEIGNE),
}


@dataclass(frozen=True)
class Realise:
    """The rows of realise (typed, with their ``row`` numbers), whether the optional counts were
    given (``has_q1``, ``has_prioritaires``), the source name, its SHA-256 and the warnings."""

    frame: pd.DataFrame
    source: str
    sha256: str
    has_q1: bool
    has_prioritaires: bool
    warnings: tuple[Problem, ...]


def _in(frame: pd.DataFrame, table: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Whether each row of ``frame`` has its ``keys`` in ``table`` (a set of tuples: faster than a join here)."""
    known = set(zip(*(table[k].tolist() for k in keys)))
    found = np.fromiter((k in known for k in zip(*(frame[k].tolist() for k in keys))), dtype=bool, count=len(frame))
    return pd.Series(found, index=frame.index)


def _check(frame: pd.DataFrame, source: str, conv: Conventions, bad: dict[str, set[int]], problems: list[Problem]) -> None:
    """Rows against the conventions: a known segment and holder, and counts that nest (vectorised:
    only the rows with a problem are visited)."""
    def ok(*columns: str) -> pd.Series:
        return ~frame["row"].isin(set().union(*(bad[c] for c in columns)))

    seg = conv.segments.rename(columns={"reservataire": "titulaire"})
    links = conv.links.rename(columns={"reservataire": "titulaire"})
    bailleurs = sorted(set(conv.segments["bailleur"]))
    holders = sorted(set(conv.reservataires["reservataire"]) | {OWN, *OUTSIDE_FLUX})
    known_b = frame["bailleur"].isin(bailleurs)
    known_seg = _in(frame, seg, ["bailleur", "commune", "qpv"])
    known_h = frame["titulaire"].isin(holders)
    reservataire = ~frame["titulaire"].isin([OWN, *OUTSIDE_FLUX])
    linked = _in(frame, links, ["bailleur", "titulaire", "commune", "qpv"])
    found: list[tuple[int, int, Problem]] = []

    def add(mask: pd.Series, order: int, make: Any) -> None:
        for r in frame[mask].to_dict("records"):
            found.append((int(r["row"]), order, make(r)))

    add(ok("bailleur") & ~known_b, 0, lambda r: Problem.coded(
        source, int(r["row"]), "bailleur", "bailleur_sans_convention",
        _("bailleur '{bailleur}' has no segment in the conventions of year {annee}"),
        {"bailleur": r["bailleur"], "annee": conv.annee}, suffix=closest(r["bailleur"], bailleurs)))
    communes = conv.segments.groupby("bailleur")["commune"].agg(lambda c: sorted(set(c))).to_dict()
    add(ok("bailleur", "commune", "qpv") & known_b & ~known_seg, 1, lambda r: Problem.coded(
        source, int(r["row"]), "commune", "segment_sans_convention",
        _("bailleur '{bailleur}' has no segment in commune {commune} inside QPV") if r["qpv"]
        else _("bailleur '{bailleur}' has no segment in commune {commune} outside QPV"),
        {"bailleur": r["bailleur"], "commune": r["commune"], "qpv": bool(r["qpv"])},
        suffix=closest(r["commune"], communes.get(r["bailleur"], []))))
    add(ok("titulaire") & ~known_h, 2, lambda r: Problem.coded(
        source, int(r["row"]), "titulaire", "titulaire_inconnu",
        _("'{titulaire}' is neither a réservataire of the conventions nor 'bailleur', 'mutation' or 'relogement'"),
        {"titulaire": r["titulaire"]}, suffix=closest(r["titulaire"], holders)))
    add(ok("titulaire", "bailleur", "commune", "qpv") & known_h & reservataire & known_seg & ~linked, 3,
        lambda r: Problem.coded(
            source, int(r["row"]), "titulaire", "titulaire_hors_convention",
            _("'{titulaire}' has no convention with '{bailleur}' covering commune {commune}: these dwellings count "
              "in the realised base of the other réservataires, in no gap"),
            {"titulaire": r["titulaire"], "bailleur": r["bailleur"], "commune": r["commune"]}, "warning"))
    add(ok("proposes", "attribues") & (frame["attribues"] > frame["proposes"]), 4, lambda r: Problem.coded(
        source, int(r["row"]), "attribues", "attribues_excessifs",
        _("{attribues} dwellings let but only {proposes} proposed; 'attribues' counts the proposed dwellings that "
          "were let, so it is at most 'proposes'"),
        {"attribues": int(r["attribues"]), "proposes": int(r["proposes"])}))
    nested = (("q1", _("{nombre} first-quartile households among {attribues} dwellings let; 'q1' counts some of the "
                       "'attribues', so it is at most 'attribues'")),
              ("prioritaires", _("{nombre} priority households among {attribues} dwellings let; 'prioritaires' "
                                 "counts some of the 'attribues', so it is at most 'attribues'")))
    for order, (col, message) in enumerate(nested):
        add(ok(col, "attribues") & (frame[col] > frame["attribues"]), 5 + order,
            lambda r, col=col, message=message: Problem.coded(
                source, int(r["row"]), col, f"{col}_excessifs", message,
                {"nombre": int(r[col]), "attribues": int(r["attribues"])}))
    problems += [p for _file, _row, p in sorted(found, key=lambda f: (f[0], f[1]))]


def read_realise(path: str | Path, conv: Conventions) -> Realise:
    """Read and check ``realise.csv`` or an .xlsx workbook (sheet ``realise``, or its only sheet);
    :class:`InstanceError` lists every problem when any is an error."""
    path = Path(path)
    if not path.is_file():
        raise InstanceError([Problem.coded(str(path), None, None, "source_introuvable",
                                           _("no such file: --realise names a CSV file or an .xlsx workbook"))])
    raw, problems, sha = read_table_file(path, "realise")
    source = raw.source if raw is not None else path.name
    table = typed_table("realise", raw, problems, SPEC)
    if raw is not None and not raw.rows:
        problems.append(Problem.coded(source, None, None, "table_vide", _("'{table}' has no rows of data"),
                                      {"table": "realise"}))
    columns = set(raw.columns) if raw is not None else set()
    if table.usable and raw is not None and raw.rows:
        _check(table.frame, source, conv, table.bad, problems)
    optional = (("q1", _("no column '{colonne}': the bilan says nothing of the CIL targets")),
                ("prioritaires", _("no column '{colonne}': the bilan says nothing of the priority households")))
    for col, message in optional:
        if raw is not None and col not in columns:
            problems.append(Problem.coded(source, raw.header_row, col, "colonne_optionnelle_absente", message,
                                          {"colonne": col}, "warning"))
    problems.sort(key=lambda p: p.row or 0)  # stable: a row's cell problems, then its checks
    if any(p.severity == "error" for p in problems):
        raise InstanceError(problems)
    return Realise(table.frame, source, sha, "q1" in columns, "prioritaires" in columns, tuple(problems))
