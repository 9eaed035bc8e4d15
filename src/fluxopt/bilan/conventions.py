"""The conventions of year N that a bilan checks: what a solve returned, read from a
:class:`~fluxopt.result.Result` or from the folder ``fluxopt solve`` wrote (SPEC §5)."""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from fluxopt.i18n import _
from fluxopt.instance import Instance
from fluxopt.policy import Policy
from fluxopt.problems import InstanceError, Problem
from fluxopt.result import Result

#: Holders of a realised row that are not réservataires (SPEC §6).
OWN = "bailleur"
OUTSIDE_FLUX = ("mutation", "relogement")


@dataclass(frozen=True)
class Conventions:
    """Year N as solved: the shares (``parts``: bailleur, reservataire, type, flux_pct), the
    segments (bailleur, commune, epci, qpv), the links of each pair to its segments S_{b,r}
    (bailleur, reservataire, commune, qpv), the CIL EPCIs and their rates (epci, objectif, taux),
    the réservataires known (reservataire, type, nom), the bailleurs' names, and the policy."""

    nom: str
    territoire: str
    annee: int
    sha256: str
    policy: Policy
    parts: pd.DataFrame
    segments: pd.DataFrame
    links: pd.DataFrame
    cil: pd.DataFrame
    reservataires: pd.DataFrame
    bailleurs: pd.DataFrame

    @functools.cached_property
    def _names(self) -> dict[str, dict[str, str]]:
        return {"r": dict(zip(self.reservataires["reservataire"], self.reservataires["nom"])),
                "b": dict(zip(self.bailleurs["bailleur"], self.bailleurs["nom"]))}

    def nom_reservataire(self, reservataire: str) -> str:
        return str(self._names["r"].get(reservataire) or reservataire)

    def nom_bailleur(self, bailleur: str) -> str:
        return str(self._names["b"].get(bailleur) or bailleur)


def _split(segments: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The segments (from the bailleur's rows, one per segment) and the links of the réservataires."""
    own = segments["titulaire"] == OWN
    seg = segments.loc[own, ["bailleur", "commune", "epci", "qpv"]].reset_index(drop=True)
    links = segments.loc[~own, ["bailleur", "titulaire", "commune", "qpv"]].rename(columns={"titulaire": "reservataire"})
    return seg, links.reset_index(drop=True)


def _reservataires(parts: pd.DataFrame) -> pd.DataFrame:
    known = parts[["reservataire", "type"]].drop_duplicates("reservataire").sort_values("reservataire")
    return known.assign(nom="").reset_index(drop=True)


def from_result(result: Result) -> Conventions:
    """The conventions of a solved :class:`Result` (names from its instance)."""
    if not result.has_solution:
        raise InstanceError([Problem.coded("result", None, None, "resultat_sans_solution",
                                           _("the solve has no solution ({statut}): there are no conventions to "
                                             "draw a bilan of"), {"statut": result.status.value})])
    seg, links = _split(result.segments)
    inst = result.instance
    res = inst.reservataires[["reservataire", "type", "nom"]].reset_index(drop=True)
    s = result.summary.instance
    return Conventions(s.nom, s.territoire, s.annee, s.sha256, result.policy,
                       result.shares[["bailleur", "reservataire", "type", "flux_pct"]].reset_index(drop=True),
                       seg, links, result.cil[["epci", "objectif", "taux"]].reset_index(drop=True), res,
                       result.bailleurs[["bailleur", "nom"]].reset_index(drop=True))


_TEXT = {"bailleur": str, "reservataire": str, "titulaire": str, "commune": str, "epci": str, "type": str,
         "objectif": str, "nom": str}


def _csv(folder: Path, name: str, columns: list[str], problems: list[Problem]) -> pd.DataFrame:
    path = folder / name
    try:
        frame = pd.read_csv(path, dtype=_TEXT, keep_default_na=False, na_values={"flux_pct": [""], "taux": [""]})
    except (OSError, ValueError) as exc:
        problems.append(Problem.coded(name, None, None, "fichier_illisible",
                                      _("cannot be read ({raison}); RESULT must be a folder written by 'fluxopt solve'"),
                                      {"raison": type(exc).__name__}))
        return pd.DataFrame(columns=columns)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        problems.append(Problem.coded(name, 1, missing[0], "colonne_manquante",
                                      _("column '{colonne}' is missing; RESULT must be a folder written by "
                                        "'fluxopt solve'"), {"colonne": missing[0]}))
        return pd.DataFrame(columns=columns)
    if "qpv" in frame.columns:
        frame["qpv"] = frame["qpv"].astype(str).str.lower().isin(["true", "1", "oui"])
    return frame[columns]


def read_conventions(folder: str | Path) -> Conventions:
    """The conventions of a result folder (summary.json, parts.csv, segments.csv, cil.csv,
    bailleurs.csv); :class:`InstanceError` when it is not a complete result with a solution."""
    folder = Path(folder)
    problems: list[Problem] = []
    if not folder.is_dir():
        raise InstanceError([Problem.coded(str(folder), None, None, "resultat_invalide",
                                           _("not a folder: RESULT is the folder 'fluxopt solve' wrote"))])
    try:
        summary: Any = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise InstanceError([Problem.coded("summary.json", None, None, "resultat_invalide",
                                           _("missing or not valid JSON: RESULT must be a folder written by "
                                             "'fluxopt solve'"))]) from None
    if not isinstance(summary, dict) or not summary.get("has_solution") or not isinstance(summary.get("instance"), dict):
        status = summary.get("status") if isinstance(summary, dict) else "?"
        raise InstanceError([Problem.coded("summary.json", None, None, "resultat_sans_solution",
                                           _("this result has no solution (status {statut}): there are no "
                                             "conventions to draw a bilan of"), {"statut": str(status)})])
    parts = _csv(folder, "parts.csv", ["bailleur", "reservataire", "type", "flux_pct"], problems)
    segments = _csv(folder, "segments.csv", ["bailleur", "commune", "epci", "qpv", "titulaire"], problems)
    cil = _csv(folder, "cil.csv", ["epci", "objectif", "taux"], problems)
    bailleurs = _csv(folder, "bailleurs.csv", ["bailleur", "nom"], problems)
    politique = summary.get("politique") or {}
    try:
        policy = Policy(str(politique.get("nom", "")), "summary.json", dict(politique["valeurs"]))
        policy.part_min_prioritaires, policy.values["report.part"], policy.values["report.plafond"]  # noqa: B018
    except (KeyError, TypeError):
        problems.append(Problem.coded("summary.json", None, "politique", "politique_manquante",
                                      _("the policy values are missing; RESULT must be a folder written by "
                                        "'fluxopt solve' (version 2)")))
    if problems:
        raise InstanceError(problems)
    seg, links = _split(segments)
    inst = summary["instance"]
    return Conventions(str(inst.get("nom", "")), str(inst.get("territoire", "")), int(inst.get("annee", 0)),
                       str(inst.get("sha256", "")), policy, parts, seg, links, cil, _reservataires(parts), bailleurs)


def load_conventions(source: Result | str | Path) -> Conventions:
    """The conventions of a :class:`Result` or of a result folder."""
    return from_result(source) if isinstance(source, Result) else read_conventions(source)


def with_instance(conv: Conventions, instance: Instance) -> tuple[Conventions, list[Problem]]:
    """The conventions with the names of the instance's réservataires and bailleurs (for the
    letters), and a warning when the instance is not the one the result was solved from."""
    warnings = []
    if conv.sha256 and instance.sha256 != conv.sha256:
        warnings.append(Problem.coded(Path(instance.source).name, None, None, "instance_differente",
                                      _("this instance is not the one the result was solved from (its SHA-256 "
                                        "differs): only its names are used"), severity="warning"))
    res = instance.reservataires[["reservataire", "type", "nom"]]
    known = pd.concat([res, conv.reservataires[~conv.reservataires["reservataire"].isin(res["reservataire"])]])
    names = instance.bailleurs[["bailleur", "nom"]]
    bailleurs = pd.concat([names, conv.bailleurs[~conv.bailleurs["bailleur"].isin(names["bailleur"])]])
    return dataclasses.replace(conv, reservataires=known.reset_index(drop=True),
                               bailleurs=bailleurs.reset_index(drop=True)), warnings
