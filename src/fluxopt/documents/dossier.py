"""What the documents are made from: a :class:`Dossier`, from a :class:`~fluxopt.result.Result`
or from a result folder written by ``fluxopt solve``.

Every figure of the documents comes from the result tables (``parts``, ``segments``, ``cil``,
``bailleurs``) and ``summary.json``, exactly as the workbook shows them: from a folder they are
read from its files, never recomputed. What the tables do not hold (names, the flux base's
exclusions per segment, the former rights per commune) comes from the instance: the
``Result``'s own, or, for a folder, the instance re-read from its path and checked against the
SHA-256 recorded in ``summary.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from fluxopt.instance import Instance, load_instance
from fluxopt.policy import Policy
from fluxopt.i18n import _
from fluxopt.problems import InstanceError, Problem, UsageError
from fluxopt.result import Result

SUMMARY_FILE = "summary.json"
TABLES = ("parts", "segments", "cil", "bailleurs")
#: Written by ``fluxopt solve --sensibilite``: the reasons of the departures checked by counterfactual solves.
SENSITIVITY_FILE = "sensibilite.csv"
#: Identifier columns, read as text so that codes keep their leading zeros.
ID_COLUMNS = {"bailleur": str, "reservataire": str, "commune": str, "epci": str, "titulaire": str, "nom": str}


@dataclass(frozen=True, eq=False)
class Dossier:
    """A solved territory as the documents see it: the summary (``summary.json`` as a dict),
    the four result tables, the instance and the policy used; ``sensibilite`` the rows of
    ``sensibilite.csv`` when the result folder has one."""

    summary: dict[str, Any]
    parts: pd.DataFrame
    segments: pd.DataFrame
    cil: pd.DataFrame
    bailleurs: pd.DataFrame
    instance: Instance
    policy: Policy
    sensibilite: pd.DataFrame | None = None

    @property
    def annee(self) -> int:
        return int(self.summary["instance"]["annee"])


def from_result(result: Result) -> Dossier:
    """A dossier from a solve done in this process."""
    if not result.has_solution:
        raise UsageError(_("the result has no solution (status {statut}): there is nothing to document")
                         .format(statut=result.status.value))
    return Dossier(result.summary.to_dict(), result.shares, result.segments, result.cil, result.bailleurs,
                   result.instance, result.policy)


def _candidates(folder: Path, source: str) -> list[Path]:
    """Where the instance of a result folder may be: its recorded name next to the result, in the
    current folder and in ./instances."""
    name = Path(source).name
    return [folder.parent / name, Path.cwd() / name, Path.cwd() / "instances" / name]


def _find_instance(folder: Path, summary: dict[str, Any], instance: str | Path | None) -> Instance:
    sha = summary["instance"]["sha256"]
    source = summary["instance"]["source"]
    recorded = summary["instance"].get("chemin") or ""
    paths = [Path(instance)] if instance is not None else \
        [*([Path(recorded)] if recorded else []), *_candidates(folder, source)]
    tried = []
    for path in paths:
        if not path.exists():
            tried.append(_("{chemin} (absent)").format(chemin=path))
            continue
        try:
            inst = load_instance(path)
        except InstanceError:
            tried.append(_("{chemin} (not a valid instance)").format(chemin=path))
            continue
        if inst.sha256 == sha:
            return inst
        tried.append(_("{chemin} (SHA-256 {trouve}…, not {attendu}…: the instance changed since the solve)")
                     .format(chemin=path, trouve=inst.sha256[:12], attendu=sha[:12]))
    raise UsageError(_("the instance '{source}' solved in {dossier} was not found with the same content; tried "
                       "{essais}. Give it with --instance PATH (instance=... from Python)")
                     .format(source=source, dossier=folder, essais="; ".join(tried)))


def from_folder(folder: str | Path, *, instance: str | Path | None = None) -> Dossier:
    """A dossier from a result folder; ``instance`` is the instance's path when it is not found
    by its recorded name (next to the result folder, in the current folder or in ./instances)."""
    folder = Path(folder)
    path = folder / SUMMARY_FILE
    problems: list[Problem] = []
    if not path.is_file():
        raise InstanceError([Problem.coded(str(path), None, None, "resultat_invalide",
                                           _("this is not a fluxopt result folder: summary.json is missing"))])
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InstanceError([Problem.coded(str(path), None, None, "resultat_invalide", _("summary.json cannot be read: {raison}"),
                                           {"raison": str(exc)})]) from None
    if not isinstance(summary, dict) or not {"status", "instance", "politique"} <= set(summary):
        raise InstanceError([Problem.coded(str(path), None, None, "resultat_invalide",
                                           _("summary.json is not the summary of a fluxopt result"))])
    if not summary.get("has_solution", summary.get("status") == "optimal"):
        raise UsageError(_("the result in {dossier} has no solution (status {statut}): there is nothing to document")
                         .format(dossier=folder, statut=summary.get("status")))
    tables: dict[str, pd.DataFrame] = {}
    for name in TABLES:
        file = folder / f"{name}.csv"
        if not file.is_file():
            problems.append(Problem.coded(str(file), None, None, "fichier_manquant",
                                          _("{fichier} is missing from the result folder"), {"fichier": file.name}))
            continue
        try:
            tables[name] = pd.read_csv(file, dtype=ID_COLUMNS, keep_default_na=False, na_values=[""])
        except (OSError, ValueError) as exc:
            problems.append(Problem.coded(str(file), None, None, "fichier_illisible", _("{fichier} cannot be read: {raison}"),
                                          {"fichier": file.name, "raison": str(exc)}))
    sensitivity = None
    if (folder / SENSITIVITY_FILE).is_file():
        try:
            sensitivity = pd.read_csv(folder / SENSITIVITY_FILE, dtype=ID_COLUMNS, keep_default_na=False,
                                      na_values=[""])
        except (OSError, ValueError) as exc:
            problems.append(Problem.coded(str(folder / SENSITIVITY_FILE), None, None, "fichier_illisible",
                                          _("{fichier} cannot be read: {raison}"),
                                          {"fichier": SENSITIVITY_FILE, "raison": str(exc)}))
    if problems:
        raise InstanceError(problems)
    inst = _find_instance(folder, summary, instance)
    pol = summary["politique"]
    policy = Policy(pol["nom"], str(path), pol["valeurs"])
    segments = tables["segments"]
    segments["qpv"] = segments["qpv"].astype(str).str.lower().eq("true")
    tables["bailleurs"]["nom"] = tables["bailleurs"]["nom"].fillna("")
    tables["parts"]["origine_cible"] = tables["parts"]["origine_cible"].fillna("equivalence")
    tables["parts"]["methode"] = tables["parts"]["methode"].fillna("")
    return Dossier(summary, tables["parts"], segments, tables["cil"], tables["bailleurs"], inst, policy, sensitivity)


def load_dossier(source: Result | str | Path, *, instance: str | Path | None = None) -> Dossier:
    """A dossier from a ``Result`` or from a result folder."""
    if isinstance(source, Result):
        return from_result(source)
    return from_folder(source, instance=instance)
