"""Typed, validated instances (SPEC §2): raw tables in, an :class:`Instance` or every problem out."""

from __future__ import annotations

import dataclasses
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd

from fluxopt.policy import TYPES, Policy, PolicyError, flatten, load_policy
from fluxopt.problems import InstanceError, Problem, closest
from fluxopt.readers import RawInstance, RawTable, read_raw

BAILLEUR_TYPES = ("oph", "esh", "sem", "coop", "autre")
_TRUE = {"1", "true", "oui", "vrai", "yes"}
_FALSE = {"0", "false", "non", "faux", "no"}


class _Invalid(Exception):
    """A cell that cannot be read as its column's kind; the message is for the user."""


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise _Invalid("is not a number")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        try:
            number = float(str(value).replace("\u00a0", "").replace(" ", ""))
        except ValueError:
            raise _Invalid(f"'{value}' is not a number") from None
    if not math.isfinite(number):
        raise _Invalid(f"'{value}' is not a finite number")
    return number


def _code(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _commune(value: Any) -> str:
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
        raise _Invalid(f"{value} is negative; a number of dwellings must be 0 or more")
    return number


def _integer(value: Any) -> int:
    number = _count(value)
    if not number.is_integer():
        raise _Invalid(f"{value} is not a whole number of dwellings")
    return int(number)


def _fraction(value: Any) -> float:
    number = _number(value)
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


@dataclass(frozen=True)
class Column:
    parse: Callable[[Any], Any]
    required: bool = False
    default: Any = None
    dtype: str = "object"


_MISSING = float("nan")
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
        "perimetre": Column(_code, False, ""),
        "part_q1_min": Column(_fraction, False, _MISSING, "float64"),
        "part_q1_max": Column(_fraction, False, _MISSING, "float64"),
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
}
META_KEYS = ("nom", "territoire", "annee", "politique", "surcharges")


@dataclass(frozen=True, eq=False)
class Instance:
    """A validated instance. Tables are pandas DataFrames with the SPEC's columns, typed,
    plus ``row`` (the row number the user sees in the source). ``patrimoine`` also carries
    ``liberations`` filled from ``taux_rotation``, ``logements_flux`` (N_s) and ``flux_base`` (F_s);
    ``reservataires`` carries ``communes``: the perimeter as a tuple of commune codes, or None
    for the whole département."""

    nom: str
    territoire: str
    annee: int
    policy: Policy
    patrimoine: pd.DataFrame
    reservataires: pd.DataFrame
    stock: pd.DataFrame
    cil: pd.DataFrame
    bailleurs: pd.DataFrame
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


def _typed_table(name: str, raw: RawTable | None, problems: list[Problem]) -> pd.DataFrame:
    """Parse the cells of one table by its spec; record every bad cell."""
    spec = SPECS[name]
    if raw is None:
        return pd.DataFrame({c: pd.Series(dtype=s.dtype) for c, s in spec.items()} | {"row": pd.Series(dtype="int64")})
    for col in raw.columns:
        if col not in spec:
            problems.append(
                Problem(raw.source, 1, col, f"unknown column '{col}' is ignored{closest(col, spec)}", "warning")
            )
    missing = [c for c, s in spec.items() if s.required and c not in raw.columns]
    for col in missing:
        problems.append(Problem(raw.source, 1, col, f"required column '{col}' is missing"))
    records = []
    for number, cells in raw.rows:
        if "\0extra" in cells:
            problems.append(Problem(raw.source, number, None, "the row has more cells than the header"))
        record: dict[str, Any] = {"row": number}
        for col, s in spec.items():
            value = cells.get(col)
            if value is None or (isinstance(value, str) and value.strip() == ""):
                if s.required and col not in missing:
                    problems.append(Problem(raw.source, number, col, f"'{col}' is empty; a value is required"))
                record[col] = s.default
                continue
            try:
                record[col] = s.parse(value)
            except _Invalid as exc:
                problems.append(Problem(raw.source, number, col, str(exc)))
                record[col] = s.default
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=[*spec, "row"])
    for col, s in spec.items():
        if s.dtype != "object":
            frame[col] = frame[col].fillna(s.default if s.default is not None else _MISSING).astype(s.dtype)
    return frame.astype({"row": "int64"})


def _duplicates(frame: pd.DataFrame, keys: list[str], source: str, problems: list[Problem]) -> None:
    dup = frame[frame.duplicated(keys, keep="first")]
    first = frame.drop_duplicates(keys).set_index(keys)["row"]
    for _, r in dup.iterrows():
        key = tuple(r[k] for k in keys)
        shown = ", ".join(f"{k}={v}" for k, v in zip(keys, key))
        problems.append(
            Problem(source, int(r["row"]), keys[-1], f"duplicate of row {first.loc[key if len(keys) > 1 else key[0]]} ({shown})")
        )


def _check_patrimoine(p: pd.DataFrame, src: str, problems: list[Problem]) -> pd.DataFrame:
    _duplicates(p, ["bailleur", "commune", "qpv"], src, problems)
    for _, r in p[p["logements_hors_flux"] > p["logements"]].iterrows():
        problems.append(
            Problem(src, int(r["row"]), "logements_hors_flux",
                    f"{r['logements_hors_flux']} dwellings kept in stock exceed the segment's {r['logements']} dwellings")
        )
    both = p["liberations"].notna() & p["taux_rotation"].notna()
    neither = p["liberations"].isna() & p["taux_rotation"].isna()
    for _, r in p[both].iterrows():
        problems.append(Problem(src, int(r["row"]), "taux_rotation",
                                "give either 'liberations' or 'taux_rotation', not both"))
    for _, r in p[neither].iterrows():
        problems.append(Problem(src, int(r["row"]), "liberations",
                                "give 'liberations' (releases per year) or 'taux_rotation' (turnover rate)"))
    epcis = p.groupby("commune")["epci"].unique()
    for commune, codes in epcis[epcis.map(len) > 1].items():
        rows = p.loc[p["commune"] == commune, "row"].tolist()
        problems.append(Problem(src, int(rows[-1]), "epci",
                                f"commune {commune} is given in several EPCIs ({', '.join(sorted(codes))}) on rows "
                                f"{', '.join(map(str, rows))}; a commune belongs to one EPCI"))
    p = p.copy()
    p["logements_flux"] = (p["logements"] - p["logements_hors_flux"]).clip(lower=0)
    p["liberations"] = p["liberations"].fillna(p["taux_rotation"] * p["logements_flux"])
    p["flux_base"] = p["liberations"] + p["mises_en_service"] - p["mutations_internes"] - p["relogements"]
    for _, r in p[p["flux_base"] < -1e-9].iterrows():
        problems.append(
            Problem(src, int(r["row"]), "mutations_internes",
                    f"internal transfers and rehousing ({r['mutations_internes'] + r['relogements']:g}) exceed releases "
                    f"plus new lettings ({r['liberations'] + r['mises_en_service']:g}): the flux base would be negative")
        )
    return p


def _perimeters(res: pd.DataFrame, p: pd.DataFrame, src: str, problems: list[Problem]) -> pd.DataFrame:
    communes = set(p["commune"])
    by_epci = p.groupby("epci")["commune"].unique().map(lambda a: set(a)).to_dict()
    perimeters: list[tuple[str, ...] | None] = []
    for _, r in res.iterrows():
        codes = [c for c in re.split(r"[\s,;]+", r["perimetre"] or "") if c]
        if not codes:
            if r["type"] in ("commune", "epci"):
                problems.append(Problem(src, int(r["row"]), "perimetre",
                                        f"a réservataire of type '{r['type']}' needs a perimeter (its commune or EPCI codes)"))
            perimeters.append(None)
            continue
        chosen: set[str] = set()
        for code in codes:
            if code in communes:
                chosen.add(code)
            elif code in by_epci:
                chosen |= by_epci[code]
            else:
                problems.append(Problem(src, int(r["row"]), "perimetre",
                                        f"'{code}' names no commune or EPCI of patrimoine"))
        perimeters.append(tuple(sorted(chosen)))
    res = res.copy()
    res["communes"] = pd.Series(perimeters, index=res.index, dtype="object")
    return res


def _check_q1_bounds(frame: pd.DataFrame, src: str, problems: list[Problem]) -> None:
    bad = frame["part_q1_min"] > frame["part_q1_max"]
    for _, r in frame[bad].iterrows():
        problems.append(Problem(src, int(r["row"]), "part_q1_min",
                                f"part_q1_min {r['part_q1_min']} is above part_q1_max {r['part_q1_max']}"))


def _check_stock(stock: pd.DataFrame, p: pd.DataFrame, res: pd.DataFrame, annee: int,
                 src: str, problems: list[Problem]) -> None:
    _duplicates(stock, ["bailleur", "reservataire", "commune", "qpv"], src, problems)
    segments = p.set_index(["bailleur", "commune", "qpv"])
    perimeter = res.set_index("reservataire")["communes"].to_dict()
    for _, r in stock.iterrows():
        key = (r["bailleur"], r["commune"], r["qpv"])
        if key not in segments.index:
            where = "in QPV" if r["qpv"] else "outside QPV"
            problems.append(Problem(src, int(r["row"]), "commune",
                                    f"no segment of patrimoine for bailleur {key[0]} in commune {key[1]} {where}"))
        if r["reservataire"] not in perimeter:
            problems.append(Problem(src, int(r["row"]), "reservataire",
                                    f"'{r['reservataire']}' is not in reservataires"
                                    f"{closest(r['reservataire'], perimeter)}"))
        elif perimeter[r["reservataire"]] is not None and r["commune"] not in perimeter[r["reservataire"]]:
            problems.append(Problem(src, int(r["row"]), "commune",
                                    f"commune {r['commune']} lies outside the perimeter of réservataire {r['reservataire']}"))
    live = stock[~(stock["fin_droits"] < annee)]
    totals = live.groupby(["bailleur", "commune", "qpv"])["logements_reserves"].agg(["sum", "size"])
    for key, t in totals.iterrows():
        if key in segments.index and t["sum"] > segments.loc[key, "logements_flux"]:
            rows = live.loc[(live["bailleur"] == key[0]) & (live["commune"] == key[1]) & (live["qpv"] == key[2]), "row"]
            problems.append(Problem(src, int(rows.max()), "logements_reserves",
                                    f"{t['sum']} reserved dwellings on rows {', '.join(map(str, rows))} exceed the "
                                    f"{segments.loc[key, 'logements_flux']} flux-eligible dwellings of segment "
                                    f"{key[0]} / {key[1]} / {'QPV' if key[2] else 'hors QPV'}"))


def _meta(raw: RawInstance, problems: list[Problem]) -> dict[str, Any]:
    meta = dict(raw.meta)
    src = raw.meta_source
    for key in meta:
        if key not in META_KEYS:
            problems.append(Problem(src, None, key, f"unknown key '{key}'{closest(key, META_KEYS)}", "warning"))
    out: dict[str, Any] = {
        "nom": str(meta.get("nom") or Path(raw.source).stem),
        "politique": str(meta.get("politique") or "elan-2020"),
        "surcharges": meta.get("surcharges") or {},
        "territoire": "",
        "annee": 0,
    }
    if meta.get("territoire") in (None, ""):
        problems.append(Problem(src, None, "territoire", "'territoire' (the département code) is missing"))
    else:
        out["territoire"] = _code(meta["territoire"])
    try:
        out["annee"] = _year(meta.get("annee"))
    except (_Invalid, TypeError):
        problems.append(Problem(src, None, "annee", f"'annee' must be the year of the flux, not {meta.get('annee')!r}"))
    if not isinstance(out["surcharges"], Mapping):
        problems.append(Problem(src, None, "surcharges", "'surcharges' must be a table of policy keys"))
        out["surcharges"] = {}
    return out


def build_instance(raw: RawInstance) -> Instance:
    """Type and check raw tables; raise :class:`InstanceError` with every problem found."""
    problems = list(raw.problems)
    meta = _meta(raw, problems)
    policy = None
    try:
        policy = load_policy(meta["politique"], base=raw.base_dir).with_overrides(meta["surcharges"], "surcharges")
    except PolicyError as exc:
        problems += [Problem(raw.meta_source if p.file == "surcharges" else p.file, p.row, p.column, p.message)
                     for p in exc.problems]
    frames = {name: _typed_table(name, raw.tables.get(name), problems) for name in SPECS}
    src = {name: raw.tables[name].source if name in raw.tables else name for name in SPECS}
    p = _check_patrimoine(frames["patrimoine"], src["patrimoine"], problems)
    res = frames["reservataires"]
    _duplicates(res, ["reservataire"], src["reservataires"], problems)
    _check_q1_bounds(res, src["reservataires"], problems)
    res = _perimeters(res, p, src["reservataires"], problems)
    _check_stock(frames["stock"], p, res, meta["annee"], src["stock"], problems)
    cil = frames["cil"]
    _duplicates(cil, ["epci"], src["cil"], problems)
    for _, r in cil[~cil["epci"].isin(p["epci"])].iterrows():
        problems.append(Problem(src["cil"], int(r["row"]), "epci", f"EPCI {r['epci']} has no segment in patrimoine"))
    bailleurs = frames["bailleurs"]
    _duplicates(bailleurs, ["bailleur"], src["bailleurs"], problems)
    _check_q1_bounds(bailleurs, src["bailleurs"], problems)
    for _, r in bailleurs[~bailleurs["bailleur"].isin(p["bailleur"])].iterrows():
        problems.append(Problem(src["bailleurs"], int(r["row"]), "bailleur",
                                f"bailleur {r['bailleur']} has no segment in patrimoine", "warning"))
    if any(pr.severity == "error" for pr in problems) or policy is None:
        raise InstanceError(problems)
    return Instance(
        nom=meta["nom"], territoire=meta["territoire"], annee=meta["annee"], policy=policy,
        patrimoine=p.reset_index(drop=True), reservataires=res.reset_index(drop=True),
        stock=frames["stock"], cil=cil, bailleurs=bailleurs, source=raw.source, sha256=raw.sha256,
        warnings=tuple(problems), sources=src, surcharges=flatten(meta["surcharges"]),
    )


def load_instance(source: str | Path | Mapping[str, Any]) -> Instance:
    """Read and validate an instance (SPEC §2); raise :class:`InstanceError` listing every problem."""
    start = time.perf_counter()
    inst = build_instance(read_raw(source))
    return dataclasses.replace(inst, load_seconds=time.perf_counter() - start)
