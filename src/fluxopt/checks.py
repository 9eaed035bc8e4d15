"""Checks across an instance's tables: duplicate keys, segments, perimeters, rights that fit
their segment. Each check names the file, row and column the user must look at, and stays
quiet about what follows from a problem already reported."""

from __future__ import annotations

import re
from typing import Any, Callable

import numpy as np
import pandas as pd

from fluxopt.cells import TypedTable
from fluxopt.i18n import _
from fluxopt.problems import Problem, closest

#: A well-formed perimeter code: an INSEE commune code (5 characters) or an EPCI SIREN (9 digits).
_WELL_FORMED = re.compile(r"^(?:[0-9A-Za-z]{5}|[0-9]{9})$")

def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a frame as dicts of Python values (much faster to loop over than ``iterrows``)."""
    if not len(frame):
        return []
    columns = list(frame.columns)
    return [dict(zip(columns, values)) for values in zip(*(frame[c].tolist() for c in columns))]


def keys_of(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    """Each row's values in ``columns``, as a tuple of Python values."""
    return list(zip(*(frame[c].tolist() for c in columns)))


def _segment(bailleur: str, commune: str, qpv: bool) -> str:
    return f"{bailleur} / {commune} / {'QPV' if qpv else 'hors QPV'}"


def duplicates(t: TypedTable, keys: list[str], code: str, what: Callable[[dict[str, Any]], str],
               problems: list[Problem]) -> None:
    """Report every row whose key repeats an earlier row (``code``; ``what`` names the row's key
    in the current language; the params are the key's values and ``ligne_precedente``)."""
    frame = t.valid(*keys)
    if len(set(keys_of(frame, keys))) == len(frame):  # the common case: no key repeats (read values, no NaN)
        return
    repeated = frame.duplicated(keys).to_numpy()
    if not repeated.any():
        return
    first = frame.groupby(keys, sort=False, dropna=False)["row"].transform("first").to_numpy()[repeated]
    for r, row in zip(records(frame[repeated]), first):
        params = {k: r[k] for k in keys} | {"ligne_precedente": int(row)}
        problems.append(Problem(t.source, int(r["row"]), keys[-1],
                                _("{quoi} is already given on row {ligne_precedente}; it must appear once").format(
                                    quoi=what(r), ligne_precedente=int(row)), code=code, params=params))


def _where(frame: pd.DataFrame, mask: pd.Series | np.ndarray) -> list[dict[str, Any]]:
    """The :func:`records` of the rows where ``mask`` holds (none selected without a copy)."""
    return records(frame[mask]) if mask.any() else []


def _found(frame: pd.DataFrame, columns: list[str], table: pd.DataFrame) -> np.ndarray:
    """Whether each row's values in ``columns`` appear together on some row of ``table``."""
    if frame.empty or table.empty:
        return np.zeros(len(frame), dtype=bool)
    return _found_in(frame, columns, set(keys_of(table, columns)))


def _found_in(frame: pd.DataFrame, columns: list[str], known: set[tuple]) -> np.ndarray:
    """Whether each row's values in ``columns`` (read values, no NaN) are one of the tuples ``known``."""
    return np.fromiter((key in known for key in keys_of(frame, columns)), dtype=bool, count=len(frame))


_FLUX_INPUTS = ("logements", "logements_hors_flux", "liberations", "taux_rotation",
                "mises_en_service", "mutations_internes", "relogements")


def check_patrimoine(t: TypedTable, problems: list[Problem]) -> pd.DataFrame:
    src = t.source
    duplicates(t, ["bailleur", "commune", "qpv"], "segment_doublon",
               lambda r: _("segment {segment}").format(segment=_segment(r['bailleur'], r['commune'], r['qpv'])),
               problems)
    rows = t.valid("logements", "logements_hors_flux")
    for r in _where(rows, rows["logements_hors_flux"] > rows["logements"]):
        t.bad["logements_hors_flux"].add(int(r["row"]))
        problems.append(Problem.coded(src, int(r["row"]), "logements_hors_flux", "hors_flux_excessif",
                                      _("{hors_flux} dwellings kept in stock exceed the segment's {logements} dwellings"),
                                      {"hors_flux": int(r["logements_hors_flux"]), "logements": int(r["logements"])}))
    rows = t.valid("liberations", "taux_rotation")
    for r in _where(rows, rows["liberations"].notna() & rows["taux_rotation"].notna()):
        t.bad["liberations"].add(int(r["row"]))
        problems.append(Problem.coded(src, int(r["row"]), "taux_rotation", "liberations_et_taux",
                                      _("give either 'liberations' or 'taux_rotation', not both")))
    for r in _where(rows, rows["liberations"].isna() & rows["taux_rotation"].isna()):
        t.bad["liberations"].add(int(r["row"]))
        problems.append(Problem.coded(src, int(r["row"]), "liberations", "liberations_manquantes",
                                      _("give 'liberations' (releases per year) or 'taux_rotation' (turnover rate)")))
    rows = t.valid("commune", "epci")
    placed = set(keys_of(rows, ["commune", "epci"]))
    several = len(placed) > len({commune for commune, _epci in placed})  # some commune in several EPCIs
    epcis = rows.groupby("commune")["epci"].unique() if several else pd.Series()
    for commune, codes in epcis[epcis.map(len) > 1].items():
        numbers = rows.loc[rows["commune"] == commune, "row"].tolist()
        problems.append(Problem.coded(src, int(numbers[-1]), "epci", "commune_plusieurs_epci",
                                      _("commune {commune} is given in several EPCIs ({epcis}) on rows {lignes}; "
                                        "a commune belongs to one EPCI"),
                                      {"commune": commune, "epcis": ", ".join(sorted(codes)),
                                       "lignes": ", ".join(map(str, numbers))}))
    p = t.frame.copy()
    p["logements_flux"] = (p["logements"] - p["logements_hors_flux"]).clip(lower=0)
    p["liberations"] = p["liberations"].fillna(p["taux_rotation"] * p["logements_flux"])
    p["flux_base"] = p["liberations"] + p["mises_en_service"] - p["mutations_internes"] - p["relogements"]
    negative = p["flux_base"] < -1e-9
    if negative.any():
        negative &= p["row"].isin(t.valid(*_FLUX_INPUTS)["row"])
    for r in _where(p, negative):
        column = "mutations_internes" if r["mutations_internes"] >= r["relogements"] else "relogements"
        problems.append(Problem.coded(src, int(r["row"]), column, "flux_negatif",
                                      _("internal transfers and rehousing ({retraits}) exceed releases plus new "
                                        "lettings ({entrees}): the flux base of the segment would be negative"),
                                      {"retraits": f"{r['mutations_internes'] + r['relogements']:g}",
                                       "entrees": f"{r['liberations'] + r['mises_en_service']:g}"}))
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
                problems.append(Problem.coded(t.source, int(r["row"]), "perimetre", "perimetre_manquant",
                                              _("a réservataire of type '{type}' needs a perimeter "
                                                "(its commune or EPCI codes, separated by spaces)"), {"type": r["type"]}))
            perimeters.append(None)
            continue
        chosen: set[str] = set()
        for code in codes:
            if code in communes:
                chosen.add(code)
            elif code in by_epci:
                chosen |= by_epci[code]
            elif not _WELL_FORMED.match(code):
                problems.append(Problem.coded(t.source, int(r["row"]), "perimetre", "perimetre_invalide",
                                              _("'{code}' is neither a commune code (5 characters, e.g. 33063) nor "
                                                "an EPCI SIREN (9 digits, e.g. 243300316)"), {"code": code}))
            elif p.usable and not p.has_bad("commune", "epci"):
                params = {"code": code, "reservataire": r["reservataire"]}
                problems.append(Problem(t.source, int(r["row"]), "perimetre",
                                        _("'{code}' names no commune or EPCI of patrimoine").format(**params)
                                        + closest(code, communes | set(by_epci))
                                        + _(": réservataire {reservataire} gets nothing there").format(**params),
                                        "warning", code="perimetre_inconnu", params=params))
        perimeters.append(tuple(sorted(chosen)))
    res = t.frame.copy()
    res["communes"] = pd.Series(perimeters, index=res.index, dtype="object")
    return res


def check_q1_bounds(t: TypedTable, problems: list[Problem]) -> None:
    rows = t.valid("part_q1_min", "part_q1_max")
    for r in records(rows[rows["part_q1_min"] > rows["part_q1_max"]]):
        problems.append(Problem.coded(t.source, int(r["row"]), "part_q1_min", "bornes_q1_inversees",
                                      _("part_q1_min {minimum} is above part_q1_max {maximum}"),
                                      {"minimum": f"{r['part_q1_min']:g}", "maximum": f"{r['part_q1_max']:g}"}))


def check_stock(t: TypedTable, p: TypedTable, patrimoine: pd.DataFrame, r_table: TypedTable, res: pd.DataFrame,
                 annee: int | None, problems: list[Problem]) -> None:
    src = t.source
    keys = ["bailleur", "commune", "qpv"]
    duplicates(t, ["bailleur", "reservataire", "commune", "qpv"], "droit_doublon",
               lambda r: _("the right of {reservataire} on segment {segment}").format(
                   reservataire=r["reservataire"], segment=_segment(r["bailleur"], r["commune"], r["qpv"])),
               problems)
    placed = p.valid(*keys)
    known = patrimoine if placed is p.frame else patrimoine[patrimoine["row"].isin(placed["row"])]
    perimeter = res.set_index("reservataire")["communes"].to_dict() if r_table.usable else {}
    if p.usable:
        rights = t.valid(*keys)
        unsure = set(patrimoine.loc[~patrimoine["row"].isin(known["row"]), "bailleur"].tolist())
        rights = rights[~rights["bailleur"].isin(unsure)]
        places = set(zip(known["bailleur"].tolist(), known["commune"].tolist()))
        bailleurs = set(known["bailleur"].tolist())
        for r in records(rights[~_found(rights, keys, known)]):
            params = {"bailleur": r["bailleur"], "commune": r["commune"], "qpv": bool(r["qpv"])}
            if r["bailleur"] not in bailleurs:
                column, code, text = "bailleur", "bailleur_inconnu", (
                    _("bailleur '{bailleur}' has no segment in patrimoine").format(**params)
                    + closest(r["bailleur"], bailleurs))
            elif (r["bailleur"], r["commune"]) not in places:
                column, code = "commune", "commune_inconnue"
                text = _("bailleur {bailleur} has no segment in commune {commune}").format(**params)
            else:
                column, code = "qpv", "segment_inconnu"
                text = _("patrimoine has no segment {segment}").format(
                    segment=_segment(r["bailleur"], r["commune"], r["qpv"]))
            problems.append(Problem(src, int(r["row"]), column, text, code=code, params=params))
    if r_table.usable and not r_table.has_bad("reservataire"):
        rights = t.valid("reservataire")
        for r in records(rights[~rights["reservataire"].isin(list(perimeter))]):
            problems.append(Problem.coded(src, int(r["row"]), "reservataire", "reservataire_inconnu",
                                          _("'{nom}' is not in {table}"),
                                          {"nom": r["reservataire"], "table": "reservataires"},
                                          suffix=closest(r["reservataire"], perimeter)))
    if p.usable and not p.has_bad("commune", "epci"):
        rights = t.valid("reservataire", "commune")
        bounded = [r for r, communes in perimeter.items() if communes is not None]
        inside = {(r, c) for r in bounded for c in perimeter[r]}
        outside = rights["reservataire"].isin(bounded).to_numpy() & ~_found_in(rights, ["reservataire", "commune"], inside)
        for r in _where(rights, outside):
            problems.append(Problem.coded(src, int(r["row"]), "commune", "hors_perimetre",
                                          _("commune {commune} lies outside the perimeter of réservataire {reservataire}"),
                                          {"commune": r["commune"], "reservataire": r["reservataire"]}))
    rows = t.valid(*keys, "logements_reserves", "fin_droits")
    if annee is not None:
        for r in records(rows[rows["fin_droits"] < annee]):
            problems.append(Problem.coded(src, int(r["row"]), "fin_droits", "droits_expires",
                                          _("rights of {reservataire} on {logements} dwellings of bailleur {bailleur} "
                                            "in commune {commune} ended in {fin_droits}, before {annee}: they are dropped"),
                                          {"reservataire": r["reservataire"], "logements": int(r["logements_reserves"]),
                                           "bailleur": r["bailleur"], "commune": r["commune"],
                                           "fin_droits": int(r["fin_droits"]), "annee": annee}, "warning"))
        rows = rows[~(rows["fin_droits"] < annee)]
    counted = known[known["row"].isin(p.valid("logements", "logements_hors_flux")["row"])]
    if not _over_capacity(rows, counted, keys):
        return
    eligible = counted.drop_duplicates(keys)[[*keys, "logements_flux"]]
    totals = rows.groupby(keys, sort=True).agg(total=("logements_reserves", "sum"), last=("row", "max")).reset_index()
    over = totals.merge(eligible, on=keys, how="inner")
    over = over[over["total"] > over["logements_flux"]]
    for r in records(over):
        key = (r["bailleur"], r["commune"], r["qpv"])
        same = (rows["bailleur"] == key[0]) & (rows["commune"] == key[1]) & (rows["qpv"] == key[2])
        numbers = ", ".join(map(str, rows.loc[same, "row"]))
        problems.append(Problem.coded(src, int(r["last"]), "logements_reserves", "droits_excessifs",
                                      _("{total} reserved dwellings (rows {lignes}) exceed the {logements_flux} "
                                        "flux-eligible dwellings of segment {segment}"),
                                      {"total": int(r["total"]), "lignes": numbers,
                                       "logements_flux": int(r["logements_flux"]), "segment": _segment(*key)}))


def _over_capacity(rows: pd.DataFrame, counted: pd.DataFrame, keys: list[str]) -> bool:
    """Whether the rights ``rows`` of some segment of ``counted`` add up to more than its
    flux-eligible dwellings (the first row of a repeated segment counts)."""
    capacity: dict[tuple, int] = {}
    for key, flux in zip(keys_of(counted, keys), counted["logements_flux"].tolist()):
        capacity.setdefault(key, flux)
    total: dict[tuple, int] = {}
    for key, reserved in zip(keys_of(rows, keys), rows["logements_reserves"].tolist()):
        total[key] = total.get(key, 0) + reserved
    return any(key in capacity and n > capacity[key] for key, n in total.items())


def check_report(t: TypedTable, p: TypedTable, r_table: TypedTable, problems: list[Problem]) -> None:
    """Each carry-over names a bailleur of patrimoine and a réservataire, once per pair."""
    duplicates(t, ["bailleur", "reservataire"], "report_doublon",
               lambda r: _("the carry-over of {reservataire} at bailleur {bailleur}").format(
                   reservataire=r["reservataire"], bailleur=r["bailleur"]), problems)
    for column, table, known in (("bailleur", p, "patrimoine"), ("reservataire", r_table, "reservataires")):
        if not table.usable or table.has_bad(column):
            continue
        names = set(table.frame[column].tolist())
        rows = t.valid(column)
        for r in records(rows[~rows[column].isin(list(names))]):
            problems.append(Problem.coded(t.source, int(r["row"]), column, f"{column}_inconnu",
                                          _("'{nom}' is not in {table}"), {"nom": r[column], "table": known},
                                          suffix=closest(r[column], names)))


def check_accords(t: TypedTable, p: TypedTable, patrimoine: pd.DataFrame, r_table: TypedTable, res: pd.DataFrame,
                  problems: list[Problem]) -> None:
    """Each agreement names a bailleur and a réservataire, once per pair, with exactly one of
    ``logements`` and ``flux_pct``, and the bailleur has segments in the réservataire's perimeter."""
    src = t.source
    duplicates(t, ["bailleur", "reservataire"], "accord_doublon",
               lambda r: _("the agreement of {reservataire} at bailleur {bailleur}").format(
                   reservataire=r["reservataire"], bailleur=r["bailleur"]), problems)
    for r in records(t.frame):
        given = [c for c in ("logements", "flux_pct") if not pd.isna(r[c]) or c in t.bad and r["row"] in t.bad[c]]
        if len(given) != 1:
            problems.append(Problem.coded(src, int(r["row"]), "logements" if not given else "flux_pct",
                                          "accord_quantite",
                                          _("an agreement gives either 'logements' (dwellings per year) or 'flux_pct' "
                                            "(percent of the flux on the réservataire's perimeter), one of the two")))
    for column, table, known in (("bailleur", p, "patrimoine"), ("reservataire", r_table, "reservataires")):
        if table.usable and not table.has_bad(column):
            names = set(table.frame[column].tolist())
            rows = t.valid(column)
            for r in records(rows[~rows[column].isin(list(names))]):
                problems.append(Problem.coded(src, int(r["row"]), column, f"{column}_inconnu",
                                              _("'{nom}' is not in {table}"), {"nom": r[column], "table": known},
                                              suffix=closest(r[column], names)))
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
            problems.append(Problem.coded(src, int(r["row"]), "reservataire", "accord_hors_perimetre",
                                          _("bailleur {bailleur} has no dwelling in the perimeter of {reservataire}: "
                                            "an agreement can only cover its perimeter"),
                                          {"bailleur": b, "reservataire": holder}))
