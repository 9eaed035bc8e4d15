"""The solved state of the stages: one typed home, below everything that reads it.

A :class:`Solution` is what :func:`fluxopt.stages.run_stages` returns for a
:class:`~fluxopt.lp.LinearProgram` (which stays pure): the values of the last solution, the
fixing rows added after each stage, each stage's termination, optimum, time and duals, and
the solver that ran. Backends map their own statuses to :class:`Termination` once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np


class Termination(str, enum.Enum):
    """How a stage (and so a solve) ended; the values are the SPEC's status codes."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    TIME_LIMIT = "time_limit"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class SolverInfo:
    """The solver that ran: ``highs`` (through highspy) or a Pyomo solver name, and its version."""

    name: str
    version: str


@dataclass(frozen=True)
class Basis:
    """A simplex basis as HiGHS's status codes (``HighsBasisStatus`` values), one per column and row
    (the LP's rows, then the fixing rows in force): plain arrays, so that it crosses processes."""

    columns: np.ndarray
    rows: np.ndarray


@dataclass(frozen=True)
class StageSolution:
    """One solved stage.

    ``raw_status`` is the solver's own word for the outcome (HiGHS's model status, Pyomo's
    termination condition); ``termination`` its mapping. ``duals`` holds one value per row of
    the LP followed by the fixing rows in force during the stage (when kept).
    ``solver_seconds`` is the time inside the solver's own run call.
    """

    name: str
    termination: Termination
    raw_status: str
    optimum: float | None
    seconds: float
    solver_seconds: float
    duals: np.ndarray | None = field(default=None, repr=False)
    #: The basis the stage ended on (when kept, and the solver gives one): the counterfactual
    #: solves start from it.
    basis: Basis | None = field(default=None, repr=False)

    @property
    def status(self) -> str:
        """The termination as the SPEC's status code."""
        return self.termination.value


@dataclass(frozen=True)
class Solution:
    """The stages as solved; ``termination`` is the first stage's that was not optimal.

    ``values`` is the last solution (one value per LP column), or None when no stage left one;
    ``fixed`` maps each solved stage to the bound of its fixing row ``fixe[stage]``, in order.
    """

    termination: Termination
    stages: tuple[StageSolution, ...]
    values: np.ndarray | None
    fixed: Mapping[str, float]
    solver: SolverInfo

    @property
    def has_solution(self) -> bool:
        return self.values is not None
