"""One letter per bailleur and réservataire, « Bilan annuel des attributions — année N », in
Markdown from a Jinja2 template (``templates/lettre.md.j2``): the context built here is what a
docx/PDF renderer will receive as well."""

from __future__ import annotations

import csv
import functools
import math
import re
from importlib import resources
from typing import Any

import jinja2

from fluxopt.bilan.compute import CRITERES, Bilan

TEMPLATE = "lettre.md.j2"
TITRES = {"typologie": ("Par type de logement", "Type"), "financement": ("Par financement", "Financement"),
          "qpv": ("Dans ou hors quartier prioritaire de la politique de la ville", "Localisation"),
          "commune": ("Par commune", "Commune"), "periode": ("Par période de construction", "Période")}


def nombre(value: Any, digits: int = 1) -> str:
    """A French number: '1 234,5' (narrow no-break space between thousands, decimal comma)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    number = round(float(value), digits) + 0.0  # no '-0,0'
    return f"{number:,.{digits}f}".replace(",", "\u202f").replace(".", ",")


def signe(value: float) -> str:
    return ("+" if value > 0 else "") + nombre(value)


def pct(value: Any) -> str:
    """A fraction as a French percentage: 0.253 → '25,3 %'."""
    return "—" if value is None or value != value else f"{nombre(100 * float(value))} %"


def pct100(value: Any) -> str:
    """A percentage on a 0-100 scale: 25.3 → '25,3 %'."""
    return "—" if value is None or value != value else f"{nombre(float(value), 2)} %"


@functools.cache
def commune_names() -> dict[str, str]:
    """INSEE code → name of the communes known to fluxopt (``fluxopt/data/communes.csv``)."""
    with resources.files("fluxopt").joinpath("data", "communes.csv").open("r", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {r["commune_insee"]: r["commune_nom"] for r in rows}


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("fluxopt.bilan", "templates"), autoescape=False,
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    env.filters.update(nombre=nombre, signe=signe, pct=pct, pct100=pct100)
    return env


def file_name(bailleur: str, reservataire: str) -> str:
    """A safe file name for the letter of a pair."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", f"{bailleur}_{reservataire}").strip("-.") + ".md"


def contexts(bilan: Bilan, date: str) -> list[tuple[str, dict[str, Any]]]:
    """(file name, template context) of every letter: one per pair of the conventions."""
    conv = bilan.conventions
    details: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = {}
    names = commune_names()
    for b, h, critere, valeur, proposes, attribues in bilan.r441[["bailleur", "titulaire", "critere", "valeur", "proposes",
                                                                 "attribues"]].itertuples(index=False, name=None):
        if critere == "commune" and valeur in names:
            valeur = f"{names[valeur]} ({valeur})"
        details.setdefault((b, h), {}).setdefault(critere, []).append(
            {"valeur": valeur, "proposes": proposes, "attribues": attribues})
    prio = {(r["bailleur"], r["titulaire"]): r for r in bilan.prioritaires.to_dict("records")}
    q1: dict[tuple[str, str], int] = {}
    if bilan.realise.has_q1:
        q1 = {k: int(v) for k, v in bilan.realise.frame.groupby(["bailleur", "titulaire"])["q1"].sum().items()}
    none = [{"valeur": "aucun logement", "proposes": 0, "attribues": 0}]
    plafond = float(conv.policy.values["report.plafond"])
    out = []
    for part in bilan.parts.to_dict("records"):
        b, r = part["bailleur"], part["reservataire"]
        mine = details.get((b, r), {})
        criteres = [{"titre": TITRES[c][0], "entete": TITRES[c][1], "lignes": mine.get(c) or none} for c in CRITERES]
        prioritaires = None
        if bilan.realise.has_prioritaires:
            prioritaires = prio.get((b, r)) or {
                "attribues": 0, "prioritaires": 0, "part": float("nan"), "atteint": True,
                "cible": 1.0 if part["type"] == "prefet" else conv.policy.part_min_prioritaires}
        context = {
            "annee": bilan.annee, "territoire": conv.territoire, "date": date,
            "bailleur": {"id": b, "nom": conv.nom_bailleur(b)},
            "reservataire": {"id": r, "nom": conv.nom_reservataire(r)},
            "part": part, "plafond": plafond, "prioritaires": prioritaires,
            "q1": q1.get((b, r), 0) if bilan.realise.has_q1 else None, "criteres": criteres,
        }
        out.append((file_name(b, r), context))
    return out


def render_letters(bilan: Bilan, date: str) -> dict[str, str]:
    """File name → Markdown text of every letter."""
    template = environment().get_template(TEMPLATE)
    return {name: template.render(**context) for name, context in contexts(bilan, date)}
