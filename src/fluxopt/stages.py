"""Solve the stages of SPEC §4 lexicographically on one LP, with HiGHS or any Pyomo LP solver."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.common.tee import capture_output
from pyomo.contrib.solver.solvers.highs import Highs
from pyomo.opt import TerminationCondition as LegacyCondition

from fluxopt.lp import LinearProgram
from fluxopt.model import build_model, model_columns
from fluxopt.policy import Policy

Status = Literal["optimal", "infeasible", "time_limit", "error"]


@dataclass
class Stage:
    """One solved stage: its status, optimum v*, solve time and, with HiGHS, the time inside HiGHS."""

    name: str
    status: Status
    optimum: float | None
    seconds: float
    duals: dict[str, float] | None = field(default=None, repr=False)
    solver_seconds: float | None = None


@dataclass
class StagesOutcome:
    """The stages as solved; ``status`` is the worst one; the LP holds the last solution."""

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


class HighsBackend:
    """HiGHS driven directly through highspy, warm-started from stage to stage.

    The LP's arrays are passed whole (``passModel``) when the first objective is set; a stage
    then only replaces the costs, and each fixing row is appended as it appears.
    """

    name = "highs"

    def __init__(self, lp: LinearProgram):
        self.lp = lp
        with capture_output(capture_fd=True):  # the constructor prints a banner on stdout
            self.highs = highspy.Highs()
        self.highs.setOptionValue("output_flag", False)
        self.highs.setOptionValue("threads", 1)
        self.loaded = False
        self.solver_seconds: float | None = None

    def _load(self) -> None:
        """Pass the LP and its fixing rows to HiGHS."""
        lp = self.lp
        model = highspy.HighsLp()
        model.num_col_, model.num_row_ = lp.num_col, lp.num_row
        model.col_cost_ = np.zeros(lp.num_col)
        model.col_lower_, model.col_upper_ = lp.col_lower, lp.col_upper
        model.row_lower_, model.row_upper_ = lp.row_lower, lp.row_upper
        matrix = model.a_matrix_
        matrix.format_ = highspy.MatrixFormat.kRowwise
        matrix.num_col_, matrix.num_row_ = lp.num_col, lp.num_row
        matrix.start_, matrix.index_, matrix.value_ = lp.start.astype(np.int32), lp.index, lp.value
        if self.highs.passModel(model) == highspy.HighsStatus.kError:
            raise RuntimeError("HiGHS refused the model")
        self.loaded = True
        for stage, bound in lp.fixed.items():
            self.fix(stage, bound)

    def objective(self, stage: str) -> None:
        """Minimise ``stage``'s costs from now on."""
        if not self.loaded:
            self._load()
        n = self.lp.num_col
        self.highs.changeColsCost(n, np.arange(n, dtype=np.int32), self.lp.costs[stage])

    def fix(self, stage: str, bound: float) -> None:
        """Append the row ``fixe[stage]``: the stage's objective <= bound."""
        cols, coefs = self.lp.fixing_row(stage)
        self.highs.addRow(-highspy.kHighsInf, bound, len(cols), cols, coefs)

    def solve(self, time_limit: float | None) -> tuple[Status, float | None, bool]:
        """Run HiGHS; a feasible solution goes to ``lp.values``."""
        self.highs.setOptionValue("time_limit", highspy.kHighsInf if time_limit is None else float(time_limit))
        t0 = time.perf_counter()
        self.highs.run()
        self.solver_seconds = time.perf_counter() - t0
        status = self.highs.getModelStatus()
        if status == highspy.HighsModelStatus.kModelEmpty:
            # Nothing to decide (no variable in any row or in the objective): the optimum is 0.
            self.lp.values = np.zeros(self.lp.num_col)
            return "optimal", 0.0, True
        info = self.highs.getInfo()
        feasible = info.primal_solution_status == 2  # kSolutionStatusFeasible
        if feasible:
            self.lp.values = np.array(self.highs.getSolution().col_value, dtype=float)
        if status == highspy.HighsModelStatus.kOptimal:
            return "optimal", info.objective_function_value, True
        if status in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
            return "infeasible", None, False
        if status == highspy.HighsModelStatus.kTimeLimit:
            return "time_limit", None, False
        return "error", None, False

    def duals(self) -> dict[str, float]:
        return dict(zip(self.lp.row_names(), self.highs.getSolution().row_dual))


class _PyomoBackend:
    """Any LP solver Pyomo drives through its classic interface (glpk, cbc, ...), on the LP's Pyomo model."""

    def __init__(self, lp: LinearProgram, name: str):
        self.lp = lp
        self.name = name
        self.opt = pyo.SolverFactory(name)
        self.solver_seconds: float | None = None
        if not self.opt.available(exception_flag=False):
            raise RuntimeError(f"solver '{name}' is not installed")
        self.model = build_model(lp)
        self.model.dual = pyo.Suffix(direction=pyo.Suffix.IMPORT)
        self.stage: str | None = None

    def objective(self, stage: str) -> None:
        if self.stage is not None:
            self.model.objectif[self.stage].deactivate()
        self.model.objectif[stage].activate()
        self.stage = stage

    def fix(self, stage: str, bound: float) -> None:
        self.model.fixe[stage] = self.model.stage_expr[stage] <= bound

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
            self.lp.values = np.array([v.value or 0.0 for v in model_columns(self.model)], dtype=float)
            return "optimal", pyo.value(self.model.objectif[self.stage]), True
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
    lp: LinearProgram,
    policy: Policy,
    *,
    solver: str = "highs",
    time_limit: float | None = None,
    keep_duals: bool = False,
) -> StagesOutcome:
    """Minimise each stage in ``policy.ordre``; after each, fix it: expr <= v* + tol * max(1, |v*|).

    The fixing rows go to ``lp.fixed`` and the last solution to ``lp.values``.
    """
    backend = HighsBackend(lp) if solver == "highs" else _PyomoBackend(lp, solver)
    start = time.perf_counter()
    stages: list[Stage] = []
    status: Status = "optimal"
    has_solution = False
    for name in policy.ordre:
        remaining = None if time_limit is None else max(time_limit - (time.perf_counter() - start), 0.01)
        t0 = time.perf_counter()
        backend.objective(name)
        stage_status, optimum, feasible = backend.solve(remaining)
        seconds = time.perf_counter() - t0
        duals = backend.duals() if keep_duals and stage_status == "optimal" else None
        stages.append(Stage(name, stage_status, optimum, seconds, duals, backend.solver_seconds))
        if stage_status != "optimal":
            status = stage_status
            break
        has_solution = feasible
        lp.fixed[name] = optimum + policy.tolerance * max(1.0, abs(optimum))
        backend.fix(name, lp.fixed[name])
    return StagesOutcome(status, stages, backend.name, solver_version(backend.name), has_solution)
