"""The Python API: solve an instance and get a typed :class:`~fluxopt.result.Result` (SPEC §5).

The CLI, the batch runner and any program call these functions; they hold no logic of their own.
"""

from __future__ import annotations

import time
from typing import Any, Mapping

from fluxopt.builder import Build, InstanceSource, PolicySource, build
from fluxopt.i18n import _, resolve, using
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
        raise UsageError(_("time_limit must be a positive number of seconds, not {valeur}").format(valeur=f"{time_limit!r:.40}"))
    return float(time_limit)


def _check_langue(langue: str | None) -> str:
    try:
        return resolve(langue)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def deadline_of(time_limit: Any) -> float | None:
    """The :func:`time.monotonic` instant ``time_limit`` seconds from now (None for no limit)."""
    limit = _check_time_limit(time_limit)
    return None if limit is None else time.monotonic() + limit


def solve_built(built: Build, *, time_limit: float | None = None, solver: str = DEFAULT_SOLVER,
                keep_duals: bool = False, deadline: float | None = None, langue: str | None = None,
                keep_bases: bool = False) -> Result:
    """Solve the stages of a :class:`~fluxopt.builder.Build` and shape the result.

    ``time_limit`` counts from this call; ``deadline`` (a :func:`time.monotonic` instant, set by a
    caller that started the clock earlier, before loading) bounds the stages too."""
    limit = _check_time_limit(time_limit)
    check_solver(solver)
    chosen = _check_langue(langue)
    solution = run_stages(built.lp, built.policy, solver=solver, time_limit=limit, keep_duals=keep_duals,
                          deadline=deadline, slowness=built.slowness, keep_bases=keep_bases)
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
    memory_limit: float | None = None,
    keep_bases: bool = False,
) -> Result:
    """Compute the flux shares of an instance (SPEC §4) and return a :class:`Result`.

    ``instance``: an :class:`~fluxopt.instance.Instance`, a CSV folder, an .xlsx or .json file,
    or a mapping of the JSON shape. ``policy`` replaces the instance's policy (its
    ``[surcharges]`` still apply on top); ``overrides`` are dotted policy keys applied last
    (``{"plafonds.prefet": 0.25}``). ``solver``: ``highs`` (direct) or a Pyomo solver name
    (``appsi_highs``, ``glpk``). ``keep_duals`` keeps each stage's row duals (explanations use them),
    ``keep_bases`` each stage's final basis (HiGHS; the counterfactual solves of ``explain`` start
    from them).
    ``langue`` (``fr`` or ``en``; default ``FLUXOPT_LANGUE``, else ``fr``) is the language of what
    people read from the result: the workbook and ``explication.md`` written by ``write_result``,
    and the messages of the problems and warnings found while loading a source (an
    :class:`~fluxopt.instance.Instance` already loaded keeps its warnings as they were made).

    ``time_limit`` (seconds) covers everything from this call: loading, building (checked between
    its phases) and the stages (each gets the time left). ``memory_limit`` (GiB) bounds the
    model's estimated memory (default: 80 % of the memory available).

    A strict instance that cannot meet its CIL targets returns status ``infeasible``; a time
    limit during the stages returns status ``time_limit`` (with the last stage's point, if any).
    Invalid input raises :class:`~fluxopt.problems.InstanceError`; a bad argument (unknown solver,
    time limit that is not a positive number, unknown language) :class:`~fluxopt.problems.UsageError`,
    a model above the memory budget its subclass :class:`~fluxopt.problems.ModelTooLarge`; a time
    limit reached before the model is built :class:`~fluxopt.problems.TimeLimitReached`.
    """
    deadline = deadline_of(time_limit)
    check_solver(solver)
    _check_langue(langue)
    with using(langue):  # the problems and warnings found while loading are in ``langue`` too
        built = build(instance, policy=policy, overrides=overrides, deadline=deadline, memory_limit=memory_limit)
    return solve_built(built, solver=solver, keep_duals=keep_duals, deadline=deadline, langue=langue,
                       keep_bases=keep_bases)
