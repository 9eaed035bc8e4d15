"""The JSON documents for programs: problems, an instance summary, a result.

One shape for ``fluxopt solve --json`` and the HTTP service, published as JSON Schemas
(``schemas/`` in the repository, ``/api/v1/schemas/...``); a result carries ``version_schema``.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

import pandas as pd

from fluxopt.explanations import Explanation, Reason
from fluxopt.instance import Instance
from fluxopt.problems import Problem
from fluxopt.result import Result
from fluxopt.tables import bailleur_synthesis, reservataire_synthesis

#: Version of the result document (schemas/resultat-1.json); a breaking change makes it 2.
RESULT_SCHEMA_VERSION = "1.0"
INSTANCE_SCHEMA_VERSION = "1.0"


def problem_dict(problem: Problem) -> dict[str, Any]:
    """A problem with its code (docs/i18n.md), file, row, column, message, severity."""
    return {"code": getattr(problem, "code", None) or None, "parametres": json.loads(json.dumps(
                getattr(problem, "params", None) or {}, default=str)),
            "fichier": problem.file, "ligne": problem.row, "colonne": problem.column, "message": problem.message,
            "gravite": problem.severity}


def problems_list(problems: Iterable[Problem]) -> list[dict[str, Any]]:
    return [problem_dict(p) for p in problems]


def invalid_document(problems: Iterable[Problem]) -> dict[str, Any]:
    """What ``fluxopt solve --json`` prints for an invalid instance: its problems."""
    return {"version_schema": RESULT_SCHEMA_VERSION, "statut": "invalide", "problemes": problems_list(problems)}


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A table as JSON records (NaN as null, numbers as they are)."""
    return json.loads(frame.to_json(orient="records", double_precision=15, force_ascii=False))


def instance_summary(instance: Instance) -> dict[str, Any]:
    """What /valider answers for a valid instance."""
    p = instance.patrimoine
    return {
        "nom": instance.nom, "territoire": instance.territoire, "annee": instance.annee,
        "politique": instance.policy.name, "bailleurs": int(p["bailleur"].nunique()), "segments": len(p),
        "reservataires": len(instance.reservataires), "droits": len(instance.stock),
        "epci_cil": len(instance.cil), "flux_base": round(float(p["flux_base"].sum()), 6),
        "sha256": instance.sha256, "description": instance.describe(),
    }


def reason_dict(reason: Reason) -> dict[str, Any]:
    """A reason for programs (its stable ``code`` and ``parametres``) with its sentence (``texte``)."""
    return {"code": reason.code, "parametres": json.loads(json.dumps(reason.params, default=str)),
            "texte": reason.text}


def explanations(explanation: Explanation) -> dict[str, Any]:
    """The explanations as coded items (``ecart_equivalence``, ``deficit_cil``, ``cible_deplacee``,
    ``infaisabilite``) plus the Markdown text the CLI prints."""
    items: list[dict[str, Any]] = []
    for moved in explanation.moved:
        items.append({"code": "cible_deplacee", "raison": reason_dict(moved), "texte": moved.text})
    for pair in explanation.pairs:
        items.append({"code": "ecart_equivalence", "bailleur": pair.bailleur, "reservataire": pair.reservataire,
                      "cible": round(pair.cible, 6), "logements": round(pair.logements, 6),
                      "ecart": round(pair.ecart, 6), "raisons": [reason_dict(r) for r in pair.reasons]})
    for short in explanation.shortfalls:
        items.append({"code": "deficit_cil", "epci": short.epci, "objectif": reason_dict(short.objectif),
                      "requis": round(short.requis, 6), "atteint": round(short.atteint, 6),
                      "raisons": [reason_dict(r) for r in short.reasons]})
    if explanation.infeasible is not None:
        items.append({"code": "infaisabilite", "raisons": [reason_dict(r) for r in explanation.infeasible]})
    return {"elements": items, "markdown": explanation.to_markdown()}


def result_document(result: Result, explanation: Explanation) -> dict[str, Any]:
    """The whole result as one JSON document (schemas/resultat-1.json)."""
    summary = result.summary.to_dict()
    tables = {name: records(frame) for name, frame in result.tables.items()}
    syntheses: dict[str, Any] = {"bailleurs": [], "reservataires": []}
    if result.has_solution and len(result.shares):
        syntheses = {"bailleurs": records(bailleur_synthesis(result.shares, result.bailleurs)),
                     "reservataires": records(reservataire_synthesis(result.shares))}
    return {
        "version_schema": RESULT_SCHEMA_VERSION,
        "statut": result.status.value,
        "a_une_solution": result.has_solution,
        "objectifs": dict(result.objectives),
        "instance": summary["instance"],
        "politique": summary["politique"],
        "tables": tables,
        "syntheses": syntheses,
        "avertissements": problems_list(result.summary.warnings),
        "ajustements": summary["ajustements"],
        "explications": explanations(explanation),
        "resume": summary,
    }
