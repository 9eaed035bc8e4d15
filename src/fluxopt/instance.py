"""Typed, validated instances (SPEC §2): raw tables in, an :class:`Instance` or every problem out.

Each check reports where the user must look (file or sheet, row, column) and
stays quiet about what follows from a problem already reported (a row whose
cell could not be read is not checked further).
"""

from __future__ import annotations

import dataclasses
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from fluxopt.policy import TYPES, Policy, PolicyError, check_values, flatten, load_policy
from fluxopt.problems import InstanceError, Problem, closest
from fluxopt.readers import TABLES, RawInstance, RawTable, decimal_point, normalize_name, read_raw

BAILLEUR_TYPES = ("oph", "esh", "sem", "coop", "autre")
#: Values of the ``convention`` column of reservataires (SPEC §2, version 2).
CONVENTIONS = ("signee", "non_signee")
#: A well-formed perimeter code: an INSEE commune code (5 characters) or an EPCI SIREN (9 digits).
_WELL_FORMED = re.compile(r"^(?:[0-9A-Za-z]{5}|[0-9]{9})$")
_TRUE = {"1", "true", "oui", "vrai", "yes"}
_FALSE = {"0", "false", "non", "faux", "no"}
_SPACES = re.compile(r"[ \u00a0\u202f]")


class _Invalid(Exception):
    """A cell that cannot be read as its column's kind; the message is for the user."""


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise _Invalid(f"'{value}' is not a number")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        try:
            number = float(value)  # the common case; thousands separated by spaces need the next step
        except TypeError:
            raise _Invalid(f"{value!r} is not a number") from None
        except ValueError:
            text = _SPACES.sub("", str(value))
            try:
                number = float(text)
            except ValueError:
                hint = " (in a file separated by ',', write decimals with a point)" if "," in text else ""
                raise _Invalid(f"'{value}' is not a number{hint}") from None
    if not math.isfinite(number):
        raise _Invalid(f"'{value}' is not a finite number")
    return number


def _code(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _commune(value: Any) -> str:
    """An INSEE code; a number loses its leading zero in spreadsheets, so it is padded to 5 digits."""
    code = _code(value)
    return code.zfill(5) if isinstance(value, (int, float)) and not isinstance(value, bool) else code


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _code(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _Invalid(f"'{value}' is not a yes/no value (use 1/0, oui/non, vrai/faux or true/false)")


def _count(value: Any) -> float:
    number = _number(value)
    if number < 0:
        raise _Invalid(f"{value} is negative; it must be 0 or more")
    return number


def _integer(value: Any) -> int:
    number = _count(value)
    if not number.is_integer():
        raise _Invalid(f"{value} is not a whole number of dwellings")
    return int(number)


def _fraction(value: Any) -> float:
    """A rate in [0, 1]; a text ending in '%' is a percentage ('25 %' is 0.25)."""
    text = str(value).strip()
    number = _number(text[:-1]) / 100 if not isinstance(value, (int, float)) and text.endswith("%") else _number(value)
    if not 0 <= number <= 1:
        raise _Invalid(f"{value} is not a rate between 0 and 1 (write 25 % as 0.25)")
    return number


def _year(value: Any) -> int:
    number = _number(value)
    if not number.is_integer():
        raise _Invalid(f"'{value}' is not a year")
    return int(number)


def _choice(choices: tuple[str, ...]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = _code(value).lower()
        if text not in choices:
            raise _Invalid(f"'{value}' is not one of {', '.join(choices)}{closest(text, choices)}")
        return text

    return parse


def _convention(value: Any) -> str:
    """``signee`` or ``non_signee``; accents, case and spaces are forgiven ('non signée')."""
    text = normalize_name(value)
    if text not in CONVENTIONS:
        raise _Invalid(f"'{value}' is not one of {', '.join(CONVENTIONS)}{closest(text, CONVENTIONS)}")
    return text


@dataclass(frozen=True)
class Column:
    parse: Callable[[Any], Any]
    required: bool = False
    default: Any = None
    dtype: str = "object"


_MISSING = float("nan")
#: Marks a cell value not parsed yet (None is a parse result).
_UNPARSED = object()
#: Value given to a required cell that is missing or unreadable (the row is then not checked further).
_FILL = {"int64": 0, "bool": False, "float64": _MISSING, "object": None}
SPECS: dict[str, dict[str, Column]] = {
    "patrimoine": {
        "bailleur": Column(_code, True),
        "commune": Column(_commune, True),
        "epci": Column(_code, True),
        "qpv": Column(_boolean, True, dtype="bool"),
        "logements": Column(_integer, True, dtype="int64"),
        "logements_hors_flux": Column(_integer, False, 0, "int64"),
        "liberations": Column(_count, False, _MISSING, "float64"),
        "taux_rotation": Column(_fraction, False, _MISSING, "float64"),
        "mises_en_service": Column(_count, False, 0.0, "float64"),
        "mutations_internes": Column(_count, False, 0.0, "float64"),
        "relogements": Column(_count, False, 0.0, "float64"),
        "attributions": Column(_count, False, _MISSING, "float64"),
    },
    "reservataires": {
        "reservataire": Column(_code, True),
        "nom": Column(_code, False, ""),
        "type": Column(_choice(TYPES), True),
        "perimetre": Column(_commune, False, ""),
        "part_q1_min": Column(_fraction, False, _MISSING, "float64"),
        "part_q1_max": Column(_fraction, False, _MISSING, "float64"),
        "convention": Column(_convention, False, "signee"),
    },
    "stock": {
        "bailleur": Column(_code, True),
        "reservataire": Column(_code, True),
        "commune": Column(_commune, True),
        "qpv": Column(_boolean, True, dtype="bool"),
        "logements_reserves": Column(_integer, True, dtype="int64"),
        "liberations": Column(_count, False, _MISSING, "float64"),
        "attributions": Column(_count, False, _MISSING, "float64"),
        "fin_droits": Column(_year, False, _MISSING, "float64"),
    },
    "cil": {
        "epci": Column(_code, True),
        "part_q1_hors_qpv": Column(_fraction, False, _MISSING, "float64"),
        "part_autres_qpv": Column(_fraction, False, _MISSING, "float64"),
    },
    "bailleurs": {
        "bailleur": Column(_code, True),
        "nom": Column(_code, False, ""),
        "type": Column(_choice(BAILLEUR_TYPES), False, "autre"),
        "part_q1_min": Column(_fraction, False, _MISSING, "float64"),
        "part_q1_max": Column(_fraction, False, _MISSING, "float64"),
    },
    "report": {
        "bailleur": Column(_code, True),
        "reservataire": Column(_code, True),
        "logements": Column(_number, True, dtype="float64"),
    },
}
META_KEYS = ("nom", "territoire", "annee", "politique", "surcharges")
#: Tables that must hold at least one row.
NON_EMPTY = ("patrimoine", "reservataires")


@dataclass(frozen=True, eq=False)
class Instance:
    """A validated instance. Tables are pandas DataFrames with the SPEC's columns, typed,
    plus ``row`` (the row number the user sees in the source). ``patrimoine`` also carries
    ``liberations`` filled from ``taux_rotation``, ``logements_flux`` (N_s) and ``flux_base`` (F_s);
    ``reservataires`` carries ``communes``: the perimeter as a tuple of commune codes, or None
    for the whole département; ``report`` is the carry-over of last year's bilan (may be empty)."""

    nom: str
    territoire: str
    annee: int
    policy: Policy
    patrimoine: pd.DataFrame
    reservataires: pd.DataFrame
    stock: pd.DataFrame
    cil: pd.DataFrame
    bailleurs: pd.DataFrame
    report: pd.DataFrame
    source: str
    sha256: str
    warnings: tuple[Problem, ...] = field(default=())
    sources: Mapping[str, str] = field(default_factory=dict)
    surcharges: Mapping[str, Any] = field(default_factory=dict)
    load_seconds: float = 0.0

    def describe(self) -> str:
        """One line: bailleurs, segments, réservataires, rights and flux base."""
        p = self.patrimoine
        return (
            f"{self.nom} ({self.territoire}, {self.annee}): {p['bailleur'].nunique()} bailleurs, "
            f"{len(p)} segments, {len(self.reservataires)} réservataires, {len(self.stock)} rights, "
            f"flux base {p['flux_base'].sum():.1f} dwellings/year"
        )

    def differences(self, other: Instance) -> list[str]:
        """What differs in the data of two instances (not their source, SHA-256, row numbers or warnings)."""
        found = [
            f"{name}: {getattr(self, name)!r} != {getattr(other, name)!r}"
            for name in ("nom", "territoire", "annee")
            if getattr(self, name) != getattr(other, name)
        ]
        if (self.policy.name, self.policy.to_dict()) != (other.policy.name, other.policy.to_dict()):
            found.append(f"policy: {self.policy.name} {self.policy.to_dict()} != {other.policy.name} {other.policy.to_dict()}")
        for name in TABLES:
            mine, theirs = (getattr(i, name).drop(columns="row").reset_index(drop=True) for i in (self, other))
            try:
                pd.testing.assert_frame_equal(mine, theirs, check_exact=False, rtol=1e-12)
            except AssertionError as exc:
                found.append(f"{name}: {exc}")
        return found

    def same_data(self, other: Instance) -> bool:
        """True when both instances hold the same data, whatever form they were read from."""
        return not self.differences(other)


@dataclass
class _Table:
    """A typed table and the cells that could not be used (missing or unreadable)."""

    source: str
    frame: pd.DataFrame
    bad: dict[str, set[int]]
    usable: bool

    def valid(self, *columns: str) -> pd.DataFrame:
        """The rows whose cells in ``columns`` were all read."""
        rows = set().union(*(self.bad.get(c, set()) for c in columns))
        return self.frame[~self.frame["row"].isin(rows)]

    def has_bad(self, *columns: str) -> bool:
        return any(self.bad.get(c) for c in columns)


def _empty_frame(spec: dict[str, Column]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=s.dtype) for c, s in spec.items()} | {"row": pd.Series(dtype="int64")})


def _typed_table(name: str, raw: RawTable | None, problems: list[Problem]) -> _Table:
    """Parse the cells of one table by its spec; record every bad cell."""
    spec = SPECS[name]
    if raw is None:
        return _Table(name, _empty_frame(spec), {}, False)
    if not raw.rows:
        if name in NON_EMPTY:
            problems.append(Problem(raw.source, None, None, f"'{name}' has no rows of data"))
        elif name == "stock":
            problems.append(Problem(raw.source, None, None,
                                    "there are no rights in stock: the whole flux stays with the bailleurs", "warning"))
        return _Table(raw.source, _empty_frame(spec), {}, name not in NON_EMPTY)
    if not set(raw.columns) & set(spec):
        required = ", ".join(c for c, s in spec.items() if s.required)
        problems.append(Problem(raw.source, raw.header_row, None,
                                f"this is not a '{name}' table: no column has a known name; "
                                f"its first row must name the columns ({required}, ...)"))
        return _Table(raw.source, _empty_frame(spec), {}, False)
    for col in raw.columns:
        if col not in spec:
            problems.append(Problem(raw.source, raw.header_row, col,
                                    f"unknown column '{col}' is ignored{closest(col, spec)}", "warning"))
    bad: dict[str, set[int]] = {c: set() for c in spec}
    all_rows = {number for number, _ in raw.rows}
    for col, s in spec.items():
        if s.required and col not in raw.columns:
            problems.append(Problem(raw.source, raw.header_row, col, f"required column '{col}' is missing"))
            bad[col] = set(all_rows)
    columns: dict[str, list[Any]] = {col: [] for col in spec}
    # Cells repeat (codes, booleans, counts): each distinct (type, value) is parsed once per column.
    parsed: dict[str, dict[tuple[type, Any], Any]] = {col: {} for col in spec}
    for number, cells in raw.rows:
        for col, s in spec.items():
            value = cells.get(col)
            if value is None or (isinstance(value, str) and value.strip() == ""):
                if s.required and col in raw.columns:
                    problems.append(Problem(raw.source, number, col, f"'{col}' is empty; a value is required"))
                    bad[col].add(number)
                columns[col].append(s.default if s.default is not None else _FILL[s.dtype])
                continue
            if raw.decimal_comma and s.dtype != "object" and isinstance(value, str):
                value = decimal_point(value)
            key = (type(value), value)
            outcome = parsed[col].get(key, _UNPARSED)
            if outcome is _UNPARSED:
                try:
                    outcome = s.parse(value)
                except _Invalid as exc:
                    outcome = exc
                parsed[col][key] = outcome
            if isinstance(outcome, _Invalid):
                problems.append(Problem(raw.source, number, col, str(outcome)))
                bad[col].add(number)
                outcome = s.default if s.default is not None else _FILL[s.dtype]
            columns[col].append(outcome)
    frame = pd.DataFrame({**columns, "row": [number for number, _ in raw.rows]}, columns=[*spec, "row"])
    for col, s in spec.items():
        if s.dtype != "object" and frame[col].dtype != s.dtype:
            frame[col] = frame[col].astype(s.dtype)
    return _Table(raw.source, frame.astype({"row": "int64"}), bad, True)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a frame as dicts of Python values (much faster to loop over than ``iterrows``)."""
    columns = list(frame.columns)
    return [dict(zip(columns, values)) for values in zip(*(frame[c].tolist() for c in columns))]


def _segment(bailleur: str, commune: str, qpv: bool) -> str:
    return f"{bailleur} / {commune} / {'QPV' if qpv else 'hors QPV'}"


def _duplicates(t: _Table, keys: list[str], what: Callable[[dict[str, Any]], str], problems: list[Problem]) -> None:
    """Report every row whose key repeats an earlier row."""
    frame = t.valid(*keys)
    repeated = frame.duplicated(keys).to_numpy()
    if not repeated.any():
        return
    first = frame.groupby(keys, sort=False, dropna=False)["row"].transform("first").to_numpy()[repeated]
    for r, row in zip(_records(frame[repeated]), first):
        problems.append(Problem(t.source, int(r["row"]), keys[-1],
                                f"{what(r)} is already given on row {row}; it must appear once"))


def _found(frame: pd.DataFrame, columns: list[str], table: pd.DataFrame) -> np.ndarray:
    """Whether each row's values in ``columns`` appear together on some row of ``table``."""
    if frame.empty or table.empty:
        return np.zeros(len(frame), dtype=bool)
    return pd.MultiIndex.from_frame(frame[columns]).isin(pd.MultiIndex.from_frame(table[columns]))


_FLUX_INPUTS = ("logements", "logements_hors_flux", "liberations", "taux_rotation",
                "mises_en_service", "mutations_internes", "relogements")


def _check_patrimoine(t: _Table, problems: list[Problem]) -> pd.DataFrame:
    src = t.source
    _duplicates(t, ["bailleur", "commune", "qpv"],
                lambda r: f"segment {_segment(r['bailleur'], r['commune'], r['qpv'])}", problems)
    rows = t.valid("logements", "logements_hors_flux")
    for r in _records(rows[rows["logements_hors_flux"] > rows["logements"]]):
        t.bad["logements_hors_flux"].add(int(r["row"]))
        problems.append(Problem(src, int(r["row"]), "logements_hors_flux",
                                f"{r['logements_hors_flux']} dwellings kept in stock exceed the segment's "
                                f"{r['logements']} dwellings"))
    rows = t.valid("liberations", "taux_rotation")
    for r in _records(rows[rows["liberations"].notna() & rows["taux_rotation"].notna()]):
        t.bad["liberations"].add(int(r["row"]))
        problems.append(Problem(src, int(r["row"]), "taux_rotation",
                                "give either 'liberations' or 'taux_rotation', not both"))
    for r in _records(rows[rows["liberations"].isna() & rows["taux_rotation"].isna()]):
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
    for r in _records(p[checkable & (p["flux_base"] < -1e-9)]):
        column = "mutations_internes" if r["mutations_internes"] >= r["relogements"] else "relogements"
        problems.append(Problem(src, int(r["row"]), column,
                                f"internal transfers and rehousing ({r['mutations_internes'] + r['relogements']:g}) "
                                f"exceed releases plus new lettings ({r['liberations'] + r['mises_en_service']:g}): "
                                "the flux base of the segment would be negative"))
    return p


def _perimeters(t: _Table, p: _Table, problems: list[Problem]) -> pd.DataFrame:
    """The communes of each réservataire's perimeter (None: the whole département)."""
    communes = set(p.valid("commune")["commune"].tolist())
    placed = p.valid("commune", "epci")
    by_epci: dict[str, set[str]] = {}
    for e, c in zip(placed["epci"].tolist(), placed["commune"].tolist()):
        by_epci.setdefault(e, set()).add(c)
    perimeters: list[tuple[str, ...] | None] = []
    for r in _records(t.frame):
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


def _check_q1_bounds(t: _Table, problems: list[Problem]) -> None:
    rows = t.valid("part_q1_min", "part_q1_max")
    for r in _records(rows[rows["part_q1_min"] > rows["part_q1_max"]]):
        problems.append(Problem(t.source, int(r["row"]), "part_q1_min",
                                f"part_q1_min {r['part_q1_min']:g} is above part_q1_max {r['part_q1_max']:g}"))


def _check_stock(t: _Table, p: _Table, patrimoine: pd.DataFrame, r_table: _Table, res: pd.DataFrame,
                 annee: int | None, problems: list[Problem]) -> None:
    src = t.source
    keys = ["bailleur", "commune", "qpv"]
    _duplicates(t, ["bailleur", "reservataire", "commune", "qpv"],
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
        for r in _records(rights[~_found(rights, keys, known)]):
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
        for r in _records(rights[~rights["reservataire"].isin(list(perimeter))]):
            problems.append(Problem(src, int(r["row"]), "reservataire",
                                    f"'{r['reservataire']}' is not in reservataires{closest(r['reservataire'], perimeter)}"))
    if p.usable and not p.has_bad("commune", "epci"):
        rights = t.valid("reservataire", "commune")
        bounded = [r for r, communes in perimeter.items() if communes is not None]
        inside = pd.DataFrame([(r, c) for r in bounded for c in perimeter[r]], columns=["reservataire", "commune"])
        outside = rights["reservataire"].isin(bounded).to_numpy() & ~_found(rights, ["reservataire", "commune"], inside)
        for r in _records(rights[outside]):
            problems.append(Problem(src, int(r["row"]), "commune",
                                    f"commune {r['commune']} lies outside the perimeter of réservataire {r['reservataire']}"))
    rows = t.valid(*keys, "logements_reserves", "fin_droits")
    if annee is not None:
        for r in _records(rows[rows["fin_droits"] < annee]):
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
    for r in _records(over):
        key = (r["bailleur"], r["commune"], r["qpv"])
        same = (rows["bailleur"] == key[0]) & (rows["commune"] == key[1]) & (rows["qpv"] == key[2])
        numbers = ", ".join(map(str, rows.loc[same, "row"]))
        problems.append(Problem(src, int(r["last"]), "logements_reserves",
                                f"{int(r['total'])} reserved dwellings (rows {numbers}) exceed the "
                                f"{int(r['logements_flux'])} flux-eligible dwellings of segment {_segment(*key)}"))


def _check_report(t: _Table, p: _Table, r_table: _Table, problems: list[Problem]) -> None:
    """Each carry-over names a bailleur of patrimoine and a réservataire, once per pair."""
    _duplicates(t, ["bailleur", "reservataire"],
                lambda r: f"the carry-over of {r['reservataire']} at bailleur {r['bailleur']}", problems)
    for column, table, known in (("bailleur", p, "patrimoine"), ("reservataire", r_table, "reservataires")):
        if not table.usable or table.has_bad(column):
            continue
        names = set(table.frame[column].tolist())
        rows = t.valid(column)
        for r in _records(rows[~rows[column].isin(list(names))]):
            problems.append(Problem(t.source, int(r["row"]), column,
                                    f"'{r[column]}' is not in {known}{closest(r[column], names)}"))


def transfer_problems(inst: Instance, policy: Policy) -> list[Problem]:
    """Errors of the target adjustments that move targets to the préfet (SPEC §4, steps 1 and 2).

    When ``prefet.cible`` is a rate, or when ``defaut.vers_prefet`` applies to a réservataire
    without a signed convention, the instance needs exactly one réservataire of type ``prefet``;
    and a réservataire of type ``prefet`` cannot default to itself.
    """
    res = inst.reservataires
    src = inst.sources.get("reservataires", "reservataires")
    defaulting = res[res["convention"] == "non_signee"] if policy.vers_prefet else res.iloc[:0]
    if policy.prefet_cible is None and defaulting.empty:
        return []
    problems = [Problem(src, int(r["row"]), "convention",
                        f"réservataire {r['reservataire']} is the préfet: its targets cannot move to itself "
                        "(write convention = signee)")
                for r in _records(defaulting[defaulting["type"] == "prefet"])]
    prefets = res.loc[res["type"] == "prefet", "reservataire"].tolist()
    if len(prefets) != 1:
        why = (f"prefet.cible = {policy.values['prefet.cible']}" if policy.prefet_cible is not None
               else f"réservataire {defaulting['reservataire'].iloc[0]} has no signed convention "
                    "(defaut.vers_prefet)")
        found = f"it has {len(prefets)} ({', '.join(prefets)})" if prefets else "it has none"
        problems.append(Problem(src, None, "type", f"{why}: the instance needs exactly one réservataire "
                                                   f"of type 'prefet' to receive the targets; {found}"))
    return problems


def _meta(raw: RawInstance, problems: list[Problem]) -> dict[str, Any]:
    """The `instance` keys, checked (missing keys are not reported when the whole part is missing)."""
    meta = dict(raw.meta)
    src = raw.meta_source
    for key in meta:
        if key not in META_KEYS:
            problems.append(Problem(src, raw.meta_rows.get(key), key,
                                    f"unknown key '{key}' is ignored{closest(key, META_KEYS)}", "warning"))
    out: dict[str, Any] = {
        "nom": str(meta.get("nom") or Path(raw.source).stem),
        "politique": str(meta.get("politique") or "elan-2020"),
        "surcharges": meta.get("surcharges") or {},
        "territoire": "",
        "annee": None,
    }
    territoire = meta.get("territoire")
    if territoire in (None, ""):
        if raw.meta_found:
            problems.append(Problem(src, None, "territoire", "'territoire' (the département code, e.g. 33) is missing"))
    else:
        numeric = isinstance(territoire, (int, float)) and not isinstance(territoire, bool)
        out["territoire"] = _code(territoire).zfill(2) if numeric else _code(territoire)
    if meta.get("annee") in (None, ""):
        if raw.meta_found:
            problems.append(Problem(src, None, "annee", "'annee' (the year of the flux, e.g. 2025) is missing"))
    else:
        try:
            out["annee"] = _year(meta["annee"])
        except _Invalid:
            problems.append(Problem(src, raw.meta_rows.get("annee"), "annee",
                                    f"'annee' must be the year of the flux, not {meta['annee']!r}"))
    if not isinstance(out["surcharges"], Mapping):
        problems.append(Problem(src, raw.meta_rows.get("surcharges"), "surcharges",
                                "'surcharges' must be a table of policy keys and values"))
        out["surcharges"] = {}
    return out


def _policy(raw: RawInstance, meta: dict[str, Any], problems: list[Problem]) -> Policy | None:
    """The instance's policy with its overrides; unknown names and keys are reported with the closest known one."""
    src = raw.meta_source
    overrides = flatten(meta["surcharges"])
    bad = check_values(overrides, "surcharges")
    problems += [Problem(src, raw.meta_rows.get(f"surcharges.{p.column}"), f"surcharges.{p.column}", p.message)
                 for p in bad]
    try:
        policy = load_policy(meta["politique"], base=raw.base_dir)
    except PolicyError as exc:
        problems += [Problem(src, raw.meta_rows.get("politique"), "politique", p.message) if p.file == "politique"
                     else p for p in exc.problems]
        return None
    return None if bad else policy.with_overrides(overrides)


def build_instance(raw: RawInstance) -> Instance:
    """Type and check raw tables; raise :class:`InstanceError` with every problem found."""
    problems = list(raw.problems)
    meta = _meta(raw, problems)
    policy = _policy(raw, meta, problems)
    t = {name: _typed_table(name, raw.tables.get(name), problems) for name in SPECS}
    p = _check_patrimoine(t["patrimoine"], problems)
    _duplicates(t["reservataires"], ["reservataire"], lambda r: f"réservataire '{r['reservataire']}'", problems)
    _check_q1_bounds(t["reservataires"], problems)
    res = _perimeters(t["reservataires"], t["patrimoine"], problems)
    _check_stock(t["stock"], t["patrimoine"], p, t["reservataires"], res, meta["annee"], problems)
    _duplicates(t["cil"], ["epci"], lambda r: f"EPCI {r['epci']}", problems)
    epcis = set(t["patrimoine"].valid("epci")["epci"].tolist())
    if t["patrimoine"].usable and not t["patrimoine"].has_bad("epci"):
        for r in _records(t["cil"].valid("epci")):
            if r["epci"] not in epcis:
                problems.append(Problem(t["cil"].source, int(r["row"]), "epci",
                                        f"EPCI {r['epci']} has no segment in patrimoine{closest(r['epci'], epcis)}"))
    _check_report(t["report"], t["patrimoine"], t["reservataires"], problems)
    _duplicates(t["bailleurs"], ["bailleur"], lambda r: f"bailleur '{r['bailleur']}'", problems)
    _check_q1_bounds(t["bailleurs"], problems)
    if t["patrimoine"].usable and not t["patrimoine"].has_bad("bailleur"):
        owners = set(p["bailleur"].tolist())
        for r in _records(t["bailleurs"].valid("bailleur")):
            if r["bailleur"] not in owners:
                problems.append(Problem(t["bailleurs"].source, int(r["row"]), "bailleur",
                                        f"bailleur {r['bailleur']} has no segment in patrimoine", "warning"))
    if any(pr.severity == "error" for pr in problems) or policy is None:
        raise InstanceError(problems)
    return Instance(
        nom=meta["nom"], territoire=meta["territoire"], annee=meta["annee"], policy=policy,
        patrimoine=p.reset_index(drop=True), reservataires=res.reset_index(drop=True),
        stock=t["stock"].frame, cil=t["cil"].frame, bailleurs=t["bailleurs"].frame, report=t["report"].frame,
        source=raw.source, sha256=raw.sha256, warnings=tuple(problems),
        sources={name: table.source for name, table in t.items()}, surcharges=flatten(meta["surcharges"]),
    )


def load_instance(source: str | Path | Mapping[str, Any]) -> Instance:
    """Read and validate an instance (SPEC §2) from a CSV folder, an .xlsx workbook, a .json file
    or a mapping of the JSON shape; raise :class:`InstanceError` listing every problem."""
    start = time.perf_counter()
    inst = build_instance(read_raw(source))
    return dataclasses.replace(inst, load_seconds=time.perf_counter() - start)
