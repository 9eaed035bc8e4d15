"""Why a proposal departs from equivalence, in domain words (pure functions over a Result).

Three parts: for each pair whose share differs from its target, the constraints that bind
(binding rows of the LP, weighted by their duals in the stages that fix the deviations);
for each CIL shortfall, what limits the Q1 designations; for an infeasible strict instance,
an irreducible infeasible subset (IIS) of the first-stage LP computed by HiGHS. Everything is
read from the array LP (:mod:`fluxopt.lp`) and the result's solution.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np
import pandas as pd

from fluxopt.flux import Baseline
from fluxopt.i18n import N_, _, number, using
from fluxopt.lp import LinearProgram, index_name
from fluxopt.policy import Policy
from fluxopt.result import Result
from fluxopt.solution import Termination
from fluxopt.solvers.highs import infeasible_subset as highs_iis

if TYPE_CHECKING:  # the counterfactual solves (and their process pool) are imported when asked for
    from fluxopt.counterfactuals import Outcome, Relaxation

#: Relative deviation (|X - T| / T) under which a pair counts as at its target.
DEVIATION_TOL = 1e-4
#: Slack (in dwellings, relative to max(1, |bound|)) under which a row binds; loose, since the
#: stages after the one that fixed a deviation may move within the lexicographic tolerance.
BINDING_TOL = 1e-4
#: Duals under this magnitude count as zero.
DUAL_TOL = 1e-7
#: Rows that only define a variable (a share's total, a departure, an objective's parts): they
#: belong to every conflict and name none of its causes, so an IIS leaves them out of its text.
DEFINITIONS = ("def_X", "ecart", "ecart_max_def", "regularite_x", "regularite_q", "regularite_o")
#: A relaxation confirms a reason when it moves the share towards its target by more than this
#: (relative to max(1, target), in dwellings): far above the stages' tolerance (1e-6).
MOVE_TOL = 1e-4
#: Stages whose optimum fixes the deviations from equivalence.
DEVIATION_STAGES = ("ecart_max", "ecart_total")

#: The reasons, by code: a sentence with the reason's parameters (translated by the catalogue).
#: ``qui`` is the holder in words, ``ou`` the segment in words (both filled in when rendering).
TEMPLATES: dict[str, str] = {
    "plafond_prefet": N_("cap of the préfet (with its agents) at bailleur {bailleur}: {taux} of its flux "
                         "({logements} dwellings/year)"),
    "plafond_prefet_agents": N_("cap of the préfet's State employees at bailleur {bailleur}: {taux} of its flux "
                                "({logements} dwellings/year)"),
    "plafond_type": N_("cap of the réservataires of type {type} at bailleur {bailleur}: {taux} of its flux "
                       "({logements} dwellings/year)"),
    "capacite": N_("capacity of the segment {ou}: {logements} dwellings/year of flux"),
    "prefet_uniforme": N_("uniform rate of {qui} in every segment of bailleur {bailleur} (prefet.uniforme)"),
    "equilibre_qpv": N_("QPV balance of the share of {qui} at bailleur {bailleur} (QPV mix within ±{points} points)"),
    "part_q1_min": N_("Q1 share of {qui} at least {taux} ({ou})"),
    "part_q1_max": N_("Q1 share of {qui} at most {taux} ({ou})"),
    "part_q1_min_bailleur": N_("Q1 share of bailleur {bailleur} on its own share at least {taux} ({ou})"),
    "part_q1_max_bailleur": N_("Q1 share of bailleur {bailleur} on its own share at most {taux} ({ou})"),
    "cil_hors_qpv": N_("CIL target outside QPV in EPCI {epci}: {taux} of attributions to Q1 households"),
    "cil_qpv": N_("CIL target in QPV in EPCI {epci}: {taux} of attributions to other quartiles"),
    "etape_ecart_cil": N_("the CIL targets, reached as far as possible first (stage ecart_cil)"),
    "etape_ecart_max": N_("fairness: no pair departs more from its target than the smallest possible "
                          "largest departure (stage ecart_max)"),
    "etape_ecart_total": N_("the smallest total departure from equivalence (stage ecart_total)"),
    "arbitrage": N_("no single constraint whose relaxation moves this share towards its target: the stages' "
                    "trade-offs between pairs"),
    "q1_reservataire_max": N_("Q1 share of {qui} at most {taux}: {q1} Q1 households of its {logements} dwellings"),
    "q1_reservataire_min": N_("Q1 share of {qui} at least {taux}: {q1} Q1 households of its {logements} dwellings"),
    "q1_bailleur_max": N_("Q1 share of bailleur {bailleur} on its own share at most {taux}: {q1} Q1 households "
                          "of its {logements} dwellings"),
    "q1_bailleur_min": N_("Q1 share of bailleur {bailleur} on its own share at least {taux}: {q1} Q1 households "
                          "of its {logements} dwellings"),
    "etapes_avant_cil": N_("the stages solved before the CIL targets: {etapes}"),
    "cil_strict_hors_qpv": N_("strict mode (cil.strict = true): no shortfall allowed on the CIL target outside "
                              "QPV in EPCI {epci}"),
    "cil_strict_qpv": N_("strict mode (cil.strict = true): no shortfall allowed on the CIL target in QPV in EPCI {epci}"),
    "ligne": N_("constraint {ligne}"),
    "accord": N_("agreed by the parties (accords): {logements} dwellings/year"),
    "accord_voisin": N_("the agreement of {qui} at bailleur {bailleur} (accords): {logements} dwellings/year"),
    "accord_infaisable": N_("the agreement of {qui} at bailleur {bailleur} (accords): {logements} dwellings/year"),
    "definition_part": N_("the share of {qui} at bailleur {bailleur} is the sum of its dwellings in the segments "
                          "of its perimeter"),
    "prefet_cible": N_("target of {reservataire} at bailleur {bailleur} set to {apres} dwellings/year (was {avant}) "
                       "by prefet.cible"),
    "defaut_vers_prefet": N_("target of {reservataire} at bailleur {bailleur} ({logements} dwellings/year) moved to "
                             "the préfet {vers}: no flux convention signed (defaut.vers_prefet)"),
    "report": N_("target of {reservataire} at bailleur {bailleur} changed by {logements} dwellings/year "
                 "(carry-over of report.csv): {avant} → {apres}"),
}
#: What a checked reason does to its pair's share (params ``sens``).
DIRECTIONS = {"retient": N_("holds the share below its target"), "pousse": N_("pushes the share above its target")}
#: What the counterfactual solve of each relaxation kind (params ``relachement``) gave.
COUNTERFACTUALS = {
    "plafond": N_("with this cap at {relache}, the share would be {contrefactuel} dwellings/year instead of {actuel}"),
    "capacite": N_("with {relache} more dwellings/year of flux in this segment, the share would be {contrefactuel} "
                   "dwellings/year instead of {actuel}"),
    "equilibre_qpv": N_("with the QPV mix within ±{relache} points, the share would be {contrefactuel} "
                        "dwellings/year instead of {actuel}"),
    "prefet_uniforme": N_("with a rate free in each segment (within the QPV balance), the share would be "
                          "{contrefactuel} dwellings/year "
                          "instead of {actuel}"),
    "cil_hors_qpv": N_("without this target, the share would be {contrefactuel} dwellings/year instead of {actuel}"),
    "cil_qpv": N_("without this target, the share would be {contrefactuel} dwellings/year instead of {actuel}"),
    "accord": N_("without this agreement, the share would be {contrefactuel} dwellings/year instead of {actuel}"),
}
#: Each relaxation kind in a few words (the workbook's and the report's sensitivity tables).
RELAXATIONS = {
    "plafond": N_("cap raised to {relache}"),
    "capacite": N_("{relache} more dwellings/year of flux in the segment"),
    "equilibre_qpv": N_("QPV mix within ±{relache} points"),
    "prefet_uniforme": N_("rate free in each segment"),
    "cil_hors_qpv": N_("target removed"),
    "cil_qpv": N_("target removed"),
    "accord": N_("agreement removed"),
}
#: The columns of ``sensibilite.csv`` (docs/resultats.md).
SENSITIVITY_COLUMNS = ["bailleur", "reservataire", "cible", "logements", "sens", "raison", "contrainte",
                       "relachement", "valeur_relachee", "logements_relaches", "libelle", "texte"]
#: The réservataire types in words, for a holder without a name.
TYPE_LABELS = {
    "prefet": N_("the préfet"), "prefet_agents": N_("the préfet (State employees)"),
    "action_logement": N_("Action Logement"), "commune": N_("a commune"), "epci": N_("an EPCI"),
    "departement": N_("the département"), "region": N_("the région"), "autre": N_("another réservataire"),
}
#: Parameters shown as a percentage, as a number of dwellings.
_RATES = {"taux"}
_NUMBERS = {"logements", "q1", "avant", "apres", "actuel", "contrefactuel"}


@dataclass(frozen=True)
class Reason:
    """A reason with a stable ``code`` (a key of :data:`TEMPLATES`) and its ``params``, for programs;
    ``text`` is its sentence in the current language, for people."""

    code: str
    params: dict[str, Any]

    @property
    def label(self) -> str:
        """The constraint in words (without the counterfactual of a checked reason)."""
        return _(TEMPLATES[self.code]).format(**self._shown())

    @property
    def text(self) -> str:
        """The reason in words; for a checked one, its direction and counterfactual share too."""
        p = self.params
        if "sens" in p and "contrefactuel" in p:
            shown = {**self._shown(), "relache": self.relaxed_text}
            return _("{reason} — {direction}: {counterfactual}").format(
                reason=self.label, direction=_(DIRECTIONS[p["sens"]]),
                counterfactual=_(COUNTERFACTUALS[p["relachement"]]).format(**shown))
        return self.label

    @property
    def relaxation(self) -> str:
        """What was relaxed, in words ('' for a reason that was not checked)."""
        kind = self.params.get("relachement")
        return _(RELAXATIONS[kind]).format(relache=self.relaxed_text) if kind in RELAXATIONS else ""

    def _shown(self) -> dict[str, Any]:
        p = self.params
        shown = {k: (f"{100 * v:g} %" if k in _RATES else number(v) if k in _NUMBERS else v) for k, v in p.items()}
        if "reservataire" in p:
            name = p.get("nom") or ""
            shown["qui"] = f"{name} ({p['reservataire']})" if name and name != p["reservataire"] else \
                f"{_(TYPE_LABELS.get(p.get('type', ''), N_('réservataire')))} {p['reservataire']}"
        if "commune" in p:
            shown["ou"] = _("bailleur {bailleur}, commune {commune}, {qpv}").format(
                bailleur=p.get("bailleur", ""), commune=p["commune"], qpv=_("in QPV") if p.get("qpv") else _("outside QPV"))
        if "points" in p:
            shown["points"] = f"{100 * p['points']:g}"
        if "type" in p:
            shown["type"] = p["type"]
        return shown

    @property
    def relaxed_text(self) -> str:
        """The relaxed value of a checked reason, in words ('' when the constraint is removed)."""
        kind, value = self.params.get("relachement"), self.params.get("relache")
        if value is None:
            return ""
        if kind == "plafond":
            return f"{100 * value:g} %"
        if kind == "equilibre_qpv":
            return f"{100 * value:g}"
        return number(value)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "params": dict(self.params), "text": self.text}

    def __str__(self) -> str:
        return self.text


@dataclass
class PairExplanation:
    """A pair whose share differs from its target, and the reasons found."""

    bailleur: str
    reservataire: str
    cible: float
    logements: float
    reasons: list[Reason]

    @property
    def ecart(self) -> float:
        return self.logements - self.cible

    @property
    def sens(self) -> str:
        """``retient`` (the share is below its target) or ``pousse`` (above)."""
        return "retient" if self.ecart < 0 else "pousse"


@dataclass
class ShortfallExplanation:
    """A CIL target not reached (``objectif``: the target as a reason), and what limits it."""

    epci: str
    objectif: Reason
    requis: float
    atteint: float
    reasons: list[Reason]


@dataclass
class Explanation:
    """Everything there is to explain about a solve."""

    instance: str
    status: str
    pairs: list[PairExplanation] = field(default_factory=list)
    shortfalls: list[ShortfallExplanation] = field(default_factory=list)
    infeasible: list[Reason] | None = None
    #: The targets moved from equivalence before the solve (SPEC §4, targets version 2).
    moved: list[Reason] = field(default_factory=list)
    #: Whether the pairs' reasons were checked by counterfactual solves (else none is given).
    checked: bool = True
    #: Whether they were asked for (``checked`` is False, although asked, for a result cut short).
    requested: bool = True
    #: Counterfactual solves that the deadline cut short: the reasons they would check are not given.
    unfinished: int = 0
    #: How many counterfactual solves ran, and their wall-clock seconds.
    solves: int = 0
    seconds: float = 0.0
    #: Per relaxation kind: the counterfactual solves and the seconds they took (in their process).
    solve_seconds: dict[str, list[float]] = field(default_factory=dict)

    def sensitivity(self) -> pd.DataFrame:
        """One row per departing pair and checked reason (``sensibilite.csv``, columns
        :data:`SENSITIVITY_COLUMNS`): what binds, and the share once it is relaxed."""
        rows = []
        for p in self.pairs:
            for r in p.reasons:
                q = r.params
                rows.append({"bailleur": p.bailleur, "reservataire": p.reservataire, "cible": round(p.cible, 6),
                             "logements": round(p.logements, 6), "sens": p.sens, "raison": r.code,
                             "contrainte": q.get("contrainte", ""), "relachement": q.get("relachement", ""),
                             "valeur_relachee": q.get("relache"), "logements_relaches": q.get("contrefactuel"),
                             "libelle": r.label, "texte": r.text})
        return pd.DataFrame(rows, columns=SENSITIVITY_COLUMNS)

    @property
    def unchecked_note(self) -> str:
        """Why a departure has no reason, in a few words (the workbook's cell)."""
        if self.checked:
            return _("departs from its target; its reasons were not checked before the time limit")
        if self.requested:
            return _("departs from its target; reasons not checked (the solve was cut short)")
        return _("departs from its target; reasons not computed (fluxopt solve --sensibilite)")

    def is_empty(self) -> bool:
        """True when no target moved, the proposal equals the targets and every CIL target is met."""
        return not self.moved and not self.pairs and not self.shortfalls and self.infeasible is None

    def to_markdown(self, langue: str | None = None) -> str:
        """The explanation as a Markdown document (``explication.md``), in ``langue`` (default: the current one)."""
        with using(langue):
            return self._markdown()

    def _markdown(self) -> str:
        lines = [_("# Explanation of the proposal: {instance}").format(instance=self.instance), ""]
        if self.moved:
            lines += [_("## Targets moved from equivalence"), "",
                      _("Before the solve, these targets were changed from the stock equivalence by the policy "
                        "(prefet.cible, defaut.vers_prefet) or by the carry-over of report.csv:"), ""]
            lines += [f"- {m.text}" for m in self.moved] + [""]
        if self.infeasible is not None:
            lines += [
                _("No proposal meets every hard constraint (strict CIL targets, agreements, caps, capacity)."),
                _("These constraints together are impossible; dropping or relaxing any one of them"),
                _("removes this conflict (an irreducible infeasible subset, computed by HiGHS):"), "",
            ]
            lines += [f"- {row.text}" for row in self.infeasible] or [_("- (HiGHS found no subset)")]
            return "\n".join(lines) + "\n"
        if not self.pairs and not self.shortfalls:
            lines.append(_("Every share equals its target, as moved above, and every CIL target is met: nothing departs.")
                         if self.moved else
                         _("Every share equals its equivalent target and every CIL target is met: nothing departs."))
            return "\n".join(lines) + "\n"
        if self.pairs:
            lines += [_("## Departures from equivalence"), ""]
            if self.checked:
                lines += [_("Each reason was checked by solving again with that one constraint relaxed "
                            "(models/FORMULATION.md): it is given only when the share then moves towards "
                            "its target."), ""]
                if self.unfinished:
                    lines += [_("The time limit ended {n} of the {total} counterfactual solves: the reasons "
                                "they would have checked are not given.").format(n=self.unfinished,
                                                                                  total=self.solves), ""]
            elif self.requested:
                lines += [_("The reasons were not checked: the solve was cut short (status {status}), and its "
                            "point is no optimum to compare counterfactual solves with.").format(status=self.status),
                          ""]
            else:
                lines += [_("The reasons were not computed (they take one more solve per constraint): "
                            "run fluxopt explain, or fluxopt solve --sensibilite."), ""]
            for p in self.pairs:
                template = _("- **{reservataire} at {bailleur}**: {logements} dwellings/year instead of {cible} "
                             "({ecart}, {relatif} %), above its target") if p.ecart > 0 else \
                    _("- **{reservataire} at {bailleur}**: {logements} dwellings/year instead of {cible} "
                      "({ecart}, {relatif} %), below its target")
                sign = "+" if p.ecart > 0 else "−"
                lines.append(template.format(
                    reservataire=p.reservataire, bailleur=p.bailleur, logements=number(p.logements),
                    cible=number(p.cible), ecart=sign + number(abs(p.ecart)),
                    relatif=sign + number(abs(100 * p.ecart / p.cible), 1)))
                lines += [f"  - {r.text}" for r in p.reasons]
            lines.append("")
        if self.shortfalls:
            lines += [_("## CIL targets not reached"), ""]
            for s in self.shortfalls:
                lines.append(_("- **{objectif}**: {atteint} of the {requis} required attributions "
                               "(shortfall {deficit}); limited by:").format(
                    objectif=s.objectif.text, atteint=number(s.atteint), requis=number(s.requis),
                    deficit=number(s.requis - s.atteint)))
                lines += [f"  - {r.text}" for r in s.reasons]
            lines.append("")
        return "\n".join(lines)


class _Namer:
    """The model's rows as reasons (codes and parameters)."""

    def __init__(self, base: Baseline, policy: Policy):
        self.base = base
        self.policy = policy.values
        res = base.reservataires.set_index("reservataire")
        self.types = res["type"].to_dict()
        self.names = res["nom"].to_dict()
        self.cil = base.cil.set_index("epci")

    def holder(self, r: str) -> dict[str, Any]:
        return {"reservataire": r, "nom": str(self.names.get(r) or ""), "type": self.types.get(r, "")}

    @staticmethod
    def segment(b: str, c: str, q: str) -> dict[str, Any]:
        return {"bailleur": b, "commune": c, "qpv": q == "qpv"}

    def cap(self, k: str, b: str, bound: float | None = None) -> Reason:
        rate = self.policy.get(f"plafonds.{k}")
        params: dict[str, Any] = {"bailleur": b, "taux": rate, "logements": bound}
        if k in ("prefet", "prefet_agents"):
            return Reason(f"plafond_{k}", params)
        return Reason("plafond_type", {**params, "type": k})

    def cil_target(self, e: str, where: str) -> Reason:
        if where == "hors_qpv":
            return Reason("cil_hors_qpv", {"epci": e, "taux": float(self.cil.at[e, "alpha"])})
        return Reason("cil_qpv", {"epci": e, "taux": float(self.cil.at[e, "beta"])})

    def row(self, name: str, index: tuple, upper: float) -> Reason | None:
        """A constraint row as a reason (``upper``: its upper bound); None for rows that only define objectives."""
        if name == "plafond":
            return self.cap(index[0], index[1], upper)
        if name == "capacite":
            return Reason("capacite", {**self.segment(*index), "logements": upper})
        if name == "prefet_uniforme":
            return Reason("prefet_uniforme", {**self.holder(index[0]), "bailleur": index[1]})
        if name in ("equilibre_qpv_min", "equilibre_qpv_max"):
            b, r = index
            return Reason("equilibre_qpv", {**self.holder(r), "bailleur": b,
                                            "points": self.policy.get("equilibre.tolerance_qpv", 0)})
        if name in ("q1_min", "q1_max"):
            r, seg = index[0], index[1:]
            lo, hi = self.base.q1[r]
            return Reason("part_q1_min" if name == "q1_min" else "part_q1_max",
                          {**self.holder(r), **self.segment(*seg), "taux": lo if name == "q1_min" else hi})
        if name in ("q1_min_bailleur", "q1_max_bailleur"):
            lo, hi = self.base.q1_bailleur[index[0]]
            low = name == "q1_min_bailleur"
            return Reason("part_q1_min_bailleur" if low else "part_q1_max_bailleur",
                          {**self.segment(*index), "taux": lo if low else hi})
        if name == "cil_hors_qpv":
            return self.cil_target(index[0], "hors_qpv")
        if name == "cil_qpv":
            return self.cil_target(index[0], "qpv")
        if name == "def_X":
            return Reason("definition_part", {**self.holder(index[1]), "bailleur": index[0]})
        if name == "fixe" and index[0] in ("ecart_cil", "ecart_max", "ecart_total"):
            return Reason(f"etape_{index[0]}", {})
        return None


@dataclass(frozen=True)
class Counterfactuals:
    """How to run the counterfactual solves: ``jobs`` processes, ``warm`` starts, ending by ``deadline``."""

    jobs: int = 1
    warm: bool = True
    deadline: float | None = None


def _index(index: Any) -> tuple:
    return index if isinstance(index, tuple) else (index,)


@dataclass
class _RowState:
    """The rows of one block at the LP's solution: index, upper bound, whether each binds."""

    index: list[Any]
    position: np.ndarray
    upper: np.ndarray
    binding: np.ndarray


def _rows(lp: LinearProgram, name: str, values: np.ndarray, fixed: Mapping[str, float],
          activity: np.ndarray) -> _RowState:
    """The block's rows, or the fixing rows for ``fixe``, with their position among the rows and
    their slack at the solution ``values``."""
    if name == "fixe":
        index: list[Any] = list(fixed)
        position = lp.num_row + np.arange(len(index))
        body = np.array([lp.objective(k, values) for k in index], dtype=float)
        lower, upper = np.full(len(index), -np.inf), np.array([fixed[k] for k in index], dtype=float)
    else:
        block = lp.rows[name]
        index = list(block.index)
        position = np.arange(block.start, block.stop)
        body, lower, upper = activity[block.span], lp.row_lower[block.span], lp.row_upper[block.span]
        if name == "capacite":  # sum of x + own = F: read as sum of x <= F, its slack the own share
            at = {k: i for i, k in enumerate(lp.segments)}
            body = upper - lp.own(values)[[at[k] for k in index]]
            lower = np.full(len(index), -np.inf)
    bound = np.where(np.isfinite(upper), upper, np.where(np.isfinite(lower), lower, 1.0))
    with np.errstate(invalid="ignore"):
        slack = np.minimum(body - lower, upper - body)
    return _RowState(index, position, upper, slack <= BINDING_TOL * np.maximum(1.0, np.abs(bound)))


def _touches(name: str, index: tuple, pair: tuple[str, str], members: set, epcis: set, priced: bool) -> bool:
    """Whether row (name, index) may move pair (b, r): the caps at its bailleur and the uniform
    rates there (they move the other holders' shares of the same flux; another pair's uniform
    rate, an equality that always binds, only when it is ``priced`` in a deviation stage), its
    capacities, QPV balance and CIL targets."""
    b, r = pair
    if name == "plafond":
        return index[1] == b
    if name == "capacite":
        return index in members
    if name in ("equilibre_qpv_min", "equilibre_qpv_max"):
        return index == (b, r)
    if name == "prefet_uniforme":
        return index[1] == b and (index[0] == r or priced)
    return name in ("cil_hors_qpv", "cil_qpv") and index[0] in epcis


_REASON_ROWS = ("plafond", "capacite", "equilibre_qpv_min", "equilibre_qpv_max", "prefet_uniforme",
                "cil_hors_qpv", "cil_qpv")


def _relaxation(name: str, index: tuple) -> Relaxation:
    """The relaxation that checks a candidate row."""
    from fluxopt.counterfactuals import Relaxation

    if name in ("equilibre_qpv_min", "equilibre_qpv_max"):
        return Relaxation("equilibre_qpv", index)
    if name == "prefet_uniforme":
        return Relaxation(name, index[:2])
    if name == "capacite":
        return Relaxation(name, index)
    return Relaxation(name, index if name == "plafond" else index[:1])


def _candidates(result: Result, values: np.ndarray, departing: list[tuple[str, str]]
                ) -> dict[tuple[str, str], list[tuple[Relaxation, float]]]:
    """For each departing pair (b, r), the relaxations to try: the rows of :data:`_REASON_ROWS`
    that involve it and bind at the solution or are priced in a deviation stage, and the other
    agreements at its bailleur; each with the row's upper bound (for the reason's text)."""
    from fluxopt.counterfactuals import Relaxation

    lp, base, fixed = result.lp, result.baseline, result.solution.fixed
    # The largest |dual| of each row (the LP's, then the fixing rows) over the deviation stages.
    duals = np.zeros(lp.num_row + len(fixed))
    for stage in result.stages:
        if stage.name in DEVIATION_STAGES and stage.duals is not None:
            n = len(stage.duals)
            duals[:n] = np.maximum(duals[:n], np.abs(stage.duals))
    activity = lp.activity(values)
    rows = []
    for comp_name in _REASON_ROWS:
        block = _rows(lp, comp_name, values, fixed, activity)
        # A nonzero dual in a deviation stage means the row binds at that stage's optimum,
        # even if the later stages moved within their tolerance. The capacity row (sum of x + own
        # = F) is an equality whose dual also carries the price of own in the bailleur's Q1 rows:
        # it counts only where the segment is full (own = 0).
        priced = (duals[block.position] > DUAL_TOL) & (block.binding if comp_name == "capacite" else True)
        for index, upper, binding, price in zip(block.index, block.upper.tolist(), block.binding.tolist(),
                                                priced.tolist()):
            if price or binding:
                rows.append((comp_name, _index(index), upper, price))
    shares = result.shares
    agreed = shares[shares["accord"].astype(bool)]
    epci_of = base.segments["epci"].to_dict()
    cil_epcis = set(base.cil["epci"])
    out: dict[tuple[str, str], list[tuple[Relaxation, float]]] = {}
    for b, r in departing:
        members = set(base.members[(b, r)])
        epcis = {epci_of[s] for s in members} & cil_epcis
        found = {_relaxation(n, i): u for n, i, u, price in rows if _touches(n, i, (b, r), members, epcis, price)}
        for a in agreed.itertuples(index=False):
            if a.bailleur == b and a.reservataire != r:
                found[Relaxation("accord", (b, a.reservataire))] = float(a.logements)
        out[(b, r)] = sorted(found.items(), key=lambda item: repr(item[0]))
    return out


def _constraint_name(relaxation: Relaxation) -> str:
    """``plafond[prefet,B1]``: the relaxed constraint's stable name (kind and index)."""
    index = relaxation.index
    return relaxation.kind + index_name(index[0] if len(index) == 1 else index)


def _checked_reason(namer: _Namer, relaxation: Relaxation, upper: float) -> Reason:
    """The reason a relaxation checks, without its counterfactual yet."""
    kind, index = relaxation.kind, relaxation.index
    if kind == "equilibre_qpv":
        return namer.row("equilibre_qpv_max", index, upper)  # type: ignore[return-value]
    if kind == "prefet_uniforme":
        return Reason("prefet_uniforme", {**namer.holder(str(index[0])), "bailleur": index[1]})
    if kind == "accord":
        return Reason("accord_voisin", {**namer.holder(str(index[1])), "bailleur": index[0], "logements": upper})
    return namer.row(kind, index, upper)  # type: ignore[return-value]


def _pair_reasons(result: Result, values: np.ndarray, namer: _Namer, counterfactuals: Counterfactuals | None
                  ) -> tuple[list[PairExplanation], dict[Relaxation, Outcome], float]:
    """The departing pairs, with the reasons that their counterfactual solve confirms (none when
    ``counterfactuals`` is None), the counterfactual solves and their wall seconds."""
    out: list[PairExplanation] = []
    departing = []
    for p in result.shares.itertuples(index=False):
        if abs(p.ecart) <= DEVIATION_TOL * max(1.0, p.cible):
            continue
        pair = PairExplanation(p.bailleur, p.reservataire, float(p.cible), float(p.logements), [])
        out.append(pair)
        if p.accord:
            pair.reasons = [Reason("accord", {**namer.holder(p.reservataire), "bailleur": p.bailleur,
                                              "logements": float(p.logements), "sens": pair.sens})]
        else:
            departing.append((p.bailleur, p.reservataire))
    if counterfactuals is None:
        return out, {}, 0.0
    from fluxopt.counterfactuals import solve_relaxations

    candidates = _candidates(result, values, departing)
    t0 = time.perf_counter()
    outcomes = solve_relaxations(result.lp, result.baseline, result.policy, (r for c in candidates.values() for r, _u in c),
                                 jobs=counterfactuals.jobs, warm=counterfactuals.warm,
                                 solver=result.summary.options.solver, deadline=counterfactuals.deadline,
                                 bases=[s.basis for s in result.stages if s.basis is not None] or None)
    seconds = time.perf_counter() - t0
    for pair in out:
        if (pair.bailleur, pair.reservataire) not in candidates:
            continue
        moves = []
        unfinished = False
        for relaxation, upper in candidates[(pair.bailleur, pair.reservataire)]:
            now = outcomes[relaxation].share((pair.bailleur, pair.reservataire))
            if now is None:
                unfinished |= outcomes[relaxation].termination is Termination.TIME_LIMIT
                continue
            toward = (now - pair.logements) * (1.0 if pair.ecart < 0 else -1.0)
            if toward > MOVE_TOL * max(1.0, pair.cible):
                reason = _checked_reason(namer, relaxation, upper)
                params = {**reason.params, "sens": pair.sens, "relachement": relaxation.kind,
                          "contrainte": _constraint_name(relaxation), "relache": outcomes[relaxation].relaxed,
                          "actuel": pair.logements, "contrefactuel": round(now, 6)}
                moves.append((-toward, Reason(reason.code, params)))
        moves.sort(key=lambda m: (m[0], m[1].code, repr(sorted(m[1].params.items()))))
        # No confirmed reason: the stages' trade-offs, unless a solve that might confirm one was cut short.
        pair.reasons = _unique([m[1] for m in moves]) or ([] if unfinished else [Reason("arbitrage", {"sens": pair.sens})])
    return out, outcomes, seconds


def _shortfall_reasons(result: Result, values: np.ndarray, namer: _Namer) -> list[ShortfallExplanation]:
    lp, base = result.lp, result.baseline
    seg = base.segments
    x = values[lp.columns["x"].span]
    q = np.where(lp.q_of_x >= 0, values[lp.q_of_x], 0.0)
    own = lp.own(values)
    caps = _rows(lp, "plafond", values, result.solution.fixed, lp.activity(values))
    out = []
    for _i, c in result.cil[result.cil["deficit"] > BINDING_TOL].iterrows():
        e, where = c["epci"], ("hors_qpv" if c["objectif"] == "q1_hors_qpv" else "qpv")
        in_e = ((seg["epci"] == e) & (seg["qpv"] == (where == "qpv"))).to_numpy()
        on = in_e[lp.x_seg]
        held: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        x_keys = [k for k, i in zip(lp.columns["x"].index, on.tolist()) if i]
        for key, x_k, q_k in zip(x_keys, x[on].tolist(), q[on].tolist()):
            holder = _index(key)[0]
            held[holder][0] += x_k
            held[holder][1] += q_k
        reasons: list[Reason] = []
        side = "max" if where == "hors_qpv" else "min"
        for r, (x_r, q1) in sorted(held.items()):
            if x_r <= BINDING_TOL:
                continue
            lo, hi = base.q1[r]
            reasons.append(Reason(f"q1_reservataire_{side}", {**namer.holder(r), "taux": hi if side == "max" else lo,
                                                              "q1": q1, "logements": x_r}))
        for b in sorted(set(seg.loc[in_e, "bailleur"])):
            mine = in_e & (seg["bailleur"] == b).to_numpy()
            o = sum(values[lp.o_of_seg[mine]].tolist())
            lo, hi = base.q1_bailleur[b]
            reasons.append(Reason(f"q1_bailleur_{side}", {"bailleur": b, "taux": hi if side == "max" else lo,
                                                          "q1": o, "logements": sum(own[mine].tolist())}))
            for k, upper, binding in zip(caps.index, caps.upper.tolist(), caps.binding.tolist()):
                if where == "hors_qpv" and k[1] == b and binding:
                    reasons.append(namer.cap(k[0], k[1], upper))
        ordre = list(result.policy.ordre)
        before = ordre[: ordre.index("ecart_cil")] if "ecart_cil" in ordre else []
        if before:
            reasons.append(Reason("etapes_avant_cil", {"etapes": ", ".join(before)}))
        out.append(ShortfallExplanation(e, namer.cil_target(e, where), float(c["requis"]), float(c["atteint"]),
                                        reasons))
    return out


def _unique(reasons: list[Reason]) -> list[Reason]:
    """The reasons without repeats (same code and parameters), in their order."""
    seen: dict[str, Reason] = {}
    for r in reasons:
        seen.setdefault(f"{r.code}{sorted(r.params.items())}", r)
    return list(seen.values())


def infeasible_subset(result: Result, stage: str) -> list[Reason]:
    """An irreducible infeasible subset of the LP with ``stage``'s objective and the fixing rows
    of the stages before it, each row in domain words (computed by HiGHS)."""
    lp = result.lp
    namer = _Namer(result.baseline, result.policy)
    fixed = dict(result.solution.fixed)
    iis = highs_iis(lp, fixed, stage)
    upper = [*lp.row_upper.tolist(), *fixed.values()]
    reasons: list[Reason] = []
    for i in iis.rows:
        name, index = lp.row_of(i, list(fixed))
        if name in DEFINITIONS:
            continue
        reason = namer.row(name, _index(index), upper[i])
        reasons.append(reason if reason is not None else Reason("ligne", {"ligne": f"{name}{index_name(index)}"}))
    for j in iis.columns:
        name, index = lp.column_of(j)
        if name == "X" and lp.col_lower[j] == lp.col_upper[j]:  # an agreed share (else X >= 0 only)
            b, r = _index(index)
            reasons.append(Reason("accord_infaisable", {**namer.holder(r), "bailleur": b,
                                                        "logements": float(lp.col_lower[j])}))
        if name in ("d1", "d2"):
            reasons.append(Reason("cil_strict_hors_qpv" if name == "d1" else "cil_strict_qpv", {"epci": index}))
    return _unique(reasons)


def explain(result: Result, *, counterfactuals: bool = True, jobs: int = 1, warm: bool = True,
            time_limit: float | None = None, deadline: float | None = None) -> Explanation:
    """The explanation of a solve (solved with ``keep_duals=True``, the duals add candidate reasons;
    with ``keep_bases=True``, the counterfactual solves start from its bases without solving it again).

    Each departing pair's candidate reasons are checked by counterfactual solves
    (:mod:`fluxopt.counterfactuals`, ``jobs`` processes, ``warm`` starts): only those whose
    relaxation moves the share towards its target are given. ``counterfactuals=False`` gives the
    departures without reasons (no solve), as does a result cut short by a time limit. The
    counterfactual solves end at ``deadline`` (a :func:`time.monotonic` instant) or after
    ``time_limit`` seconds, the earlier; those cut short confirm nothing (``unfinished``)."""
    if time_limit is not None:
        end = time.monotonic() + time_limit
        deadline = end if deadline is None else min(deadline, end)
    namer = _Namer(result.baseline, result.policy)
    moved = [Reason(a.regle, {"bailleur": a.bailleur, "reservataire": a.reservataire, "avant": float(a.avant),
                              "apres": float(a.apres), "vers": str(a.vers or ""), "logements": float(a.logements)})
             for a in result.baseline.ajustements.itertuples(index=False)]
    expl = Explanation(result.instance.nom, result.status.value, moved=moved, checked=counterfactuals,
                       requested=counterfactuals)
    values = result.solution.values
    if result.status is Termination.INFEASIBLE and result.stages:
        expl.infeasible = infeasible_subset(result, result.stages[-1].name)
    elif values is not None:
        # A point cut short by a time limit is no optimum to compare the relaxed ones with.
        expl.checked = counterfactuals and result.status is Termination.OPTIMAL
        expl.pairs, outcomes, expl.seconds = _pair_reasons(
            result, values, namer, Counterfactuals(jobs, warm, deadline) if expl.checked else None)
        expl.solves = len(outcomes)
        expl.unfinished = sum(o.termination is Termination.TIME_LIMIT for o in outcomes.values())
        for relaxation, outcome in outcomes.items():
            expl.solve_seconds.setdefault(relaxation.kind, []).append(outcome.seconds)
        expl.shortfalls = _shortfall_reasons(result, values, namer)
    return expl
