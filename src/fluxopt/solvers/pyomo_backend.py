"""Any LP solver Pyomo drives (``glpk``, ``cbc``, ``appsi_highs``, ...), on the Pyomo model
generated from the LP (:mod:`fluxopt.model`): for cross-checking the direct HiGHS backend."""

from __future__ import annotations

import logging

import time

import numpy as np
import pyomo.environ as pyo
from pyomo.common.errors import ApplicationError
from pyomo.opt import TerminationCondition as Condition

from fluxopt.lp import LinearProgram
from fluxopt.model import build_model, model_columns, model_rows
from fluxopt.i18n import _
from fluxopt.problems import UsageError
from fluxopt.solution import Termination
from fluxopt.solvers import RunOutcome

#: Pyomo's termination conditions and what they mean for a stage; any other is an error.
#: Every stage objective is a sum of nonnegative variables, so the LP is never unbounded:
#: Pyomo's GLPK reader reports "no primal feasible solution" as unbounded.
STATUS_MAP: dict[Condition, Termination] = {
    Condition.optimal: Termination.OPTIMAL,
    Condition.infeasible: Termination.INFEASIBLE,
    Condition.infeasibleOrUnbounded: Termination.INFEASIBLE,
    Condition.unbounded: Termination.INFEASIBLE,
    Condition.maxTimeLimit: Termination.TIME_LIMIT,
}


def solver_available(name: str) -> bool:
    """Whether Pyomo knows ``name`` and finds it installed (quietly: Pyomo logs a traceback for an
    unknown name)."""
    pyomo_log = logging.getLogger("pyomo")
    level = pyomo_log.level
    pyomo_log.setLevel(logging.CRITICAL)
    try:
        return bool(pyo.SolverFactory(name).available(exception_flag=False))
    except Exception:  # Pyomo raises on names it does not know at all
        return False
    finally:
        pyomo_log.setLevel(level)


class PyomoBackend:
    """Pyomo's classic solver interface on the LP's Pyomo model; one objective active at a time."""

    def __init__(self, lp: LinearProgram, name: str):
        if not solver_available(name):
            raise UsageError(_("solver '{solveur}' is not installed or not known to Pyomo").format(solveur=name))
        self.lp = lp
        self.name = name
        self.opt = pyo.SolverFactory(name)
        self.model = build_model(lp)
        self.model.dual = pyo.Suffix(direction=pyo.Suffix.IMPORT)
        self.columns = model_columns(self.model)
        self.stage: str | None = None

    def version(self) -> str:
        try:
            version = self.opt.version()
        except Exception:  # a solver binary may be silent about its version
            return "unknown"
        return ".".join(map(str, version)) if version else "unknown"

    def set_objective(self, stage: str) -> None:
        if self.stage is not None:
            self.model.objectif[self.stage].deactivate()
        self.model.objectif[stage].activate()
        self.stage = stage

    def add_fixing_row(self, stage: str, bound: float) -> None:
        self.model.fixe[stage] = self.model.stage_expr[stage] <= bound

    def run(self, time_limit: float | None) -> RunOutcome:
        if self.lp.num_row == 0:
            # No constraint (no pair, no CIL EPCI): some solvers refuse an empty model. Every cost is
            # >= 0, so the lower bounds are optimal, and they keep every fixing row.
            values = self.lp.col_lower.copy()
            cost = self.lp.objective(self.stage, values) if self.stage is not None else 0.0
            return RunOutcome(Termination.OPTIMAL, "optimal (no constraint)", float(cost), values, 0.0)
        options: dict[str, object] = {}
        if self.name == "glpk":
            # Without presolve, glpsol reports an infeasible LP as such (with it: "undefined" status).
            options["nopresol"] = None
            if time_limit:
                options["tmlim"] = max(1, int(time_limit))
        elif time_limit and self.name.startswith("appsi_"):
            self.opt.config.time_limit = float(time_limit)
        t0 = time.perf_counter()
        try:
            res = self.opt.solve(self.model, load_solutions=False, options=options)
        except ApplicationError as exc:  # the solver program crashed or could not run
            return RunOutcome(Termination.ERROR, f"solver failure: {exc}", None, None, time.perf_counter() - t0)
        seconds = time.perf_counter() - t0
        condition = res.solver.termination_condition
        termination = STATUS_MAP.get(condition, Termination.ERROR)
        if termination is not Termination.OPTIMAL:
            return RunOutcome(termination, str(condition), None, None, seconds)
        self.model.solutions.load_from(res)
        values = np.array([v.value or 0.0 for v in self.columns], dtype=float)
        objective = float(pyo.value(self.model.objectif[self.stage]))
        return RunOutcome(termination, str(condition), objective, values, seconds)

    def basis(self) -> None:
        return None

    def duals(self) -> np.ndarray:
        dual = self.model.dual
        return np.array([0.0 if c is None else dual.get(c, 0.0) for c in model_rows(self.model, self.lp)], dtype=float)
