"""Why a proposal departs from equivalence, in domain words (pure functions over a Result).

Three parts: for each pair whose share differs from its target, the constraints that bind
(binding rows of the LP, weighted by their duals in the stages that fix the deviations);
for each CIL shortfall, what limits the Q1 designations; for an infeasible strict instance,
an irreducible infeasible subset (IIS) of the first-stage LP computed by HiGHS. Everything is
read from the array LP (:mod:`fluxopt.lp`) and the result's solution.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from fluxopt.flux import Baseline
from fluxopt.lp import LinearProgram, cap_types, index_name
from fluxopt.policy import Policy
from fluxopt.result import Result
from fluxopt.solution import Termination
from fluxopt.solvers.highs import infeasible_subset as highs_iis

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
#: Stages whose optimum fixes the deviations from equivalence.
DEVIATION_STAGES = ("ecart_max", "ecart_total")

TYPE_LABELS = {
    "prefet": "the préfet", "prefet_agents": "the préfet (State employees)",
    "action_logement": "Action Logement", "commune": "a commune", "epci": "an EPCI",
    "departement": "the département", "region": "the région", "autre": "another réservataire",
}
CAP_LABELS = {"prefet": "the préfet (with its agents)", "prefet_agents": "the préfet's State employees"}


@dataclass
class PairExplanation:
    """A pair whose share differs from its target, and the reasons found."""

    bailleur: str
    reservataire: str
    cible: float
    logements: float
    reasons: list[str]

    @property
    def ecart(self) -> float:
        return self.logements - self.cible


@dataclass
class ShortfallExplanation:
    """A CIL target not reached, and what limits it."""

    epci: str
    objectif: str
    requis: float
    atteint: float
    reasons: list[str]


@dataclass
class Explanation:
    """Everything there is to explain about a solve."""

    instance: str
    status: str
    pairs: list[PairExplanation] = field(default_factory=list)
    shortfalls: list[ShortfallExplanation] = field(default_factory=list)
    infeasible: list[str] | None = None
    #: The targets moved from equivalence before the solve (SPEC §4, targets version 2), in words.
    moved: list[str] = field(default_factory=list)

    def is_empty(self) -> bool:
        """True when no target moved, the proposal equals the targets and every CIL target is met."""
        return not self.moved and not self.pairs and not self.shortfalls and self.infeasible is None

    def to_markdown(self) -> str:
        """The explanation as a Markdown document (``explication.md``)."""
        lines = [f"# Explanation of the proposal: {self.instance}", ""]
        if self.moved:
            lines += ["## Targets moved from equivalence", "",
                      "Before the solve, these targets were changed from the stock equivalence by the policy "
                      "(prefet.cible, defaut.vers_prefet) or by the carry-over of report.csv:", ""]
            lines += [f"- {m}" for m in self.moved] + [""]
        if self.infeasible is not None:
            lines += [
                "No proposal meets every hard constraint (strict CIL targets, agreements, caps, capacity).",
                "These constraints together are impossible; dropping or relaxing any one of them",
                "removes this conflict (an irreducible infeasible subset, computed by HiGHS):", "",
            ]
            lines += [f"- {row}" for row in self.infeasible] or ["- (HiGHS found no subset)"]
            return "\n".join(lines) + "\n"
        if not self.pairs and not self.shortfalls:
            target = "its target, as moved above," if self.moved else "its equivalent target"
            lines.append(f"Every share equals {target} and every CIL target is met: nothing departs.")
            return "\n".join(lines) + "\n"
        if self.pairs:
            lines += ["## Departures from equivalence", ""]
            for p in self.pairs:
                way = "above" if p.ecart > 0 else "below"
                lines.append(
                    f"- **{p.reservataire} at {p.bailleur}**: {p.logements:.2f} dwellings/year instead of "
                    f"{p.cible:.2f} ({p.ecart:+.2f}, {100 * p.ecart / p.cible:+.1f} %), {way} its target because of:"
                )
                lines += [f"  - {r}" for r in p.reasons]
            lines.append("")
        if self.shortfalls:
            lines += ["## CIL targets not reached", ""]
            for s in self.shortfalls:
                lines.append(f"- **{s.objectif}**: {s.atteint:.2f} of the {s.requis:.2f} "
                             f"required attributions (shortfall {s.requis - s.atteint:.2f}); limited by:")
                lines += [f"  - {r}" for r in s.reasons]
            lines.append("")
        return "\n".join(lines)


class _Namer:
    """Names of the model's rows in domain words."""

    def __init__(self, base: Baseline, policy: Policy):
        self.base = base
        self.policy = policy.values
        res = base.reservataires.set_index("reservataire")
        self.types = res["type"].to_dict()
        self.names = res["nom"].to_dict()
        self.cil = base.cil.set_index("epci")

    def holder(self, r: str) -> str:
        name = self.names.get(r) or ""
        return f"{name} ({r})" if name and name != r else f"{TYPE_LABELS.get(self.types.get(r, ''), 'réservataire')} {r}"

    @staticmethod
    def segment(b: str, c: str, q: str) -> str:
        return f"bailleur {b}, commune {c}, {'in QPV' if q == 'qpv' else 'outside QPV'}"

    def cap(self, k: str, b: str, bound: float | None = None) -> str:
        rate = self.policy.get(f"plafonds.{k}")
        label = CAP_LABELS.get(k, f"type {k}")
        text = f"cap of {label} at bailleur {b}: {100 * rate:g} % of its flux" if rate is not None else \
            f"cap of {label} at bailleur {b}"
        return text + (f" ({bound:.2f} dwellings/year)" if bound is not None else "")

    def cil_target(self, e: str, where: str) -> str:
        if where == "hors_qpv":
            return f"CIL target outside QPV in EPCI {e}: {100 * self.cil.at[e, 'alpha']:g} % of attributions to Q1 households"
        return f"CIL target in QPV in EPCI {e}: {100 * self.cil.at[e, 'beta']:g} % of attributions to other quartiles"

    def row(self, name: str, index: tuple, upper: float) -> str | None:
        """A constraint row in words (``upper``: its upper bound); None for rows that only define objectives."""
        if name == "plafond":
            return self.cap(index[0], index[1], upper)
        if name == "capacite":
            return f"capacity of the segment {self.segment(*index)}: {upper:.2f} dwellings/year of flux"
        if name == "prefet_uniforme":
            r, b = index[0], index[1]
            return f"uniform rate of {self.holder(r)} in every segment of bailleur {b} (prefet.uniforme)"
        if name in ("equilibre_qpv_min", "equilibre_qpv_max"):
            b, r = index
            tol = 100 * self.policy.get("equilibre.tolerance_qpv", 0)
            return f"QPV balance of the share of {self.holder(r)} at bailleur {b} (QPV mix within ±{tol:g} points)"
        if name in ("q1_min", "q1_max"):
            r, seg = index[0], index[1:]
            lo, hi = self.base.q1[r]
            bound = f"at least {100 * lo:g} %" if name == "q1_min" else f"at most {100 * hi:g} %"
            return f"Q1 share of {self.holder(r)} {bound} ({self.segment(*seg)})"
        if name in ("q1_min_bailleur", "q1_max_bailleur"):
            lo, hi = self.base.q1_bailleur[index[0]]
            bound = f"at least {100 * lo:g} %" if name == "q1_min_bailleur" else f"at most {100 * hi:g} %"
            return f"Q1 share of bailleur {index[0]} on its own share {bound} ({self.segment(*index)})"
        if name == "cil_hors_qpv":
            return self.cil_target(index[0], "hors_qpv")
        if name == "cil_qpv":
            return self.cil_target(index[0], "qpv")
        if name == "fixe":
            return {
                "ecart_cil": "the CIL targets, reached as far as possible first (stage ecart_cil)",
                "ecart_max": "fairness: no pair departs more from its target than the smallest possible "
                             "largest departure (stage ecart_max)",
                "ecart_total": "the smallest total departure from equivalence (stage ecart_total)",
            }.get(index[0])
        return None


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
        body = np.array([np.dot(lp.costs[k], values) for k in index], dtype=float)
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


def _touches(name: str, index: tuple, pair: tuple[str, str], kind: str, members: set, epcis: set) -> bool:
    """Whether row (name, index) involves the variables of pair (b, r) of type ``kind``."""
    b, r = pair
    if name == "plafond":
        return index[1] == b and kind in cap_types(index[0])
    if name == "capacite":
        return index in members
    if name in ("equilibre_qpv_min", "equilibre_qpv_max"):
        return index == (b, r)
    if name == "prefet_uniforme":
        return index[0] == r and index[1] == b
    if name in ("cil_hors_qpv", "cil_qpv"):
        return index[0] in epcis
    return name == "fixe" and index[0] in ("ecart_cil", "ecart_max")


_REASON_ROWS = ("plafond", "capacite", "equilibre_qpv_min", "equilibre_qpv_max", "prefet_uniforme",
                "cil_hors_qpv", "cil_qpv", "fixe")


def _pair_reasons(result: Result, values: np.ndarray, namer: _Namer) -> list[PairExplanation]:
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
        # even if the later stages moved within their tolerance.
        # The capacity row (sum of x + own = F) is an equality whose dual also carries the price of
        # own in the bailleur's Q1 rows: it counts only where the segment is full (own = 0).
        priced_rows = ((duals[block.position] > DUAL_TOL) & (block.binding if comp_name == "capacite" else True)).tolist()
        for index, upper, binding, priced in zip(block.index, block.upper.tolist(), block.binding.tolist(),
                                                 priced_rows):
            if priced or binding:
                rows.append((comp_name, _index(index), upper, priced))
    epci_of = base.segments["epci"].to_dict()
    out = []
    for _, p in result.shares.iterrows():
        if abs(p["ecart"]) <= DEVIATION_TOL * max(1.0, p["cible"]):
            continue
        pair = (p["bailleur"], p["reservataire"])
        if p["accord"]:
            out.append(PairExplanation(pair[0], pair[1], float(p["cible"]), float(p["logements"]),
                                       [f"agreed by the parties (accords): {p['logements']:.2f} dwellings/year"]))
            continue
        members = set(base.members[pair])
        epcis = {epci_of[s] for s in members} & set(namer.cil.index)
        touching = [r for r in rows if _touches(r[0], r[1], pair, p["type"], members, epcis)]
        priced = [r for r in touching if r[3]]
        chosen = priced or [r for r in touching if r[0] not in ("prefet_uniforme", "fixe")]
        reasons = [t for r in chosen if (t := namer.row(r[0], r[1], r[2])) is not None]
        if any(r[0] == "fixe" and r[1][0] == "ecart_cil" for r in chosen):
            reasons += [t for r in touching if r[0] in ("cil_hors_qpv", "cil_qpv") and r not in chosen
                        and (t := namer.row(r[0], r[1], r[2])) is not None]
        out.append(PairExplanation(pair[0], pair[1], float(p["cible"]), float(p["logements"]),
                                   list(dict.fromkeys(reasons)) or ["no single binding constraint; "
                                                                     "the stages' trade-offs between pairs"]))
    return out


def _shortfall_reasons(result: Result, values: np.ndarray, namer: _Namer) -> list[ShortfallExplanation]:
    lp, base = result.lp, result.baseline
    seg = base.segments
    x = values[lp.columns["x"].span]
    q = np.where(lp.q_of_x >= 0, values[lp.q_of_x], 0.0)
    own = lp.own(values)
    caps = _rows(lp, "plafond", values, result.solution.fixed, lp.activity(values))
    out = []
    for _, c in result.cil[result.cil["deficit"] > BINDING_TOL].iterrows():
        e, where = c["epci"], ("hors_qpv" if c["objectif"] == "q1_hors_qpv" else "qpv")
        in_e = ((seg["epci"] == e) & (seg["qpv"] == (where == "qpv"))).to_numpy()
        on = in_e[lp.x_seg]
        held: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        x_keys = [k for k, i in zip(lp.columns["x"].index, on.tolist()) if i]
        for key, x_k, q_k in zip(x_keys, x[on].tolist(), q[on].tolist()):
            holder = _index(key)[0]
            held[holder][0] += x_k
            held[holder][1] += q_k
        reasons = []
        for r, (x_r, q1) in sorted(held.items()):
            if x_r <= BINDING_TOL:
                continue
            lo, hi = base.q1[r]
            bound = f"at most {100 * hi:g} %" if where == "hors_qpv" else f"at least {100 * lo:g} %"
            reasons.append(f"Q1 share of {namer.holder(r)} {bound}: {q1:.2f} Q1 households of its {x_r:.2f} dwellings")
        for b in sorted(set(seg.loc[in_e, "bailleur"])):
            mine = in_e & (seg["bailleur"] == b).to_numpy()
            o = sum(values[lp.o_of_seg[mine]].tolist())
            lo, hi = base.q1_bailleur[b]
            bound = f"at most {100 * hi:g} %" if where == "hors_qpv" else f"at least {100 * lo:g} %"
            reasons.append(f"Q1 share of bailleur {b} on its own share {bound}: {o:.2f} Q1 households of its "
                           f"{sum(own[mine].tolist()):.2f} dwellings")
            for k, upper, binding in zip(caps.index, caps.upper.tolist(), caps.binding.tolist()):
                if where == "hors_qpv" and k[1] == b and binding:
                    reasons.append(namer.cap(k[0], k[1], upper))
        ordre = list(result.policy.ordre)
        before = ordre[: ordre.index("ecart_cil")] if "ecart_cil" in ordre else []
        if before:
            reasons.append(f"the stages solved before the CIL targets: {', '.join(before)}")
        out.append(ShortfallExplanation(e, namer.cil_target(e, where), float(c["requis"]), float(c["atteint"]),
                                        reasons))
    return out


def infeasible_subset(result: Result, stage: str) -> list[str]:
    """An irreducible infeasible subset of the LP with ``stage``'s objective and the fixing rows
    of the stages before it, each row in domain words (computed by HiGHS)."""
    lp = result.lp
    namer = _Namer(result.baseline, result.policy)
    fixed = dict(result.solution.fixed)
    iis = highs_iis(lp, fixed, stage)
    upper = [*lp.row_upper.tolist(), *fixed.values()]
    texts: list[str] = []
    for i in iis.rows:
        name, index = lp.row_of(i, list(fixed))
        if name in DEFINITIONS:
            continue
        text = namer.row(name, _index(index), upper[i])
        texts.append(text if text is not None else f"{name}{index_name(index)}")
    for j in iis.columns:
        name, index = lp.column_of(j)
        if name == "X" and lp.col_lower[j] == lp.col_upper[j]:  # an agreed share (else X >= 0 only)
            b, r = _index(index)
            texts.append(f"the agreement of {namer.holder(r)} at bailleur {b} (accords): "
                         f"{lp.col_lower[j]:.2f} dwellings/year")
        if name in ("d1", "d2"):
            where = "outside QPV" if name == "d1" else "in QPV"
            texts.append(f"strict mode (cil.strict = true): no shortfall allowed on the CIL target {where} "
                         f"in EPCI {index}")
    return list(dict.fromkeys(texts))


def explain(result: Result) -> Explanation:
    """The explanation of a solve (solved with ``keep_duals=True``, the duals sharpen the reasons)."""
    namer = _Namer(result.baseline, result.policy)
    expl = Explanation(result.instance.nom, result.status.value,
                       moved=result.baseline.ajustements["message"].tolist())
    values = result.solution.values
    if result.status is Termination.INFEASIBLE and result.stages:
        expl.infeasible = infeasible_subset(result, result.stages[-1].name)
    elif values is not None:
        expl.pairs = _pair_reasons(result, values, namer)
        expl.shortfalls = _shortfall_reasons(result, values, namer)
    return expl
