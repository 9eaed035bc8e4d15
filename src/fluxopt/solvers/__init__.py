"""One interface over the LP solvers: HiGHS driven directly, and any LP solver Pyomo drives.

A backend receives a pure :class:`~fluxopt.lp.LinearProgram`, then, stage after stage, an
objective to minimise, a run, and a fixing row. Each backend maps its solver's own statuses
to :class:`~fluxopt.solution.Termination` in one table. Pyomo is imported only when a Pyomo
backend is opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from fluxopt.lp import LinearProgram
from fluxopt.i18n import _
from fluxopt.problems import UsageError
from fluxopt.solution import Basis, Termination

#: The solver that needs no other installation.
DEFAULT_SOLVER = "highs"


@dataclass(frozen=True)
class RunOutcome:
    """One run of the solver on the current objective.

    ``values`` is the point the solver ends on when it is feasible (also after a time limit),
    else None; ``objective`` the optimum when ``termination`` is optimal.
    """

    termination: Termination
    raw_status: str
    objective: float | None
    values: np.ndarray | None
    solver_seconds: float


class Backend(Protocol):
    """What the lexicographic stages need from a solver."""

    name: str

    def version(self) -> str:
        """The solver's version, as it reports it."""

    def set_objective(self, stage: str) -> None:
        """Minimise ``stage``'s costs from the next run on."""

    def add_fixing_row(self, stage: str, bound: float) -> None:
        """Append the row ``fixe[stage]``: the stage's objective <= bound."""

    def run(self, time_limit: float | None) -> RunOutcome:
        """Solve the current LP within ``time_limit`` seconds (None: no limit)."""

    def duals(self) -> np.ndarray:
        """Row duals of the last run: the LP's rows, then the fixing rows in order."""

    def basis(self) -> Basis | None:
        """The basis the last run ended on (None: the solver gives none)."""


def open_backend(lp: LinearProgram, solver: str = DEFAULT_SOLVER) -> Backend:
    """A backend for ``solver`` (``highs``, or a Pyomo solver name such as ``glpk`` or ``appsi_highs``)
    on ``lp``; :class:`~fluxopt.problems.UsageError` when that solver cannot run here."""
    if solver == DEFAULT_SOLVER:
        from fluxopt.solvers.highs import HighsBackend

        return HighsBackend(lp)
    from fluxopt.solvers.pyomo_backend import PyomoBackend

    return PyomoBackend(lp, solver)


def check_solver(solver: str) -> None:
    """Raise :class:`~fluxopt.problems.UsageError` unless ``solver`` can run here."""
    if not isinstance(solver, str) or not solver.replace("_", "").replace("-", "").isalnum() or not solver.isascii():
        raise UsageError(_("solver must be a solver name such as highs, appsi_highs or glpk, not {valeur}")
                         .format(valeur=f"{solver!r:.60}"))
    if solver == DEFAULT_SOLVER:
        return
    from fluxopt.solvers.pyomo_backend import solver_available

    if not solver_available(solver):
        raise UsageError(_("solver '{solveur}' is not installed or not known to Pyomo (try highs, appsi_highs or glpk)")
                         .format(solveur=solver))
