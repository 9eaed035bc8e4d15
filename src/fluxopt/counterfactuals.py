"""Counterfactual solves: relax one constraint of the LP, solve the stages again, read every share.

A :class:`Relaxation` names one constraint of SPEC §4 (a cap at one bailleur, a CIL target of
one EPCI, the QPV balance or the uniform rate of one pair, the capacity of one segment, one
agreement); :func:`relax` makes a relaxed copy of the pure :class:`~fluxopt.lp.LinearProgram`
(bounds or the tolerance's coefficients changed; the original is untouched). The exact
relaxations are defined in models/FORMULATION.md ("Counterfactual explanations"); the uniform
préfet rate and an agreement are relaxed by building the LP again with the pair not uniform, or
not agreed, as the policy or an instance without that agreement would.

:func:`solve_relaxations` solves one relaxed LP per relaxation, in a process pool of ``jobs``
workers; each solve depends on its relaxation only, so the outcome does not depend on the job
count. With HiGHS, each stage of a relaxed LP starts from the basis the same stage ended on in
the unrelaxed solve (``warm``): a valid starting point whatever the relaxation, since the rows
and columns are the same (an LP built again has others: it starts cold); statuses at a bound
that the relaxation removed are moved to the other bound.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Hashable, Iterable, Sequence

import numpy as np

from fluxopt.flux import Baseline
from fluxopt.lp import INF, LinearProgram, build_lp
from fluxopt.policy import Policy
from fluxopt.solution import Basis, Termination
from fluxopt.solvers import DEFAULT_SOLVER
from fluxopt.solvers.highs import WarmHighsBackend
from fluxopt.stages import run_stages

#: The relaxations that build the LP again (other columns and rows: no basis fits them).
REBUILT = ("prefet_uniforme", "accord")
#: A cap is raised by this many points of the bailleur's flux.
CAP_STEP = 0.05
#: A segment's flux base is raised by this share of it, and by at least CAPACITY_MIN dwellings.
CAPACITY_STEP = 0.10
CAPACITY_MIN = 1.0
#: The QPV tolerance of a pair is multiplied by this; a tolerance of 0 becomes TOLERANCE_MIN.
TOLERANCE_FACTOR = 2.0
TOLERANCE_MIN = 0.05


@dataclass(frozen=True)
class Relaxation:
    """One constraint to relax: ``kind`` (``plafond``, ``capacite``, ``equilibre_qpv``,
    ``prefet_uniforme``, ``cil_hors_qpv``, ``cil_qpv``, ``accord``) and the index of its rows
    (``plafond``: (cap key, bailleur); ``capacite``: a segment key; ``equilibre_qpv`` and
    ``accord``: (bailleur, réservataire); ``prefet_uniforme``: (réservataire, bailleur);
    ``cil_hors_qpv``/``cil_qpv``: (epci,))."""

    kind: str
    index: tuple[Hashable, ...]


@dataclass(frozen=True)
class Outcome:
    """A relaxed solve: ``relaxed`` the relaxed value (a rate, a tolerance, dwellings; None when the
    constraint is removed), ``shares`` X[b, r] per active pair (None without a solution)."""

    relaxation: Relaxation
    termination: Termination
    relaxed: float | None
    shares: dict[tuple[str, str], float] | None
    seconds: float

    def share(self, pair: tuple[str, str]) -> float | None:
        """X[b, r] of ``pair`` in the relaxed solve (0 for a pair no longer active), None without one."""
        return None if self.shares is None else self.shares.get(pair, 0.0)


def _position(lp: LinearProgram, block: str, key: Hashable) -> int:
    b = lp.rows[block]
    return b.start + list(b.index).index(key)


def _flux_of_bailleur(lp: LinearProgram, bailleur: Hashable) -> float:
    return float(sum(f for s, f in zip(lp.segments, lp.F.tolist()) if s[0] == bailleur))


def relax(lp: LinearProgram, base: Baseline, policy: Policy, relaxation: Relaxation
          ) -> tuple[LinearProgram, float | None]:
    """A copy of ``lp`` (built from ``base`` and ``policy``) with ``relaxation`` applied, and the
    relaxed value (None: removed)."""
    kind, index = relaxation.kind, relaxation.index
    if kind == "plafond":
        key, b = index
        rate = round(policy.plafonds[str(key)] + CAP_STEP, 9)  # 0.25, not 0.25000000000000006
        upper = lp.row_upper.copy()
        upper[_position(lp, "plafond", (key, b))] = rate * _flux_of_bailleur(lp, b)
        return replace(lp, row_upper=upper), rate
    if kind == "capacite":
        i = _position(lp, "capacite", index)
        f = float(lp.row_upper[i])
        more = round(max(CAPACITY_MIN, CAPACITY_STEP * f), 9)
        lower, upper = lp.row_lower.copy(), lp.row_upper.copy()
        lower[i] = upper[i] = f + more
        return replace(lp, row_lower=lower, row_upper=upper), more
    if kind in ("cil_hors_qpv", "cil_qpv"):
        i = _position(lp, kind, index[0])
        lower, upper = lp.row_lower.copy(), lp.row_upper.copy()
        lower[i], upper[i] = -INF, INF
        return replace(lp, row_lower=lower, row_upper=upper), None
    if kind == "prefet_uniforme":  # the pair as if prefet.uniforme were false for it: other columns and rows
        r, b = index
        pairs = base.pairs.copy()
        pairs.loc[(pairs["bailleur"] == b) & (pairs["reservataire"] == r), "uniforme"] = False
        return build_lp(replace(base, pairs=pairs), policy), None
    if kind == "accord":  # as if the pair were not in accords: back in the fairness stages, or inactive
        b, r = index
        pairs = base.pairs.copy()
        at = (pairs["bailleur"] == b) & (pairs["reservataire"] == r)
        pairs.loc[at, "accord"] = False
        pairs.loc[at, "logements_accord"] = np.nan
        pairs.loc[at, "active"] = (pairs.loc[at, "cible"] > 0) & (pairs.loc[at, "flux_base"] > 0)
        return build_lp(replace(base, pairs=pairs), policy), None
    if kind == "equilibre_qpv":
        tol = policy.tolerance_qpv
        wider = round(TOLERANCE_FACTOR * tol, 9) if tol > 0 else TOLERANCE_MIN
        x_col = lp.columns["X"].start + list(lp.columns["X"].index).index(index)
        value = lp.value.copy()
        # max row: x_qpv - (theta + tol) X <= 0; min row: -x_qpv + (theta - tol) X <= 0: in both,
        # X's coefficient goes down by the added tolerance.
        for name in ("equilibre_qpv_max", "equilibre_qpv_min"):
            i = _position(lp, name, index)
            at = lp.start[i] + int(np.flatnonzero(lp.index[lp.start[i]:lp.start[i + 1]] == x_col)[0])
            value[at] -= wider - tol
        return replace(lp, value=value), wider
    raise ValueError(f"unknown relaxation {kind!r}")


def base_bases(lp: LinearProgram, policy: Policy, deadline: float | None = None) -> list[Basis]:
    """The basis HiGHS ends each stage on when solving ``lp`` itself (the warm starts), for a
    result solved without ``keep_bases``; none when ``deadline`` cuts that solve short (the
    relaxed solves then start cold, if at all)."""
    solution = run_stages(lp, policy, deadline=deadline, keep_bases=True)
    bases = [s.basis for s in solution.stages if s.basis is not None]
    return bases if solution.termination is Termination.OPTIMAL else []


#: What a relaxed solve needs: the LP, baseline, policy, warm starts (or None), solver and deadline.
_State = tuple[LinearProgram, Baseline, Policy, list[Basis] | None, str, float | None]
#: A pool worker's state (set once per process by :func:`_start`).
_STATE: _State | None = None


def _start(*state: object) -> None:
    global _STATE
    _STATE = state  # type: ignore[assignment]


def _pair(key: Hashable) -> tuple[str, str]:
    """An X column's index as (bailleur, réservataire)."""
    assert isinstance(key, tuple)
    return str(key[0]), str(key[1])


def _solve(state: _State, relaxation: Relaxation) -> Outcome:
    lp, base, policy, bases, solver, deadline = state
    t0 = time.perf_counter()
    relaxed_lp, relaxed = relax(lp, base, policy, relaxation)
    fits = relaxation.kind not in REBUILT
    backend = WarmHighsBackend(relaxed_lp, bases if fits else None) if solver == DEFAULT_SOLVER else solver
    solution = run_stages(relaxed_lp, policy, solver=backend, deadline=deadline)
    shares = None if solution.values is None or solution.termination is not Termination.OPTIMAL \
        else {_pair(key): x for key, x in zip(relaxed_lp.columns["X"].index, relaxed_lp.X(solution.values).tolist())}
    return Outcome(relaxation, solution.termination, relaxed, shares, time.perf_counter() - t0)


def _solve_in_worker(relaxation: Relaxation) -> Outcome:
    assert _STATE is not None
    return _solve(_STATE, relaxation)


def solve_relaxations(lp: LinearProgram, base: Baseline, policy: Policy, relaxations: Iterable[Relaxation], *,
                      jobs: int = 1, warm: bool = True, solver: str = DEFAULT_SOLVER,
                      deadline: float | None = None, bases: Sequence[Basis] | None = None
                      ) -> dict[Relaxation, Outcome]:
    """Solve each relaxation once (``jobs`` processes; 1: in this process), in a stable order.

    ``warm`` (HiGHS only) starts each stage from the unrelaxed solve's basis of that stage:
    ``bases`` when the caller kept them (``keep_bases``), else found by solving ``lp`` once more.
    ``deadline`` (a :func:`time.monotonic` instant) ends every solve: one cut short has the
    termination ``TIME_LIMIT`` and no shares."""
    todo: Sequence[Relaxation] = sorted(set(relaxations), key=repr)
    if not todo:
        return {}
    warm = warm and solver == DEFAULT_SOLVER and any(r.kind not in REBUILT for r in todo)
    starts = (list(bases) if bases else base_bases(lp, policy, deadline)) if warm else None
    state: _State = (lp, base, policy, starts, solver, deadline)
    if jobs <= 1 or len(todo) == 1:
        outcomes = [_solve(state, r) for r in todo]
    else:  # the process pool is imported only when it is used
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        with ProcessPoolExecutor(min(jobs, len(todo)), mp_context=context, initializer=_start, initargs=state) as pool:
            outcomes = list(pool.map(_solve_in_worker, todo))
    return {o.relaxation: o for o in outcomes}
