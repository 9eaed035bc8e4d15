"""Cells and columns of an instance's tables: each cell read as its column's kind, with a
sentence for the user when it cannot be (SPEC §2, "Cells")."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from fluxopt.i18n import _
from fluxopt.policy import TYPES
from fluxopt.problems import Problem, closest
from fluxopt.readers import RawTable, decimal_point, normalize_name

BAILLEUR_TYPES = ("oph", "esh", "sem", "coop", "autre")
#: Values of the ``convention`` column of reservataires (SPEC §2, version 2).
CONVENTIONS = ("signee", "non_signee")
_TRUE = {"1", "true", "oui", "vrai", "yes"}
_FALSE = {"0", "false", "non", "faux", "no"}
_SPACES = re.compile(r"[ \u00a0\u202f]")


class CellError(Exception):
    """A cell that cannot be read as its column's kind: ``code`` and ``params`` for programs, the
    message (``message`` translated in the current language, filled with ``params``) for the user."""

    def __init__(self, code: str, message: str, **params: Any):
        self.code = code
        self.params = params
        super().__init__(message.format(**params))


#: The one syntax of a number written as text: ASCII digits, an optional point and exponent
#: (no '1_000', no other scripts' digits, no hexadecimal); spaces between thousands are removed first.
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?", re.ASCII)
_NOT_FINITE = re.compile(r"[+-]?(inf|infinity|nan)", re.ASCII | re.IGNORECASE)
#: Longest text read as a number (a longer one is not a number anyone typed).
MAX_NUMBER_TEXT = 64


def _number(value: Any) -> float:
    """A finite real from a cell: int, float or text (see ``_NUMBER``); never a boolean."""
    if isinstance(value, bool):
        raise CellError("nombre_invalide", _("'{valeur}' is not a number"), valeur=str(value))
    if isinstance(value, (int, float)):
        if isinstance(value, int) and value.bit_length() > 64:  # beyond int64 (and maybe the floats)
            raise CellError("nombre_trop_long", _("a number of about {chiffres} digits is far too large"),
                            chiffres=int(value.bit_length() * 0.30103))
        number = float(value)
    elif isinstance(value, str):
        text = _SPACES.sub("", value.strip())
        shown = value if len(value) <= MAX_NUMBER_TEXT else f"{value[:20]}... ({len(value)} characters)"
        if len(text) > MAX_NUMBER_TEXT:
            raise CellError("nombre_trop_long", _("'{valeur}' is not a number (too long)"), valeur=shown)
        if _NOT_FINITE.fullmatch(text):
            raise CellError("nombre_non_fini", _("'{valeur}' is not a finite number"), valeur=value)
        if not _NUMBER.fullmatch(text):
            if "," in text:
                raise CellError("nombre_invalide", _("'{valeur}' is not a number (in a file separated by ',', "
                                                     "write decimals with a point)"), valeur=shown)
            raise CellError("nombre_invalide", _("'{valeur}' is not a number"), valeur=shown)
        number = float(text)
    else:
        raise CellError("nombre_invalide", _("{valeur} is not a number"), valeur=repr(value))
    if not math.isfinite(number):
        raise CellError("nombre_non_fini", _("'{valeur}' is not a finite number"), valeur=str(value))
    return number


def _bound(number: float) -> str:
    return f"{number:,.0f}".replace(",", " ") if float(number).is_integer() else f"{number:g}"


def code(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _commune(value: Any) -> str:
    """An INSEE code; a number loses its leading zero in spreadsheets, so it is padded to 5 digits."""
    text = code(value)
    return text.zfill(5) if isinstance(value, (int, float)) and not isinstance(value, bool) else text


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = code(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CellError("booleen_invalide", _("'{valeur}' is not a yes/no value (use 1/0, oui/non, vrai/faux or true/false)"),
                    valeur=str(value))


def _count(value: Any) -> float:
    number = _number(value)
    if number < 0:
        raise CellError("nombre_negatif", _("{valeur} is negative; it must be 0 or more"), valeur=str(value))
    return number


def _integer(value: Any) -> int:
    number = _count(value)
    if not number.is_integer():
        raise CellError("nombre_non_entier", _("{valeur} is not a whole number of dwellings"), valeur=str(value))
    return int(number)


def _fraction(value: Any) -> float:
    """A rate in [0, 1]; a text ending in '%' is a percentage ('25 %' is 0.25)."""
    text = str(value).strip()
    number = _number(text[:-1]) / 100 if not isinstance(value, (int, float)) and text.endswith("%") else _number(value)
    if not 0 <= number <= 1:
        raise CellError("taux_invalide", _("{valeur} is not a rate between 0 and 1 (write 25 % as 0.25)"),
                        valeur=str(value))
    return number


#: Years an instance may name (``annee``, ``fin_droits``).
YEARS = (1900, 2200)


def _percent(value: Any) -> float:
    """A percentage in [0, 100] ('25', '25 %' or 25)."""
    text = str(value).strip()
    number = _number(text[:-1] if not isinstance(value, (int, float)) and text.endswith("%") else value)
    if not 0 <= number <= 100:
        raise CellError("pourcentage_invalide", _("{valeur} is not a percentage between 0 and 100"), valeur=str(value))
    return number


def year(value: Any) -> int:
    number = _number(value)
    if not number.is_integer() or not YEARS[0] <= number <= YEARS[1]:
        raise CellError("annee_invalide", _("'{valeur}' is not a year between {debut} and {fin}"),
                        valeur=str(value), debut=YEARS[0], fin=YEARS[1])
    return int(number)


def _choice(choices: tuple[str, ...]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = code(value).lower()
        if text not in choices:
            raise CellError("valeur_inconnue", _("'{valeur}' is not one of {choix}") + closest(text, choices),
                            valeur=str(value), choix=", ".join(choices))
        return text

    return parse


def _convention(value: Any) -> str:
    """``signee`` or ``non_signee``; accents, case and spaces are forgiven ('non signée')."""
    text = normalize_name(value)
    if text not in CONVENTIONS:
        raise CellError("valeur_inconnue", _("'{valeur}' is not one of {choix}") + closest(text, CONVENTIONS),
                        valeur=str(value), choix=", ".join(CONVENTIONS))
    return text


@dataclass(frozen=True)
class Column:
    """A column's kind (``parse``), whether it is required, its default and dtype, and for a
    number its plausible range ``high`` (the low bound is the kind's: 0 for counts)."""

    parse: Callable[[Any], Any]
    required: bool = False
    default: Any = None
    dtype: str = "object"
    high: float | None = None

    def read(self, value: Any) -> Any:
        """The cell as this column's value, or :class:`CellError` (bad kind, out of range)."""
        outcome = self.parse(value)
        if self.high is not None and outcome > self.high:
            raise CellError("nombre_trop_grand", _("{valeur} is too large: at most {maximum} here"),
                            valeur=str(value), maximum=_bound(self.high))
        return outcome


#: Plausible bounds: dwellings of one segment or one réservataire's rights, and yearly flows
#: (releases, lettings); far below what int64 and the LP solver accept.
MAX_DWELLINGS = 10_000_000
MAX_FLOW = 1e9


_MISSING = float("nan")
#: Marks a cell value not parsed yet (None is a parse result).
_UNPARSED = object()
#: Value given to a required cell that is missing or unreadable (the row is then not checked further).
_FILL = {"int64": 0, "bool": False, "float64": _MISSING, "object": None}
SPECS: dict[str, dict[str, Column]] = {
    "patrimoine": {
        "bailleur": Column(code, True),
        "commune": Column(_commune, True),
        "epci": Column(code, True),
        "qpv": Column(_boolean, True, dtype="bool"),
        "logements": Column(_integer, True, dtype="int64", high=MAX_DWELLINGS),
        "logements_hors_flux": Column(_integer, False, 0, "int64", MAX_DWELLINGS),
        "liberations": Column(_count, False, _MISSING, "float64", MAX_FLOW),
        "taux_rotation": Column(_fraction, False, _MISSING, "float64"),
        "mises_en_service": Column(_count, False, 0.0, "float64", MAX_FLOW),
        "mutations_internes": Column(_count, False, 0.0, "float64", MAX_FLOW),
        "relogements": Column(_count, False, 0.0, "float64", MAX_FLOW),
        "attributions": Column(_count, False, _MISSING, "float64", MAX_FLOW),
    },
    "reservataires": {
        "reservataire": Column(code, True),
        "nom": Column(code, False, ""),
        "type": Column(_choice(TYPES), True),
        "perimetre": Column(_commune, False, ""),
        "part_q1_min": Column(_fraction, False, _MISSING, "float64"),
        "part_q1_max": Column(_fraction, False, _MISSING, "float64"),
        "convention": Column(_convention, False, "signee"),
    },
    "stock": {
        "bailleur": Column(code, True),
        "reservataire": Column(code, True),
        "commune": Column(_commune, True),
        "qpv": Column(_boolean, True, dtype="bool"),
        "logements_reserves": Column(_integer, True, dtype="int64", high=MAX_DWELLINGS),
        "liberations": Column(_count, False, _MISSING, "float64", MAX_FLOW),
        "attributions": Column(_count, False, _MISSING, "float64", MAX_FLOW),
        "fin_droits": Column(year, False, _MISSING, "float64"),
    },
    "cil": {
        "epci": Column(code, True),
        "part_q1_hors_qpv": Column(_fraction, False, _MISSING, "float64"),
        "part_autres_qpv": Column(_fraction, False, _MISSING, "float64"),
    },
    "bailleurs": {
        "bailleur": Column(code, True),
        "nom": Column(code, False, ""),
        "type": Column(_choice(BAILLEUR_TYPES), False, "autre"),
        "part_q1_min": Column(_fraction, False, _MISSING, "float64"),
        "part_q1_max": Column(_fraction, False, _MISSING, "float64"),
    },
    "report": {
        "bailleur": Column(code, True),
        "reservataire": Column(code, True),
        "logements": Column(_number, True, dtype="float64"),
    },
    "accords": {
        "bailleur": Column(code, True),
        "reservataire": Column(code, True),
        "logements": Column(_count, False, _MISSING, "float64", MAX_FLOW),
        "flux_pct": Column(_percent, False, _MISSING, "float64"),
    },
}
META_KEYS = ("nom", "territoire", "annee", "politique", "surcharges")
#: Tables that must hold at least one row.
NON_EMPTY = ("patrimoine", "reservataires")


@dataclass
class TypedTable:
    """A typed table and the cells that could not be used (missing or unreadable)."""

    source: str
    frame: pd.DataFrame
    bad: dict[str, set[int]]
    usable: bool

    def valid(self, *columns: str) -> pd.DataFrame:
        """The rows whose cells in ``columns`` were all read (the frame itself when all were)."""
        rows = set().union(*(self.bad.get(c, set()) for c in columns))
        if not rows:
            return self.frame
        return self.frame[~self.frame["row"].isin(rows)]

    def has_bad(self, *columns: str) -> bool:
        return any(self.bad.get(c) for c in columns)


def _empty_frame(spec: dict[str, Column]) -> pd.DataFrame:
    return pd.DataFrame({c: np.empty(0, dtype=s.dtype) for c, s in spec.items()} | {"row": np.empty(0, dtype="int64")})


def typed_table(name: str, raw: RawTable | None, problems: list[Problem],
                spec: dict[str, Column] | None = None) -> TypedTable:
    """Parse the cells of one table by its spec (``SPECS[name]`` unless given); record every bad cell."""
    spec = SPECS[name] if spec is None else spec
    if raw is None:
        return TypedTable(name, _empty_frame(spec), {}, False)
    if not raw.rows:
        if name in NON_EMPTY:
            problems.append(Problem(raw.source, None, None, _("'{table}' has no rows of data").format(table=name),
                                    code="table_vide", params={"table": name}))
        elif name == "stock":
            problems.append(Problem(raw.source, None, None,
                                    _("there are no rights in stock: the whole flux stays with the bailleurs"), "warning",
                                    code="stock_vide", params={}))
        return TypedTable(raw.source, _empty_frame(spec), {}, name not in NON_EMPTY)
    if not set(raw.columns) & set(spec):
        required = ", ".join(c for c, s in spec.items() if s.required)
        params = {"table": name, "colonnes": required}
        problems.append(Problem(raw.source, raw.header_row, None,
                                _("this is not a '{table}' table: no column has a known name; "
                                  "its first row must name the columns ({colonnes}, ...)").format(**params),
                                code="entete_inconnue", params=params))
        return TypedTable(raw.source, _empty_frame(spec), {}, False)
    for col in raw.columns:
        if col not in spec:
            problems.append(Problem(raw.source, raw.header_row, col,
                                    _("unknown column '{colonne}' is ignored").format(colonne=col) + closest(col, spec),
                                    "warning", code="colonne_inconnue", params={"colonne": col}))
    bad: dict[str, set[int]] = {c: set() for c in spec}
    all_rows = {number for number, _cells in raw.rows}
    for col, s in spec.items():
        if s.required and col not in raw.columns:
            problems.append(Problem(raw.source, raw.header_row, col,
                                    _("required column '{colonne}' is missing").format(colonne=col),
                                    code="colonne_manquante", params={"colonne": col}))
            bad[col] = set(all_rows)
    columns = _read_columns(raw, spec)
    if columns is None:  # some cell is missing or unreadable: read row by row, reporting in row order
        columns = _read_rows(raw, spec, bad, problems)
    # Typed columns as arrays of their dtype; the others as lists, their dtype inferred by pandas.
    arrays = {col: values if spec[col].dtype == "object" else np.array(values, dtype=spec[col].dtype)
              for col, values in columns.items()}
    arrays["row"] = np.array([number for number, _cells in raw.rows], dtype="int64")
    return TypedTable(raw.source, pd.DataFrame(arrays, columns=[*spec, "row"]), bad, True)


#: A cell that is a problem (missing where required, or unreadable), in :func:`_read_columns`.
_PROBLEM = object()


def _read_columns(raw: RawTable, spec: dict[str, Column]) -> dict[str, list[Any]] | None:
    """Every column's values when every cell reads without a problem, else None (the fast path:
    column by column, each distinct (type, value) of a column parsed once)."""
    columns: dict[str, list[Any]] = {}
    rows = [cells for _number, cells in raw.rows]
    for col, s in spec.items():
        strict = s.required and col in raw.columns
        fill = s.default if s.default is not None else _FILL[s.dtype]
        convert = raw.decimal_comma and s.dtype != "object"

        def read(value: Any, s: Column = s, strict: bool = strict, fill: Any = fill, convert: bool = convert) -> Any:
            if value is None or (isinstance(value, str) and value.strip() == ""):
                return _PROBLEM if strict else fill
            if convert and isinstance(value, str):
                value = decimal_point(value)
            try:
                return s.read(value)
            except CellError:
                return _PROBLEM

        values = [cells.get(col) for cells in rows]
        # Text cells (CSV) are their own keys; other readers' are (type, value), so that 1, 1.0 and True stay apart.
        keys: list[Any] = values
        if set(map(type, values)) <= {str, type(None)}:
            outcome = {value: read(value) for value in dict.fromkeys(values)}
        else:
            keys = [(value.__class__, value) for value in values]
            outcome = {key: read(key[1]) for key in dict.fromkeys(keys)}
        if any(value is _PROBLEM for value in outcome.values()):
            return None
        columns[col] = [outcome[key] for key in keys]
    return columns


def _read_rows(raw: RawTable, spec: dict[str, Column], bad: dict[str, set[int]],
               problems: list[Problem]) -> dict[str, list[Any]]:
    """Every column's values, row by row, recording each missing or unreadable cell in ``bad``
    and ``problems`` (in row order, then column order)."""
    columns: dict[str, list[Any]] = {col: [] for col in spec}
    # Cells repeat (codes, booleans, counts): each distinct (type, value) is parsed once per column.
    parsed: dict[str, dict[tuple[type, Any], Any]] = {col: {} for col in spec}
    for number, cells in raw.rows:
        for col, s in spec.items():
            value = cells.get(col)
            if value is None or (isinstance(value, str) and value.strip() == ""):
                if s.required and col in raw.columns:
                    problems.append(Problem(raw.source, number, col,
                                            _("'{colonne}' is empty; a value is required").format(colonne=col),
                                            code="valeur_manquante", params={"colonne": col}))
                    bad[col].add(number)
                columns[col].append(s.default if s.default is not None else _FILL[s.dtype])
                continue
            if raw.decimal_comma and s.dtype != "object" and isinstance(value, str):
                value = decimal_point(value)
            key = (type(value), value)
            outcome = parsed[col].get(key, _UNPARSED)
            if outcome is _UNPARSED:
                try:
                    outcome = s.read(value)
                except CellError as exc:
                    outcome = exc
                parsed[col][key] = outcome
            if isinstance(outcome, CellError):
                problems.append(Problem(raw.source, number, col, str(outcome), code=outcome.code,
                                        params={"colonne": col, **outcome.params}))
                bad[col].add(number)
                outcome = s.default if s.default is not None else _FILL[s.dtype]
            columns[col].append(outcome)
    return columns
