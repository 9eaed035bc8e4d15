"""The Python API: solve an instance and get a typed :class:`~fluxopt.result.Result` (SPEC §5).

The CLI, the batch runner and any program call these functions; they hold no logic of their own.
"""

from __future__ import annotations

from typing import Any, Mapping

from fluxopt.builder import Build, InstanceSource, PolicySource, build
from fluxopt.i18n import resolve
from fluxopt.problems import UsageError
from fluxopt.result import Options, Result, make_result
from fluxopt.solvers import DEFAULT_SOLVER, check_solver
from fluxopt.stages import run_stages

__all__ = ["Build", "build", "solve", "solve_built"]


def _check_time_limit(time_limit: Any) -> float | None:
    if time_limit is None:
        return None
    if isinstance(time_limit, bool) or not isinstance(time_limit, (int, float)) or not time_limit > 0 \
            or time_limit == float("inf"):
        raise UsageError(f"time_limit must be a positive number of seconds, not {time_limit!r}")
    return float(time_limit)


def _check_langue(langue: str | None) -> str:
    try:
        return resolve(langue)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def solve_built(built: Build, *, time_limit: float | None = None, solver: str = DEFAULT_SOLVER,
                keep_duals: bool = False, langue: str | None = None) -> Result:
    """Solve the stages of a :class:`~fluxopt.builder.Build` and shape the result."""
    limit = _check_time_limit(time_limit)
    check_solver(solver)
    chosen = _check_langue(langue)
    solution = run_stages(built.lp, built.policy, solver=solver, time_limit=limit, keep_duals=keep_duals)
    return make_result(built, solution, Options(solver, limit), chosen)


def solve(
    instance: InstanceSource,
    *,
    policy: PolicySource | None = None,
    overrides: Mapping[str, Any] | None = None,
    time_limit: float | None = None,
    solver: str = DEFAULT_SOLVER,
    keep_duals: bool = False,
    langue: str | None = None,
) -> Result:
    """Compute the flux shares of an instance (SPEC §4) and return a :class:`Result`.

    ``instance``: an :class:`~fluxopt.instance.Instance`, a CSV folder, an .xlsx or .json file,
    or a mapping of the JSON shape. ``policy`` replaces the instance's policy (its
    ``[surcharges]`` still apply on top); ``overrides`` are dotted policy keys applied last
    (``{"plafonds.prefet": 0.25}``). ``solver``: ``highs`` (direct) or a Pyomo solver name
    (``appsi_highs``, ``glpk``). ``keep_duals`` keeps each stage's row duals (explanations use them).
    ``langue`` (``fr`` or ``en``; default ``FLUXOPT_LANGUE``, else ``fr``) is the language of what
    people read from the result: the workbook and ``explication.md`` written by ``write_result``.

    A strict instance that cannot meet its CIL targets returns status ``infeasible``. Invalid
    input raises :class:`~fluxopt.problems.InstanceError`; a bad argument (unknown solver, time
    limit that is not a positive number) :class:`~fluxopt.problems.UsageError`.
    """
    _check_time_limit(time_limit)
    check_solver(solver)
    _check_langue(langue)
    return solve_built(build(instance, policy=policy, overrides=overrides), time_limit=time_limit, solver=solver,
                       keep_duals=keep_duals, langue=langue)
