"""Solve the stages of SPEC §4 lexicographically on one LP, with any backend."""

from __future__ import annotations

import time

import numpy as np

from fluxopt.lp import SECONDS_PER_NONZERO, LinearProgram
from fluxopt.policy import Policy
from fluxopt.solution import Solution, SolverInfo, StageSolution, Termination
from fluxopt.solvers import DEFAULT_SOLVER, Backend, open_backend


def fixing_bound(optimum: float, tolerance: float) -> float:
    """The bound of a stage's fixing row: v* + tolerance * max(1, |v*|)."""
    return optimum + tolerance * max(1.0, abs(optimum))


def run_stages(
    lp: LinearProgram,
    policy: Policy,
    *,
    solver: str | Backend = DEFAULT_SOLVER,
    time_limit: float | None = None,
    keep_duals: bool = False,
    deadline: float | None = None,
    keep_bases: bool = False,
    slowness: float = 1.0,
) -> Solution:
    """Minimise each stage of ``policy.ordre`` in turn; after each, fix it with a row
    ``objective <= fixing_bound(v*)``. ``time_limit`` covers all stages together.

    The result keeps the last feasible point: after a time limit in a later stage, the point
    the solver had reached (it satisfies every earlier fixing row), else the last solved stage's.
    ``lp`` is not modified. ``deadline`` (a :func:`time.monotonic` value) ends the stages too
    (the earlier of the two): no stage starts after it, nor when the solver could not even start
    before it (predicted from the non-zeros, times ``slowness``: see :class:`~fluxopt.builder.Build`).
    ``keep_duals`` and ``keep_bases`` keep each stage's row duals and final basis (the explanations).
    """
    if time_limit is not None:
        end = time.monotonic() + time_limit
        deadline = end if deadline is None else min(deadline, end)
    nonzeros = len(lp.value) * max(slowness, 1.0)  # scaled: the predictions below are per non-zero
    if deadline is not None and isinstance(solver, str) and \
            time.monotonic() + nonzeros * (SECONDS_PER_NONZERO["load"] + SECONDS_PER_NONZERO["start"]) >= deadline:
        return Solution(Termination.TIME_LIMIT, (), None, {}, SolverInfo(solver, ""))
    backend = open_backend(lp, solver) if isinstance(solver, str) else solver
    stages: list[StageSolution] = []
    fixed: dict[str, float] = {}
    values: np.ndarray | None = None
    termination = Termination.OPTIMAL
    for name in policy.ordre:
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= nonzeros * SECONDS_PER_NONZERO["start"]:
            # the solver would not even start in the time left: the values kept are the last solved stage's
            termination = Termination.TIME_LIMIT
            break
        t0 = time.perf_counter()
        backend.set_objective(name)
        run = backend.run(remaining)
        ok = run.termination is Termination.OPTIMAL
        duals = backend.duals() if keep_duals and ok else None
        basis = backend.basis() if keep_bases and ok else None
        stages.append(StageSolution(name, run.termination, run.raw_status, run.objective,
                                    time.perf_counter() - t0, run.solver_seconds, duals, basis))
        if fixed and run.values is not None:  # a later stage's point keeps the earlier optima
            values = run.values
        if not ok or run.objective is None:
            termination = run.termination if not ok else Termination.ERROR
            break
        values = run.values
        fixed[name] = fixing_bound(run.objective, policy.tolerance)
        backend.add_fixing_row(name, fixed[name])
    return Solution(termination, tuple(stages), values, fixed, SolverInfo(backend.name, backend.version()))
