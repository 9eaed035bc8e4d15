"""Typed, validated instances (SPEC §2): raw tables in, an :class:`Instance` or every problem out.

The cells are read by :mod:`fluxopt.cells`, the tables checked against each other by
:mod:`fluxopt.checks`, the policy composed by :func:`fluxopt.policy.resolve_policy`; this module
reads the ``instance`` part and puts it all together.
"""

from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from fluxopt.cells import META_KEYS, SPECS, YEARS, CellError, code, typed_table, year
from fluxopt.checks import (
    check_accords,
    check_patrimoine,
    check_perimeters,
    check_q1_bounds,
    check_report,
    check_stock,
    duplicates,
    records,
)
from fluxopt.i18n import _, number, resolve
from fluxopt.policy import Policy, PolicyError, check_values, flatten, resolve_policy
from fluxopt.problems import InstanceError, Problem, closest, shown
from fluxopt.readers import TABLES, RawInstance, add_table_files, read_raw


#: A département code: 1 to 3 ASCII digits or 2A/2B (a number loses its leading zero).
_TERRITOIRE = re.compile(r"[0-9]{1,3}|2[AaBb]", re.ASCII)


@dataclass(frozen=True, eq=False)
class Instance:
    """A validated instance. Tables are pandas DataFrames with the SPEC's columns, typed,
    plus ``row`` (the row number the user sees in the source). ``patrimoine`` also carries
    ``liberations`` filled from ``taux_rotation``, ``logements_flux`` (N_s) and ``flux_base`` (F_s);
    ``reservataires`` carries ``communes``: the perimeter as a tuple of commune codes, or None
    for the whole département; ``report`` is the carry-over of last year's bilan and ``accords`` the
    shares already agreed (both may be empty)."""

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
    accords: pd.DataFrame
    source: str
    sha256: str
    warnings: tuple[Problem, ...] = field(default=())
    sources: Mapping[str, str] = field(default_factory=dict)
    surcharges: Mapping[str, Any] = field(default_factory=dict)
    load_seconds: float = 0.0

    def describe(self) -> str:
        """One line: bailleurs, segments, réservataires, rights and flux base."""
        p = self.patrimoine
        return _("{nom} ({territoire}, {annee}): {bailleurs} bailleurs, {segments} segments, "
                 "{reservataires} réservataires, {droits} rights, flux base {flux} dwellings/year").format(
            nom=self.nom, territoire=self.territoire, annee=self.annee, bailleurs=p["bailleur"].nunique(),
            segments=len(p), reservataires=len(self.reservataires), droits=len(self.stock),
            flux=f"{p['flux_base'].sum():.1f}" if resolve() == "en" else number(p["flux_base"].sum(), 1))

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

    def to_csv(self, folder: str | Path) -> Path:
        """Write the instance as a folder of CSV files (SPEC §2); reading it back gives the same data."""
        from fluxopt.export import write_csv

        return write_csv(self, Path(folder))

    def to_xlsx(self, path: str | Path) -> Path:
        """Write the instance as an .xlsx workbook (sheet ``instance``, then one sheet per table)."""
        from fluxopt.export import write_xlsx

        return write_xlsx(self, Path(path))

    def to_json(self, path: str | Path) -> Path:
        """Write the instance as one JSON document (SPEC §2)."""
        from fluxopt.export import write_json

        return write_json(self, Path(path))

    def same_data(self, other: Instance) -> bool:
        """True when both instances hold the same data, whatever form they were read from."""
        return not self.differences(other)


def _is_territoire(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return False
    if isinstance(value, int) and not 0 < value < 1000:
        return False
    return bool(_TERRITOIRE.fullmatch(code(value)))


def _meta(raw: RawInstance, problems: list[Problem]) -> dict[str, Any]:
    """The `instance` keys, checked (missing keys are not reported when the whole part is missing)."""
    meta = dict(raw.meta)
    src = raw.meta_source
    for key in meta:
        if key not in META_KEYS:
            problems.append(Problem.coded(src, raw.meta_rows.get(key), key, "cle_inconnue",
                                          _("unknown key '{cle}' is ignored"), {"cle": key}, "warning",
                                          suffix=closest(key, META_KEYS)))
    for key in ("nom", "politique"):
        if meta.get(key) not in (None, "") and not isinstance(meta[key], str):
            problems.append(Problem.coded(src, raw.meta_rows.get(key), key, "texte_invalide",
                                          _("'{cle}' must be a text, not {valeur}"),
                                          {"cle": key, "valeur": shown(meta[key])}))
            meta[key] = None
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
            problems.append(Problem.coded(src, None, "territoire", "cle_manquante",
                                          _("'territoire' (the département code, e.g. 33) is missing"),
                                          {"cle": "territoire"}))
    elif not _is_territoire(territoire):
        problems.append(Problem.coded(src, raw.meta_rows.get("territoire"), "territoire", "territoire_invalide",
                                      _("'territoire' must be a département code such as 33, 2A or 971, not {valeur}"),
                                      {"valeur": shown(territoire)}))
    else:
        numeric = isinstance(territoire, (int, float))
        out["territoire"] = code(territoire).zfill(2) if numeric else code(territoire)
    if meta.get("annee") in (None, ""):
        if raw.meta_found:
            problems.append(Problem.coded(src, None, "annee", "cle_manquante",
                                          _("'annee' (the year of the flux, e.g. 2025) is missing"), {"cle": "annee"}))
    else:
        try:
            out["annee"] = year(meta["annee"])
        except CellError:
            problems.append(Problem.coded(src, raw.meta_rows.get("annee"), "annee", "annee_invalide",
                                          _("'annee' must be the year of the flux (between {debut} and {fin}), "
                                            "not {valeur}"),
                                          {"debut": YEARS[0], "fin": YEARS[1], "valeur": shown(meta["annee"])}))
    if not isinstance(out["surcharges"], Mapping):
        problems.append(Problem.coded(src, raw.meta_rows.get("surcharges"), "surcharges", "surcharges_invalides",
                                      _("'surcharges' must be a table of policy keys and values")))
        out["surcharges"] = {}
    return out


def _policy(raw: RawInstance, meta: dict[str, Any], problems: list[Problem]) -> Policy | None:
    """The instance's policy with its overrides; unknown names and keys are reported with the closest known one."""
    src = raw.meta_source
    overrides = flatten(meta["surcharges"])
    bad = check_values(overrides, "surcharges")
    problems += [dataclasses.replace(p, file=src, row=raw.meta_rows.get(f"surcharges.{p.column}"),
                                     column=f"surcharges.{p.column}") for p in bad]
    if bad:
        overrides = {}
    try:
        policy = resolve_policy(meta["politique"], overrides, base_dir=raw.base_dir)
    except PolicyError as exc:
        problems += [dataclasses.replace(p, file=src, row=raw.meta_rows.get("politique"), column="politique")
                     if p.file == "politique" else p for p in exc.problems]
        return None
    return None if bad else policy


def build_instance(raw: RawInstance) -> Instance:
    """Type and check raw tables; raise :class:`InstanceError` with every problem found."""
    problems = list(raw.problems)
    meta = _meta(raw, problems)
    policy = _policy(raw, meta, problems)
    t = {name: typed_table(name, raw.tables.get(name), problems) for name in SPECS}
    p = check_patrimoine(t["patrimoine"], problems)
    duplicates(t["reservataires"], ["reservataire"], "reservataire_doublon",
               lambda r: _("réservataire '{reservataire}'").format(reservataire=r["reservataire"]), problems)
    check_q1_bounds(t["reservataires"], problems)
    res = check_perimeters(t["reservataires"], t["patrimoine"], problems)
    check_stock(t["stock"], t["patrimoine"], p, t["reservataires"], res, meta["annee"], problems)
    duplicates(t["cil"], ["epci"], "epci_doublon", lambda r: _("EPCI {epci}").format(epci=r["epci"]), problems)
    epcis = set(t["patrimoine"].valid("epci")["epci"].tolist())
    if t["patrimoine"].usable and not t["patrimoine"].has_bad("epci"):
        for r in records(t["cil"].valid("epci")):
            if r["epci"] not in epcis:
                problems.append(Problem.coded(t["cil"].source, int(r["row"]), "epci", "epci_inconnu",
                                              _("EPCI {epci} has no segment in patrimoine"), {"epci": r["epci"]},
                                              suffix=closest(r["epci"], epcis)))
    check_report(t["report"], t["patrimoine"], t["reservataires"], problems)
    check_accords(t["accords"], t["patrimoine"], p, t["reservataires"], res, problems)
    duplicates(t["bailleurs"], ["bailleur"], "bailleur_doublon",
               lambda r: _("bailleur '{bailleur}'").format(bailleur=r["bailleur"]), problems)
    check_q1_bounds(t["bailleurs"], problems)
    if t["patrimoine"].usable and not t["patrimoine"].has_bad("bailleur"):
        owners = set(p["bailleur"].tolist())
        for r in records(t["bailleurs"].valid("bailleur")):
            if r["bailleur"] not in owners:
                problems.append(Problem.coded(t["bailleurs"].source, int(r["row"]), "bailleur", "bailleur_sans_segment",
                                              _("bailleur {bailleur} has no segment in patrimoine"),
                                              {"bailleur": r["bailleur"]}, "warning"))
    if any(pr.severity == "error" for pr in problems) or policy is None:
        raise InstanceError(problems)
    return Instance(
        nom=meta["nom"], territoire=meta["territoire"], annee=meta["annee"], policy=policy,
        patrimoine=p.reset_index(drop=True), reservataires=res.reset_index(drop=True),
        stock=t["stock"].frame, cil=t["cil"].frame, bailleurs=t["bailleurs"].frame, report=t["report"].frame,
        accords=t["accords"].frame,
        source=raw.source, sha256=raw.sha256, warnings=tuple(problems),
        sources={name: table.source for name, table in t.items()}, surcharges=flatten(meta["surcharges"]),
    )


def load_instance(source: str | Path | Mapping[str, Any], *,
                  tables: Mapping[str, str | Path] | None = None) -> Instance:
    """Read and validate an instance (SPEC §2) from a CSV folder, an .xlsx workbook, a .json file
    or a mapping of the JSON shape; raise :class:`InstanceError` listing every problem.

    ``tables`` adds tables from files (CSV, or an .xlsx sheet of that name): ``{"accords": "accords.csv"}``;
    the instance must not have them already.
    """
    start = time.perf_counter()
    raw = read_raw(source)
    if tables:
        raw = add_table_files(raw, tables)
    inst = build_instance(raw)
    return dataclasses.replace(inst, load_seconds=time.perf_counter() - start)
