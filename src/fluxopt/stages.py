"""Solve the stages of SPEC §4 lexicographically on one model, with HiGHS or any Pyomo LP solver."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import highspy
import pyomo.environ as pyo
from pyomo.contrib.solver.common.results import TerminationCondition
from pyomo.contrib.solver.solvers.highs import Highs
from pyomo.opt import TerminationCondition as LegacyCondition

from fluxopt.policy import Policy

Status = Literal["optimal", "infeasible", "time_limit", "error"]


@dataclass
class Stage:
    """One solved stage: its status, optimum v* and solve time."""

    name: str
    status: Status
    optimum: float | None
    seconds: float
    duals: dict[str, float] | None = field(default=None, repr=False)


@dataclass
class StagesOutcome:
    """The stages as solved; ``status`` is the worst one; the model holds the last solution."""

    status: Status
    stages: list[Stage]
    solver: str
    solver_version: str
    has_solution: bool


def solver_version(name: str) -> str:
    if name == "highs":
        return ".".join(map(str, Highs().version()))
    try:
        version = pyo.SolverFactory(name).version()
    except Exception:  # the solver binary may be missing or silent about its version
        return "unknown"
    return ".".join(map(str, version)) if version else "unknown"


class _HighsBackend:
    """Pyomo's persistent HiGHS interface: the model is passed once, stages only change the objective."""

    name = "highs"

    def __init__(self, model: pyo.ConcreteModel):
        self.model = model
        self.opt = Highs()

    def solve(self, time_limit: float | None) -> tuple[Status, float | None, bool]:
        res = self.opt.solve(
            self.model,
            load_solutions=False,
            raise_exception_on_nonoptimal_result=False,
            time_limit=time_limit,
            threads=1,
        )
        tc = res.termination_condition
        if self.opt._solver_model.getModelStatus() == highspy.HighsModelStatus.kModelEmpty:
            # Nothing to decide (no variable in any row or in the objective): the optimum is the constant.
            active = next(self.model.component_data_objects(pyo.Objective, active=True))
            return "optimal", float(pyo.value(active.expr, exception=False) or 0.0), True
        feasible = res.incumbent_objective is not None
        if feasible:
            res.solution_loader.load_vars()
        if tc == TerminationCondition.convergenceCriteriaSatisfied:
            return "optimal", res.incumbent_objective, True
        if tc in (TerminationCondition.provenInfeasible, TerminationCondition.infeasibleOrUnbounded):
            return "infeasible", None, False
        if tc == TerminationCondition.maxTimeLimit:
            return "time_limit", None, False
        return "error", None, False

    def duals(self) -> dict[str, float]:
        return {c.name: v for c, v in self.opt._get_duals().items()}


class _PyomoBackend:
    """Any LP solver Pyomo drives through its classic interface (glpk, cbc, ...)."""

    def __init__(self, model: pyo.ConcreteModel, name: str):
        self.model = model
        self.name = name
        self.opt = pyo.SolverFactory(name)
        if not self.opt.available(exception_flag=False):
            raise RuntimeError(f"solver '{name}' is not installed")
        model.dual = pyo.Suffix(direction=pyo.Suffix.IMPORT)

    def solve(self, time_limit: float | None) -> tuple[Status, float | None, bool]:
        options: dict[str, object] = {}
        if self.name == "glpk":
            # Without presolve, glpsol reports an infeasible LP as such (with it: "undefined" status).
            options["nopresol"] = None
            if time_limit:
                options["tmlim"] = max(1, int(time_limit))
        res = self.opt.solve(self.model, load_solutions=False, options=options)
        tc = res.solver.termination_condition
        if tc == LegacyCondition.optimal:
            self.model.solutions.load_from(res)
            active = next(self.model.component_data_objects(pyo.Objective, active=True))
            return "optimal", pyo.value(active), True
        # Every stage objective is a sum of nonnegative variables, so the LP is never unbounded:
        # Pyomo's GLPK reader reports "no primal feasible solution" as unbounded.
        if tc in (LegacyCondition.infeasible, LegacyCondition.infeasibleOrUnbounded, LegacyCondition.unbounded):
            return "infeasible", None, False
        if tc == LegacyCondition.maxTimeLimit:
            return "time_limit", None, False
        return "error", None, False

    def duals(self) -> dict[str, float]:
        return {c.name: v for c, v in self.model.dual.items()}


def run_stages(
    model: pyo.ConcreteModel,
    policy: Policy,
    *,
    solver: str = "highs",
    time_limit: float | None = None,
    keep_duals: bool = False,
) -> StagesOutcome:
    """Minimise each stage in ``policy.ordre``; after each, fix it: expr <= v* + tol * max(1, |v*|)."""
    backend = _HighsBackend(model) if solver == "highs" else _PyomoBackend(model, solver)
    start = time.perf_counter()
    stages: list[Stage] = []
    status: Status = "optimal"
    has_solution = False
    for name in policy.ordre:
        remaining = None if time_limit is None else max(time_limit - (time.perf_counter() - start), 0.01)
        model.objectif[name].activate()
        t0 = time.perf_counter()
        stage_status, optimum, feasible = backend.solve(remaining)
        seconds = time.perf_counter() - t0
        duals = backend.duals() if keep_duals and stage_status == "optimal" else None
        stages.append(Stage(name, stage_status, optimum, seconds, duals))
        model.objectif[name].deactivate()
        if stage_status != "optimal":
            status = stage_status
            break
        has_solution = feasible
        bound = optimum + policy.tolerance * max(1.0, abs(optimum))
        model.fixe[name] = model.stage_expr[name] <= bound
    return StagesOutcome(status, stages, backend.name, solver_version(backend.name), has_solution)
