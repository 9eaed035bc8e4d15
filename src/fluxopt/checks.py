"""Checks across an instance's tables: duplicate keys, segments, perimeters, rights that fit
their segment. Each check names the file, row and column the user must look at, and stays
quiet about what follows from a problem already reported."""

from __future__ import annotations

import re
from typing import Any, Callable

import numpy as np
import pandas as pd

from fluxopt.cells import TypedTable
from fluxopt.problems import Problem, closest

#: A well-formed perimeter code: an INSEE commune code (5 characters) or an EPCI SIREN (9 digits).
_WELL_FORMED = re.compile(r"^(?:[0-9A-Za-z]{5}|[0-9]{9})$")

def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a frame as dicts of Python values (much faster to loop over than ``iterrows``)."""
    columns = list(frame.columns)
    return [dict(zip(columns, values)) for values in zip(*(frame[c].tolist() for c in columns))]


def _segment(bailleur: str, commune: str, qpv: bool) -> str:
    return f"{bailleur} / {commune} / {'QPV' if qpv else 'hors QPV'}"


def duplicates(t: TypedTable, keys: list[str], what: Callable[[dict[str, Any]], str], problems: list[Problem]) -> None:
    """Report every row whose key repeats an earlier row."""
    frame = t.valid(*keys)
    repeated = frame.duplicated(keys).to_numpy()
    if not repeated.any():
        return
    first = frame.groupby(keys, sort=False, dropna=False)["row"].transform("first").to_numpy()[repeated]
    for r, row in zip(records(frame[repeated]), first):
        problems.append(Problem(t.source, int(r["row"]), keys[-1],
                                f"{what(r)} is already given on row {row}; it must appear once"))


def _found(frame: pd.DataFrame, columns: list[str], table: pd.DataFrame) -> np.ndarray:
    """Whether each row's values in ``columns`` appear together on some row of ``table``."""
    if frame.empty or table.empty:
        return np.zeros(len(frame), dtype=bool)
    return pd.MultiIndex.from_frame(frame[columns]).isin(pd.MultiIndex.from_frame(table[columns]))


_FLUX_INPUTS = ("logements", "logements_hors_flux", "liberations", "taux_rotation",
                "mises_en_service", "mutations_internes", "relogements")


def check_patrimoine(t: TypedTable, problems: list[Problem]) -> pd.DataFrame:
    src = t.source
    duplicates(t, ["bailleur", "commune", "qpv"],
                lambda r: f"segment {_segment(r['bailleur'], r['commune'], r['qpv'])}", problems)
    rows = t.valid("logements", "logements_hors_flux")
    for r in records(rows[rows["logements_hors_flux"] > rows["logements"]]):
        t.bad["logements_hors_flux"].add(int(r["row"]))
        problems.append(Problem(src, int(r["row"]), "logements_hors_flux",
                                f"{r['logements_hors_flux']} dwellings kept in stock exceed the segment's "
                                f"{r['logements']} dwellings"))
    rows = t.valid("liberations", "taux_rotation")
    for r in records(rows[rows["liberations"].notna() & rows["taux_rotation"].notna()]):
        t.bad["liberations"].add(int(r["row"]))
        problems.append(Problem(src, int(r["row"]), "taux_rotation",
                                "give either 'liberations' or 'taux_rotation', not both"))
    for r in records(rows[rows["liberations"].isna() & rows["taux_rotation"].isna()]):
        t.bad["liberations"].add(int(r["row"]))
        problems.append(Problem(src, int(r["row"]), "liberations",
                                "give 'liberations' (releases per year) or 'taux_rotation' (turnover rate)"))
    rows = t.valid("commune", "epci")
    epcis = rows.groupby("commune")["epci"].unique()
    for commune, codes in epcis[epcis.map(len) > 1].items():
        numbers = rows.loc[rows["commune"] == commune, "row"].tolist()
        problems.append(Problem(src, int(numbers[-1]), "epci",
                                f"commune {commune} is given in several EPCIs ({', '.join(sorted(codes))}) on rows "
                                f"{', '.join(map(str, numbers))}; a commune belongs to one EPCI"))
    p = t.frame.copy()
    p["logements_flux"] = (p["logements"] - p["logements_hors_flux"]).clip(lower=0)
    p["liberations"] = p["liberations"].fillna(p["taux_rotation"] * p["logements_flux"])
    p["flux_base"] = p["liberations"] + p["mises_en_service"] - p["mutations_internes"] - p["relogements"]
    checkable = p["row"].isin(t.valid(*_FLUX_INPUTS)["row"])
    for r in records(p[checkable & (p["flux_base"] < -1e-9)]):
        column = "mutations_internes" if r["mutations_internes"] >= r["relogements"] else "relogements"
        problems.append(Problem(src, int(r["row"]), column,
                                f"internal transfers and rehousing ({r['mutations_internes'] + r['relogements']:g}) "
                                f"exceed releases plus new lettings ({r['liberations'] + r['mises_en_service']:g}): "
                                "the flux base of the segment would be negative"))
    return p


def check_perimeters(t: TypedTable, p: TypedTable, problems: list[Problem]) -> pd.DataFrame:
    """The communes of each réservataire's perimeter (None: the whole département)."""
    communes = set(p.valid("commune")["commune"].tolist())
    placed = p.valid("commune", "epci")
    by_epci: dict[str, set[str]] = {}
    for e, c in zip(placed["epci"].tolist(), placed["commune"].tolist()):
        by_epci.setdefault(e, set()).add(c)
    perimeters: list[tuple[str, ...] | None] = []
    for r in records(t.frame):
        codes = [c for c in re.split(r"[\s,;]+", r["perimetre"] or "") if c]
        if not codes:
            if r["type"] in ("commune", "epci"):
                problems.append(Problem(t.source, int(r["row"]), "perimetre",
                                        f"a réservataire of type '{r['type']}' needs a perimeter "
                                        "(its commune or EPCI codes, separated by spaces)"))
            perimeters.append(None)
            continue
        chosen: set[str] = set()
        for code in codes:
            if code in communes:
                chosen.add(code)
            elif code in by_epci:
                chosen |= by_epci[code]
            elif not _WELL_FORMED.match(code):
                problems.append(Problem(t.source, int(r["row"]), "perimetre",
                                        f"'{code}' is neither a commune code (5 characters, e.g. 33063) nor "
                                        f"an EPCI SIREN (9 digits, e.g. 243300316)"))
            elif p.usable and not p.has_bad("commune", "epci"):
                problems.append(Problem(t.source, int(r["row"]), "perimetre",
                                        f"'{code}' names no commune or EPCI of patrimoine"
                                        f"{closest(code, communes | set(by_epci))}: "
                                        f"réservataire {r['reservataire']} gets nothing there", "warning"))
        perimeters.append(tuple(sorted(chosen)))
    res = t.frame.copy()
    res["communes"] = pd.Series(perimeters, index=res.index, dtype="object")
    return res


def check_q1_bounds(t: TypedTable, problems: list[Problem]) -> None:
    rows = t.valid("part_q1_min", "part_q1_max")
    for r in records(rows[rows["part_q1_min"] > rows["part_q1_max"]]):
        problems.append(Problem(t.source, int(r["row"]), "part_q1_min",
                                f"part_q1_min {r['part_q1_min']:g} is above part_q1_max {r['part_q1_max']:g}"))


def check_stock(t: TypedTable, p: TypedTable, patrimoine: pd.DataFrame, r_table: TypedTable, res: pd.DataFrame,
                 annee: int | None, problems: list[Problem]) -> None:
    src = t.source
    keys = ["bailleur", "commune", "qpv"]
    duplicates(t, ["bailleur", "reservataire", "commune", "qpv"],
                lambda r: f"the right of {r['reservataire']} on segment {_segment(r['bailleur'], r['commune'], r['qpv'])}",
                problems)
    known = patrimoine[patrimoine["row"].isin(p.valid(*keys)["row"])]
    perimeter = res.set_index("reservataire")["communes"].to_dict() if r_table.usable else {}
    if p.usable:
        rights = t.valid(*keys)
        unsure = set(patrimoine.loc[~patrimoine["row"].isin(known["row"]), "bailleur"].tolist())
        rights = rights[~rights["bailleur"].isin(unsure)]
        places = set(zip(known["bailleur"].tolist(), known["commune"].tolist()))
        bailleurs = set(known["bailleur"].tolist())
        for r in records(rights[~_found(rights, keys, known)]):
            if r["bailleur"] not in bailleurs:
                column, text = "bailleur", (f"bailleur '{r['bailleur']}' has no segment in patrimoine"
                                            f"{closest(r['bailleur'], bailleurs)}")
            elif (r["bailleur"], r["commune"]) not in places:
                column, text = "commune", f"bailleur {r['bailleur']} has no segment in commune {r['commune']}"
            else:
                column, text = "qpv", f"patrimoine has no segment {_segment(r['bailleur'], r['commune'], r['qpv'])}"
            problems.append(Problem(src, int(r["row"]), column, text))
    if r_table.usable and not r_table.has_bad("reservataire"):
        rights = t.valid("reservataire")
        for r in records(rights[~rights["reservataire"].isin(list(perimeter))]):
            problems.append(Problem(src, int(r["row"]), "reservataire",
                                    f"'{r['reservataire']}' is not in reservataires{closest(r['reservataire'], perimeter)}"))
    if p.usable and not p.has_bad("commune", "epci"):
        rights = t.valid("reservataire", "commune")
        bounded = [r for r, communes in perimeter.items() if communes is not None]
        inside = pd.DataFrame([(r, c) for r in bounded for c in perimeter[r]], columns=["reservataire", "commune"])
        outside = rights["reservataire"].isin(bounded).to_numpy() & ~_found(rights, ["reservataire", "commune"], inside)
        for r in records(rights[outside]):
            problems.append(Problem(src, int(r["row"]), "commune",
                                    f"commune {r['commune']} lies outside the perimeter of réservataire {r['reservataire']}"))
    rows = t.valid(*keys, "logements_reserves", "fin_droits")
    if annee is not None:
        for r in records(rows[rows["fin_droits"] < annee]):
            problems.append(Problem(src, int(r["row"]), "fin_droits",
                                    f"rights of {r['reservataire']} on {r['logements_reserves']} dwellings of bailleur "
                                    f"{r['bailleur']} in commune {r['commune']} ended in {int(r['fin_droits'])}, "
                                    f"before {annee}: they are dropped", "warning"))
        rows = rows[~(rows["fin_droits"] < annee)]
    counted = known[known["row"].isin(p.valid("logements", "logements_hors_flux")["row"])]
    eligible = counted.drop_duplicates(keys)[[*keys, "logements_flux"]]
    totals = rows.groupby(keys, sort=True).agg(total=("logements_reserves", "sum"), last=("row", "max")).reset_index()
    over = totals.merge(eligible, on=keys, how="inner")
    over = over[over["total"] > over["logements_flux"]]
    for r in records(over):
        key = (r["bailleur"], r["commune"], r["qpv"])
        same = (rows["bailleur"] == key[0]) & (rows["commune"] == key[1]) & (rows["qpv"] == key[2])
        numbers = ", ".join(map(str, rows.loc[same, "row"]))
        problems.append(Problem(src, int(r["last"]), "logements_reserves",
                                f"{int(r['total'])} reserved dwellings (rows {numbers}) exceed the "
                                f"{int(r['logements_flux'])} flux-eligible dwellings of segment {_segment(*key)}"))


def check_report(t: TypedTable, p: TypedTable, r_table: TypedTable, problems: list[Problem]) -> None:
    """Each carry-over names a bailleur of patrimoine and a réservataire, once per pair."""
    duplicates(t, ["bailleur", "reservataire"],
               lambda r: f"the carry-over of {r['reservataire']} at bailleur {r['bailleur']}", problems)
    for column, table, known in (("bailleur", p, "patrimoine"), ("reservataire", r_table, "reservataires")):
        if not table.usable or table.has_bad(column):
            continue
        names = set(table.frame[column].tolist())
        rows = t.valid(column)
        for r in records(rows[~rows[column].isin(list(names))]):
            problems.append(Problem(t.source, int(r["row"]), column,
                                    f"'{r[column]}' is not in {known}{closest(r[column], names)}"))


def check_accords(t: TypedTable, p: TypedTable, patrimoine: pd.DataFrame, r_table: TypedTable, res: pd.DataFrame,
                  problems: list[Problem]) -> None:
    """Each agreement names a bailleur and a réservataire, once per pair, with exactly one of
    ``logements`` and ``flux_pct``, and the bailleur has segments in the réservataire's perimeter."""
    src = t.source
    duplicates(t, ["bailleur", "reservataire"],
               lambda r: f"the agreement of {r['reservataire']} at bailleur {r['bailleur']}", problems)
    for r in records(t.frame):
        given = [c for c in ("logements", "flux_pct") if not pd.isna(r[c]) or c in t.bad and r["row"] in t.bad[c]]
        if len(given) != 1:
            problems.append(Problem(src, int(r["row"]), "logements" if not given else "flux_pct",
                                    "an agreement gives either 'logements' (dwellings per year) or 'flux_pct' "
                                    "(percent of the flux on the réservataire's perimeter), one of the two"))
    for column, table, known in (("bailleur", p, "patrimoine"), ("reservataire", r_table, "reservataires")):
        if table.usable and not table.has_bad(column):
            names = set(table.frame[column].tolist())
            rows = t.valid(column)
            for r in records(rows[~rows[column].isin(list(names))]):
                problems.append(Problem(src, int(r["row"]), column,
                                        f"'{r[column]}' is not in {known}{closest(r[column], names)}"))
    if p.has_bad("bailleur", "commune") or r_table.has_bad("reservataire") or "communes" not in res:
        return
    communes_of = dict(zip(res["reservataire"].tolist(), res["communes"].tolist()))
    held: dict[str, set[str]] = {}
    for b, c in zip(patrimoine["bailleur"].tolist(), patrimoine["commune"].tolist()):
        held.setdefault(b, set()).add(c)
    for r in records(t.valid("bailleur", "reservataire")):
        b, holder = r["bailleur"], r["reservataire"]
        if b not in held or holder not in communes_of:
            continue
        perimeter = communes_of[holder]
        if perimeter is not None and not held[b] & set(perimeter):
            problems.append(Problem(src, int(r["row"]), "reservataire",
                                    f"bailleur {b} has no dwelling in the perimeter of {holder}: "
                                    "an agreement can only cover its perimeter"))
