"""HiGHS driven directly through highspy: the default backend, and the IIS of an infeasible LP."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass
from typing import Iterator, Mapping, Sequence

import highspy
import numpy as np

from fluxopt.lp import LinearProgram
from fluxopt.solution import Basis, Termination
from fluxopt.solvers import RunOutcome

_MS = highspy.HighsModelStatus
#: HiGHS's model statuses and what they mean for a stage; any other status is an error.
STATUS_MAP: dict[highspy.HighsModelStatus, Termination] = {
    _MS.kOptimal: Termination.OPTIMAL,
    _MS.kInfeasible: Termination.INFEASIBLE,
    _MS.kUnboundedOrInfeasible: Termination.INFEASIBLE,
    _MS.kTimeLimit: Termination.TIME_LIMIT,
}


def new_highs() -> highspy.Highs:
    """A silent HiGHS with fluxopt's :data:`OPTIONS`. HiGHS's thread scheduler is process-wide:
    another interface (Pyomo's appsi_highs) may have started it with more threads, and a run with
    threads = 1 would then refuse to start, so it is reset first."""
    highspy.Highs.resetGlobalScheduler(True)
    with _quiet_stdout():  # the constructor prints a banner on stdout
        h = highspy.Highs()
    for option, value in OPTIONS.items():
        h.setOptionValue(option, value)
    return h


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence file descriptor 1 while highspy prints its banner."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


#: Options of every run: quiet, and one thread so that runs are deterministic.
OPTIONS: dict[str, bool | int] = {"output_flag": False, "threads": 1}
#: Options from the second stage on: the previous optimum stays primal feasible once its fixing
#: row is added, so primal simplex starts from a feasible basis (benchmarks/RESULTS.md, "Sparser
#: LP and solver settings": 0.26x the HiGHS time of the defaults over the national set).
LATER_STAGES: dict[str, bool | int] = {"simplex_strategy": 4}
#: Simplex strategy of a run started from a given basis (1: dual, 4: primal; benchmarks/RESULTS.md,
#: "Counterfactual explanations").
WARM_STRATEGY = 1


class HighsBackend:
    """One ``Highs`` object for all stages: the LP's arrays are passed once (``passModel``); a stage
    replaces the costs, and each fixing row is appended as it appears, so each stage starts from
    the previous stage's basis (the first stage with HiGHS's defaults, the later ones with primal
    simplex)."""

    name = "highs"
    #: Options set from the second run on.
    later_stages: dict[str, bool | int] = LATER_STAGES

    def __init__(self, lp: LinearProgram):
        self.lp = lp
        self.highs = new_highs()
        self.runs = 0
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
            raise ValueError("HiGHS refused the model (a coefficient or bound out of its range)")

    def version(self) -> str:
        h = self.highs
        return f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}"

    def set_objective(self, stage: str) -> None:
        n = self.lp.num_col
        self.highs.changeColsCost(n, np.arange(n, dtype=np.int32), self.lp.costs[stage])

    def add_fixing_row(self, stage: str, bound: float) -> None:
        cols, coefs = self.lp.fixing_row(stage)
        self.highs.addRow(-highspy.kHighsInf, bound, len(cols), cols, coefs)

    def run(self, time_limit: float | None) -> RunOutcome:
        h = self.highs
        # HiGHS's run clock adds up the runs of one object: the limit is on that clock.
        h.setOptionValue("time_limit", highspy.kHighsInf if time_limit is None else h.getRunTime() + float(time_limit))
        if self.runs == 1:
            for option, value in self.later_stages.items():
                h.setOptionValue(option, value)
        t0 = time.perf_counter()
        run_status = h.run()
        seconds = time.perf_counter() - t0
        self.runs += 1
        if run_status == highspy.HighsStatus.kError and h.getModelStatus() == _MS.kNotset:
            return RunOutcome(Termination.ERROR, "HiGHS could not run", None, None, seconds)
        status = h.getModelStatus()
        termination = STATUS_MAP.get(status, Termination.ERROR)
        raw = h.modelStatusToString(status)
        info = h.getInfo()
        feasible = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
        values = np.array(h.getSolution().col_value, dtype=float) if feasible else None
        objective = float(info.objective_function_value) if termination is Termination.OPTIMAL else None
        return RunOutcome(termination, raw, objective, values, seconds)

    def duals(self) -> np.ndarray:
        return np.array(self.highs.getSolution().row_dual, dtype=float)

    def basis(self) -> Basis:
        got = self.highs.getBasis()
        return Basis(np.array([int(s) for s in got.col_status], dtype=np.int8),
                     np.array([int(s) for s in got.row_status], dtype=np.int8))


_LOWER, _UPPER, _ZERO = (int(s) for s in (highspy.HighsBasisStatus.kLower, highspy.HighsBasisStatus.kUpper,
                                          highspy.HighsBasisStatus.kZero))


def _at_finite_bounds(status: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """``status`` with each nonbasic member at an infinite bound moved to its other bound, or to
    zero (free) when both are infinite: what a relaxation that removed a bound asks of a basis."""
    out = status.copy()
    gone = ((out == _LOWER) & ~np.isfinite(lower)) | ((out == _UPPER) & ~np.isfinite(upper))
    out[gone & (out == _LOWER) & np.isfinite(upper)] = _UPPER
    out[gone & (out == _UPPER) & np.isfinite(lower)] = _LOWER
    out[gone & ~np.isfinite(lower) & ~np.isfinite(upper)] = _ZERO
    return out


class WarmHighsBackend(HighsBackend):
    """A :class:`HighsBackend` that starts the stage of each run from a given basis (``starts``, one
    per stage, from a solve of the same rows and columns; dual simplex from there)."""

    def __init__(self, lp: LinearProgram, starts: Sequence[Basis] | None = None):
        super().__init__(lp)
        self.starts = starts
        self.row_bounds = (list(lp.row_lower), list(lp.row_upper))
        if starts is not None:
            self.later_stages = {"simplex_strategy": WARM_STRATEGY}
            self.highs.setOptionValue("simplex_strategy", WARM_STRATEGY)

    def add_fixing_row(self, stage: str, bound: float) -> None:
        super().add_fixing_row(stage, bound)
        self.row_bounds[0].append(-highspy.kHighsInf)
        self.row_bounds[1].append(bound)

    def run(self, time_limit: float | None) -> RunOutcome:
        h = self.highs
        if self.starts is not None and self.runs < len(self.starts):
            start = self.starts[self.runs]
            basis = highspy.HighsBasis()
            basis.col_status = [highspy.HighsBasisStatus(int(s)) for s in
                                _at_finite_bounds(start.columns, self.lp.col_lower, self.lp.col_upper)]
            lower, upper = (np.array(b, dtype=float) for b in self.row_bounds)
            basis.row_status = [highspy.HighsBasisStatus(int(s)) for s in _at_finite_bounds(start.rows, lower, upper)]
            basis.valid, basis.alien = True, False
            h.setBasis(basis)
        return super().run(time_limit)


@dataclass(frozen=True)
class InfeasibleSubset:
    """An irreducible infeasible subset: row positions (the LP's rows, then the fixing rows in
    order) and the columns whose bounds take part."""

    rows: list[int]
    columns: list[int]


def infeasible_subset(lp: LinearProgram, fixed: Mapping[str, float], stage: str) -> InfeasibleSubset:
    """An IIS of ``lp`` with the fixing rows ``fixed`` and ``stage``'s objective, computed by HiGHS."""
    backend = HighsBackend(lp)
    for name, bound in fixed.items():
        backend.add_fixing_row(name, bound)
    backend.set_objective(stage)
    h = backend.highs
    h.setOptionValue("iis_strategy", int(highspy.IisStrategy.kIisStrategyIrreducible))
    _, iis = h.getIis()
    return InfeasibleSubset([int(i) for i in iis.row_index_], [int(j) for j in iis.col_index_])
