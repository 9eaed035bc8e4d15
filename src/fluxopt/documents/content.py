"""The figures of the report and the annexes, shaped for the templates (plain dicts and lists).

Numbers stay numbers here; the templates format them in French with the filters of
:func:`fr_number` and :func:`fr_pct`. Departures are given their reasons by reading the tables
(a cap reached, a segment with no own share left); when the result folder has
``sensibilite.csv`` (``fluxopt solve --sensibilite``), each departure also lists the constraints
checked by counterfactual solves, with the share once each is relaxed (in the solve's language).
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import pandas as pd

from fluxopt.documents.dossier import Dossier
from fluxopt.i18n import translations
from fluxopt.policy import PREFET_TYPES, source_of

#: A relative departure under this counts as none (as ``fluxopt explain``).
DEPARTURE_TOL = 1e-4

TYPE_LABELS = {
    "prefet": "Préfet (contingent prioritaire)", "prefet_agents": "Préfet (agents de l'État)",
    "action_logement": "Action Logement", "commune": "Commune", "epci": "EPCI",
    "departement": "Département", "region": "Région", "autre": "Autre", "bailleur": "Bailleur (part propre)",
}
METHOD_LABELS = {
    "rotation": "stock pondéré par la rotation des logements réservés",
    "stock": "part du stock réservé",
    "attributions": "part des attributions passées",
    "": "sans droits anciens (cible fixée par un ajustement)",
}
STAGE_LABELS = {
    "ecart_cil": "déficit des objectifs CIL (logements)",
    "ecart_max": "plus grand écart relatif à l'équivalence",
    "ecart_total": "somme des écarts relatifs",
    "regularite": "irrégularité de la répartition",
}
OBJECTIVE_LABELS = {"q1_hors_qpv": "premier quartile (Q1) hors QPV", "autres_qpv": "autres quartiles en QPV"}
RULE_LABELS = {
    "prefet_cible": "taux cible du préfet (prefet.cible)",
    "defaut_vers_prefet": "convention non signée : droits transférés au préfet",
    "report": "report du bilan de l'année précédente",
}
#: Policy words in French.
VALUE_LABELS = {"equivalence": "équivalence des droits", "rotation": "rotation", "stock": "stock",
                "attributions": "attributions passées"}
#: The policy values shown in the report, in words (their sources: fluxopt.policy.SOURCES).
PARAMETERS = [
    ("plafonds.prefet", "Plafond du préfet (avec ses agents), en part du flux de chaque bailleur"),
    ("plafonds.prefet_agents", "dont agents de l'État"),
    ("prefet.cible", "Cible du préfet"),
    ("prefet.uniforme", "Taux du préfet identique dans chaque commune"),
    ("equivalence.methode", "Méthode d'équivalence stock → flux"),
    ("defaut.vers_prefet", "Droits d'une convention non signée transférés au préfet"),
    ("cil.part_q1_hors_qpv", "Attributions hors QPV au premier quartile (Q1)"),
    ("cil.part_autres_qpv", "Attributions en QPV aux autres quartiles"),
    ("cil.relogements_q1", "Relogements NPNRU/ORCOD comptés dans l'objectif Q1"),
    ("cil.strict", "Objectifs CIL impératifs"),
    ("prioritaires.part_min", "Part minimale des ménages prioritaires (DALO)"),
    ("equilibre.tolerance_qpv", "Tolérance sur la part QPV de chaque réservataire"),
]


def french(message: str) -> str:
    """A message of the catalogue in French, whatever the current language (the report is French)."""
    return translations("fr").gettext(message) if message else ""


def fr_number(value: Any, digits: int = 1) -> str:
    """A number written in French: comma decimals, narrow no-break space between thousands."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    rounded = round(float(value), digits) + 0.0  # no "-0,0"
    return f"{rounded:,.{digits}f}".replace(",", "\u202f").replace(".", ",")


def fr_pct(value: Any, digits: int = 2) -> str:
    """A percentage already in percent (25.83) as « 25,83 % »."""
    return f"{fr_number(value, digits)}\u00a0%"


def fr_value(value: Any) -> str:
    """A policy value in words: rates in percent, booleans as oui/non."""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, float):
        return fr_pct(100 * value, 0 if (100 * value).is_integer() else 1)
    return VALUE_LABELS.get(str(value), str(value))


def _holder_names(d: Dossier) -> tuple[dict[str, str], dict[str, str]]:
    """Display names of the réservataires and of the bailleurs (their id when they have none)."""
    res = d.instance.reservataires
    names = {r: (n if isinstance(n, str) and n else r) for r, n in zip(res["reservataire"], res["nom"])}
    bailleurs = {b: (n if isinstance(n, str) and n else b) for b, n in zip(d.bailleurs["bailleur"], d.bailleurs["nom"])}
    return names, bailleurs


def exclusions(d: Dossier) -> pd.DataFrame:
    """Per bailleur: dwellings, kept in stock, releases, new lettings, transfers, rehousing, flux base."""
    p = d.instance.patrimoine
    out = p.groupby("bailleur", sort=True).agg(
        logements=("logements", "sum"), hors_flux=("logements_hors_flux", "sum"), liberations=("liberations", "sum"),
        mises_en_service=("mises_en_service", "sum"), mutations_internes=("mutations_internes", "sum"),
        relogements=("relogements", "sum"), flux_base=("flux_base", "sum"))
    return out


def _reasons(d: Dossier, row: pd.Series, own_empty: set[tuple[str, str]]) -> list[str]:
    """Why a pair departs from its target, read from the tables: the likely reasons, for a result
    folder without ``sensibilite.csv`` (the report says they were not checked)."""
    caps = d.policy.plafonds
    b = d.bailleurs.set_index("bailleur").loc[row["bailleur"]]
    reasons = []
    if row["type"] in PREFET_TYPES and row["ecart"] < 0:
        if "prefet" in caps and b["prefet_pct"] >= 100 * caps["prefet"] - 1e-3:
            reasons.append(f"le plafond du préfet ({fr_pct(100 * caps['prefet'], 0)} du flux du bailleur, "
                           "agents compris) est atteint")
        if row["type"] == "prefet_agents" and "prefet_agents" in caps \
                and b["prefet_agents_pct"] >= 100 * caps["prefet_agents"] - 1e-3:
            reasons.append(f"le plafond des agents de l'État ({fr_pct(100 * caps['prefet_agents'], 0)} du flux du "
                           "bailleur) est atteint")
    elif row["type"] in caps and row["type"] not in PREFET_TYPES and row["ecart"] < 0:
        held = d.parts[(d.parts["bailleur"] == row["bailleur"]) & (d.parts["type"] == row["type"])]["logements"].sum()
        if held >= caps[row["type"]] * b["flux_base"] - 1e-3:
            reasons.append(f"le plafond du type « {TYPE_LABELS.get(row['type'], row['type'])} » est atteint")
    communes = {c for (bb, c) in own_empty if bb == row["bailleur"]}
    mine = d.segments[(d.segments["bailleur"] == row["bailleur"]) & (d.segments["titulaire"] == row["reservataire"])]
    full = sorted(communes & set(mine["commune"]))
    if full and row["ecart"] < 0:
        reasons.append("le flux est entièrement réservé dans " + ", ".join(full[:5]) + ("…" if len(full) > 5 else "")
                       + " : il ne reste pas de part propre au bailleur")
    if not reasons:
        reasons.append("l'équilibre entre réservataires : fluxopt réduit d'abord le plus grand écart relatif, "
                       "puis la somme des écarts")
    return reasons


def departures(d: Dossier) -> list[dict[str, Any]]:
    """The pairs whose proposal differs from the target, with their reasons, largest first."""
    names, bailleurs = _holder_names(d)
    own = d.segments[d.segments["titulaire"] == "bailleur"]
    own_empty = {(b, c) for b, c, x in zip(own["bailleur"], own["commune"], own["logements"]) if x <= 1e-6}
    rows = d.parts[d.parts["ecart_relatif"].abs() > DEPARTURE_TOL]
    checked: dict[tuple[str, str], list[str]] = {}
    labels: dict[tuple[str, str], list[str]] = {}
    if d.sensibilite is not None:
        for s in d.sensibilite.itertuples(index=False):
            checked.setdefault((s.bailleur, s.reservataire), []).append(str(s.texte))
            label = str(getattr(s, "libelle", s.texte))
            if label not in labels.setdefault((s.bailleur, s.reservataire), []):
                labels[(s.bailleur, s.reservataire)].append(label)
    out = []
    for _, r in rows.iterrows():
        out.append({"bailleur": r["bailleur"], "bailleur_nom": bailleurs.get(r["bailleur"], r["bailleur"]),
                    "reservataire": r["reservataire"], "nom": names.get(r["reservataire"], r["reservataire"]),
                    "cible": r["cible"], "logements": r["logements"], "ecart": r["ecart"],
                    "ecart_pct": 100 * r["ecart_relatif"], "raisons": labels.get((r["bailleur"], r["reservataire"]))
                    or _reasons(d, r, own_empty),
                    "sensibilite": checked.get((r["bailleur"], r["reservataire"]), [])})
    return sorted(out, key=lambda x: (-abs(x["ecart"]), x["bailleur"], x["reservataire"]))


def main_reasons(deps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The one or two reasons that move the most dwellings, with the pairs they concern."""
    weight: dict[str, float] = {}
    count: dict[str, int] = {}
    for dep in deps:
        for reason in dep["raisons"]:
            key = reason.split(" (")[0] if "plafond" in reason else reason
            weight[key] = weight.get(key, 0.0) + abs(dep["ecart"])
            count[key] = count.get(key, 0) + 1
    ranked = sorted(weight, key=lambda k: (-weight[k], k))[:2]
    return [{"raison": k, "logements": weight[k], "conventions": count[k]} for k in ranked]


def report_context(d: Dossier) -> dict[str, Any]:
    """Everything the report template shows."""
    names, bailleurs = _holder_names(d)
    s, parts = d.summary, d.parts
    excl = exclusions(d)
    flux = float(d.bailleurs["flux_base"].sum())
    reserved = float(d.bailleurs["logements_reserves"].sum())
    prefet = float(parts.loc[parts["type"].isin(PREFET_TYPES), "logements"].sum())
    deps = departures(d)
    per_bailleur = []
    for _, b in d.bailleurs.iterrows():
        held = parts[parts["bailleur"] == b["bailleur"]].copy()
        held["nom"] = [names.get(r, r) for r in held["reservataire"]]
        held["type_label"] = [TYPE_LABELS.get(t, t) for t in held["type"]]
        e = excl.loc[b["bailleur"]]
        per_bailleur.append({
            "id": b["bailleur"], "nom": bailleurs[b["bailleur"]], "ligne": b.to_dict(), "exclusions": e.to_dict(),
            "parts": held.to_dict("records"),
            "arrondi_total": int(round(float(b["flux_base"]))),
            "propre_arrondi": int(round(float(b["flux_base"]))) - int(held["logements_arrondis"].sum()),
            "ecarts": [x for x in deps if x["bailleur"] == b["bailleur"]],
        })
    per_res = parts.groupby("reservataire", sort=True).agg(
        type=("type", "first"), bailleurs=("bailleur", "nunique"), cible=("cible", "sum"),
        logements=("logements", "sum"), logements_arrondis=("logements_arrondis", "sum")).reset_index()
    per_res["nom"] = [names.get(r, r) for r in per_res["reservataire"]]
    per_res["type_label"] = [TYPE_LABELS.get(t, t) for t in per_res["type"]]
    per_res["cible_arrondie"] = per_res["cible"].round().astype(int)
    per_res["ecart_entier"] = per_res["logements_arrondis"] - per_res["cible_arrondie"]
    cil = []
    for _, c in d.cil.iterrows():
        in_e = d.segments[(d.segments["epci"] == c["epci"]) & (d.segments["qpv"] == (c["objectif"] == "autres_qpv"))]
        by = in_e.groupby("titulaire")[["logements", "q1"]].sum()
        total_q1 = float(by["q1"].sum())
        porteurs = [{"titulaire": t, "nom": "bailleurs (part propre)" if t == "bailleur" else names.get(t, t),
                     "logements": float(v["logements"]), "q1": float(v["q1"]),
                     "part": 100 * float(v["q1"]) / total_q1 if total_q1 else 0.0}
                    for t, v in by.sort_values("q1", ascending=False).iterrows()]
        cil.append({**c.to_dict(), "nom": place(c["epci"]), "libelle": OBJECTIVE_LABELS.get(c["objectif"], c["objectif"]),
                    "atteint_ok": float(c["deficit"]) <= 1e-6, "porteurs": porteurs})
    values = s["politique"]["valeurs"]
    stage_values = s["objectifs"]
    return {
        "s": s, "nom": s["instance"]["nom"], "annee": d.annee, "territoire": s["instance"]["territoire"],
        "flux": flux, "reserve": reserved, "reserve_pct": 100 * reserved / flux if flux else 0.0,
        "prefet_pct": 100 * prefet / flux if flux else 0.0, "conventions": len(parts),
        "n_bailleurs": len(d.bailleurs), "n_reservataires": parts["reservataire"].nunique(),
        "a_la_cible": int((parts["ecart_relatif"].abs() <= DEPARTURE_TOL).sum()),
        "ecart_max_pct": 100 * float(parts["ecart_relatif"].abs().max()) if len(parts) else 0.0,
        "ecart_abs": float(parts["ecart"].abs().sum()),
        "ecarts": deps, "raisons": main_reasons(deps), "bailleurs": per_bailleur,
        "sensibilite": d.sensibilite is not None,
        "reservataires": per_res.to_dict("records"), "cil": cil,
        "cil_ok": all(c["atteint_ok"] for c in cil),
        "parametres": [{"cle": k, "libelle": label, "valeur": fr_value(values[k]), "source": french(source_of(k))}
                       for k, label in PARAMETERS if k in values],
        "plafonds_autres": {k: v for k, v in d.policy.plafonds.items() if k not in ("prefet", "prefet_agents")},
        "etapes": [{"nom": n, "libelle": STAGE_LABELS.get(n, n), "valeur": stage_values.get(n)}
                   for n in values["objectif.ordre"]],
        "ajustements": [{**a, "regle_label": RULE_LABELS.get(a["regle"], a["regle"]),
                         "nom": names.get(a["reservataire"], a["reservataire"])} for a in s["ajustements"]],
        "droits_echus": [w["message"] for w in s["warnings"] if w.get("column") == "fin_droits"],
        "methode": METHOD_LABELS.get(values["equivalence.methode"], values["equivalence.methode"]),
        "type_labels": TYPE_LABELS,
    }


BAILLEUR_TYPES = {"oph": "office public de l'habitat", "esh": "entreprise sociale pour l'habitat",
                  "sem": "société d'économie mixte", "coop": "coopérative HLM", "autre": "bailleur social"}
DATA = Path(__file__).resolve().parent.parent / "data"


@functools.cache
def place_names() -> dict[str, str]:
    """Commune and EPCI names by code, from the package's data (the communes it knows)."""
    frame = pd.read_csv(DATA / "communes.csv", dtype=str)
    return {**dict(zip(frame["commune_insee"], frame["commune_nom"])), **dict(zip(frame["epci_siren"], frame["epci_nom"]))}


def place(code: str) -> str:
    """« Bordeaux (33063) » when the name is known, else the code."""
    name = place_names().get(code)
    return f"{name} ({code})" if name else code


class AnnexBuilder:
    """The context of each convention's annex; the groupings are made once per dossier."""

    def __init__(self, d: Dossier):
        self.d = d
        self.names, self.bailleur_names = _holder_names(d)
        inst = d.instance
        self.exclusions = exclusions(d)
        self.flux = inst.patrimoine.set_index(["bailleur", "commune", "qpv"])["flux_base"].to_dict()
        # Plain records per pair, grouped once: an annex then reads no DataFrame.
        seg = d.segments
        self.segments: dict[tuple[str, str], list[tuple]] = {}
        for row in zip(seg["bailleur"], seg["titulaire"], seg["commune"], seg["epci"], seg["qpv"], seg["logements"],
                       seg["q1"]):
            self.segments.setdefault((row[0], row[1]), []).append(row[2:])
        st = inst.stock
        self.stock: dict[tuple[str, str], list[tuple]] = {}
        for row in zip(st["bailleur"], st["reservataire"], st["commune"], st["qpv"], st["logements_reserves"],
                       st["fin_droits"]):
            self.stock.setdefault((row[0], row[1]), []).append(row[2:])
        self.reservataires = {r["reservataire"]: r for r in inst.reservataires.to_dict("records")}
        self.bailleur_types = dict(zip(inst.bailleurs["bailleur"], inst.bailleurs["type"]))
        self.bailleur_flux = dict(zip(d.bailleurs["bailleur"], d.bailleurs["flux_base"].astype(float)))
        self.exclusion_rows = self.exclusions.to_dict("index")
        self.cil_rate = {str(e): float(t) for e, o, t in zip(d.cil["epci"], d.cil["objectif"], d.cil["taux"])
                         if o == "q1_hors_qpv"}
        self.q1_bounds = {r: self._q1(r) for r in self.reservataires}
        deps = departures(d)
        self.reasons = {(x["bailleur"], x["reservataire"]): x["raisons"] for x in deps}
        self.checked = {(x["bailleur"], x["reservataire"]): x["sensibilite"] for x in deps}

    def _q1(self, r: str) -> tuple[float, float]:
        row = self.reservataires[r]
        lo, hi = self.d.policy.comportement(row["type"])
        lo = lo if pd.isna(row["part_q1_min"]) else float(row["part_q1_min"])
        hi = hi if pd.isna(row["part_q1_max"]) else float(row["part_q1_max"])
        return lo, hi

    def context(self, pair: dict[str, Any]) -> dict[str, Any]:
        """The annex of one row of the parts table."""
        d, b, r = self.d, pair["bailleur"], pair["reservataire"]
        res = self.reservataires[r]
        perimetre = "tout le département" if res["communes"] is None else ", ".join(place(c) for c in res["communes"])
        segs = self.segments.get((b, r), [])
        repartition = [{"commune": place(c), "qpv": "oui" if q else "non", "flux": self.flux.get((b, c, q), 0.0),
                        "logements": x} for c, _, q, x, _ in segs]
        droits: list[dict[str, Any]] = []
        echus: list[dict[str, Any]] = []
        for c, q, n, f in self.stock.get((b, r), []):
            row = {"commune": place(c), "qpv": "oui" if q else "non", "logements": int(n),
                   "fin": "" if pd.isna(f) else str(int(f))}
            (echus if f < d.annee else droits).append(row)
        lo, hi = self.q1_bounds[r]
        q1 = []
        for e, rate in sorted(self.cil_rate.items()):
            in_e = [(x, y) for _, epci, q, x, y in segs if epci == e and not q]
            if not in_e:
                continue
            x = sum(v for v, _ in in_e)
            q1.append({"epci": place(e), "taux": rate, "logements": x, "min": lo * x, "max": hi * x,
                       "propose": sum(0.0 if pd.isna(y) else y for _, y in in_e)})
        s = d.summary
        return {
            "annee": d.annee, "territoire": s["instance"]["territoire"], "p": pair,
            "bailleur": {"id": b, "nom": self.bailleur_names.get(b, b),
                         "type": BAILLEUR_TYPES.get(self.bailleur_types.get(b, "autre"), "bailleur social")},
            "reservataire": {"id": r, "nom": self.names.get(r, r), "type": TYPE_LABELS.get(res["type"], res["type"]),
                             "kind": res["type"], "perimetre": perimetre,
                             "non_signee": res.get("convention", "signee") == "non_signee"},
            "flux_bailleur": self.bailleur_flux[b],
            "exclusions": self.exclusion_rows[b],
            "repartition": repartition, "droits": droits, "echus": echus,
            "droits_total": sum(x["logements"] for x in droits),
            "methode": METHOD_LABELS.get(pair["methode"], pair["methode"]),
            "part_min": d.policy.part_min_prioritaires, "q1": q1, "q1_bornes": (lo, hi),
            "ajuste": pair["origine_cible"] != "equivalence", "raisons": self.reasons.get((b, r), []),
            "sensibilite": self.checked.get((b, r), []),
            "s": s,
        }
