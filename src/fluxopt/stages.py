"""Solve the stages of SPEC §4 lexicographically on one model, with HiGHS or any Pyomo LP solver."""

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
from pyomo.repn.linear import LinearRepnVisitor

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


class HighsBackend:
    """HiGHS driven directly through highspy, warm-started from stage to stage.

    The model is compiled once into a sparse row matrix with Pyomo's linear visitor and passed
    whole (``passModel``); a stage then only replaces the costs, and each fixing row of
    ``model.fixe`` is appended as it appears. Pyomo's persistent interface did the same through
    per-constraint bookkeeping that cost more than HiGHS's own solve on typical instances.
    """

    name = "highs"

    def __init__(self, model: pyo.ConcreteModel):
        self.model = model
        with capture_output(capture_fd=True):  # the constructor prints a banner on stdout
            self.highs = highspy.Highs()
        self.highs.setOptionValue("output_flag", False)
        self.highs.setOptionValue("threads", 1)
        self.visitor = LinearRepnVisitor({})
        self.vars: list = []
        self.column: dict[int, int] = {}
        self.rows: list = []
        self.compiled = False
        self.solver_seconds: float | None = None

    def _linear(self, expr) -> tuple[np.ndarray, np.ndarray, float]:
        """Column indices, coefficients and constant of a linear expression."""
        repn = self.visitor.walk_expression(expr)
        if repn.nonlinear is not None or getattr(repn, "quadratic", None):
            raise ValueError(f"the expression is not linear: {expr}")
        index = np.fromiter((self.column[i] for i in repn.linear), dtype=np.int32, count=len(repn.linear))
        value = np.fromiter(repn.linear.values(), dtype=np.float64, count=len(repn.linear))
        return index, value, float(repn.constant)

    def _bounds(self, con, constant: float) -> tuple[float, float]:
        lower, upper = con.lb, con.ub
        return (-highspy.kHighsInf if lower is None else lower - constant,
                highspy.kHighsInf if upper is None else upper - constant)

    def compile(self) -> None:
        """Pass every variable and active constraint to HiGHS at once (``rows``/``vars`` map them back)."""
        self.vars = list(self.model.component_data_objects(pyo.Var, descend_into=True))
        self.column = {id(v): i for i, v in enumerate(self.vars)}
        self.rows = list(self.model.component_data_objects(pyo.Constraint, active=True, descend_into=True))
        starts, indices, values, lower, upper = [0], [], [], [], []
        for con in self.rows:
            index, value, constant = self._linear(con.body)
            indices.append(index)
            values.append(value)
            starts.append(starts[-1] + len(index))
            lo, up = self._bounds(con, constant)
            lower.append(lo)
            upper.append(up)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = len(self.vars), len(self.rows)
        lp.col_cost_ = np.zeros(len(self.vars))
        lp.col_lower_ = np.array([-highspy.kHighsInf if v.lb is None else v.lb for v in self.vars], dtype=float)
        lp.col_upper_ = np.array([highspy.kHighsInf if v.ub is None else v.ub for v in self.vars], dtype=float)
        lp.row_lower_, lp.row_upper_ = np.array(lower, dtype=float), np.array(upper, dtype=float)
        matrix = lp.a_matrix_
        matrix.format_ = highspy.MatrixFormat.kRowwise
        matrix.num_col_, matrix.num_row_ = lp.num_col_, lp.num_row_
        matrix.start_ = np.array(starts, dtype=np.int32)
        matrix.index_ = np.concatenate(indices) if indices else np.zeros(0, dtype=np.int32)
        matrix.value_ = np.concatenate(values) if values else np.zeros(0)
        if self.highs.passModel(lp) == highspy.HighsStatus.kError:
            raise RuntimeError("HiGHS refused the model")
        self.compiled = True

    def _add_new_rows(self) -> None:
        """Append the fixing rows added to ``model.fixe`` since the last solve."""
        known = {id(c) for c in self.rows}
        for con in self.model.fixe.values():
            if id(con) not in known:
                index, value, constant = self._linear(con.body)
                self.highs.addRow(*self._bounds(con, constant), len(index), index, value)
                self.rows.append(con)

    def solve(self, time_limit: float | None) -> tuple[Status, float | None, bool]:
        if not self.compiled:
            self.compile()
        self._add_new_rows()
        objective = next(self.model.component_data_objects(pyo.Objective, active=True))
        index, value, constant = self._linear(objective.expr)
        costs = np.zeros(len(self.vars))
        costs[index] = value
        self.highs.changeColsCost(len(self.vars), np.arange(len(self.vars), dtype=np.int32), costs)
        self.highs.changeObjectiveOffset(constant)
        self.highs.setOptionValue("time_limit", highspy.kHighsInf if time_limit is None else float(time_limit))
        t0 = time.perf_counter()
        self.highs.run()
        self.solver_seconds = time.perf_counter() - t0
        status = self.highs.getModelStatus()
        if status == highspy.HighsModelStatus.kModelEmpty:
            # Nothing to decide (no variable in any row or in the objective): the optimum is the constant.
            return "optimal", constant, True
        info = self.highs.getInfo()
        feasible = info.primal_solution_status == 2  # kSolutionStatusFeasible
        if feasible:
            for var, val in zip(self.vars, self.highs.getSolution().col_value):
                var.set_value(val, skip_validation=True)
        if status == highspy.HighsModelStatus.kOptimal:
            return "optimal", info.objective_function_value, True
        if status in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
            return "infeasible", None, False
        if status == highspy.HighsModelStatus.kTimeLimit:
            return "time_limit", None, False
        return "error", None, False

    def duals(self) -> dict[str, float]:
        return {c.name: v for c, v in zip(self.rows, self.highs.getSolution().row_dual)}


class _PyomoBackend:
    """Any LP solver Pyomo drives through its classic interface (glpk, cbc, ...)."""

    def __init__(self, model: pyo.ConcreteModel, name: str):
        self.model = model
        self.name = name
        self.opt = pyo.SolverFactory(name)
        self.solver_seconds: float | None = None
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
    backend = HighsBackend(model) if solver == "highs" else _PyomoBackend(model, solver)
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
        stages.append(Stage(name, stage_status, optimum, seconds, duals, backend.solver_seconds))
        model.objectif[name].deactivate()
        if stage_status != "optimal":
            status = stage_status
            break
        has_solution = feasible
        bound = optimum + policy.tolerance * max(1.0, abs(optimum))
        model.fixe[name] = model.stage_expr[name] <= bound
    return StagesOutcome(status, stages, backend.name, solver_version(backend.name), has_solution)
