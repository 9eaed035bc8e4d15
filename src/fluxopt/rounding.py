"""Whole dwellings that add up: controlled rounding of a nonnegative matrix, and solver-noise clean-up.

:func:`controlled_rounding` rounds every cell of a matrix to its floor or its ceiling so that
each row sums to a rounding (floor or ceiling) of its exact total, each column likewise, and
the grand total is the nearest integer of its exact value. It is a transportation problem
with integral bounds (source -> row -> column -> sink), whose constraint matrix is totally
unimodular: the simplex vertex HiGHS returns is integral. Among the valid roundings it takes
the one closest to the exact values: the totals first (each row and column total the nearest
integer whenever the table allows it), then the cells (sum of |rounded - exact|).
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np

from fluxopt.solvers.highs import new_highs

#: Distance under which an exact value counts as the integer next to it (input already rounded to 1e-6).
INTEGRAL_TOL = 1e-6


@dataclass(frozen=True)
class Rounding:
    """A controlled rounding: ``cells`` (same shape as the matrix), ``rows`` and ``columns`` totals."""

    cells: np.ndarray
    rows: np.ndarray
    columns: np.ndarray


def _bounds(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lower = np.floor(values + INTEGRAL_TOL)
    upper = np.ceil(values - INTEGRAL_TOL)
    return lower, np.maximum(upper, lower)


def _cost(values: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """|y - a| is linear between floor and ceiling at integral points: a - f + (y - f)(1 - 2(a - f))."""
    return 1.0 - 2.0 * np.clip(values - lower, 0.0, 1.0)


def controlled_rounding(matrix: np.ndarray) -> Rounding:
    """The controlled rounding of a nonnegative matrix closest to it (see the module docstring)."""
    a = np.asarray(matrix, dtype=float)
    m, n = a.shape
    if a.size == 0:
        return Rounding(np.zeros((m, n), dtype="int64"), np.zeros(m, dtype="int64"), np.zeros(n, dtype="int64"))
    if np.any(a < -INTEGRAL_TOL) or not np.all(np.isfinite(a)):
        raise ValueError("controlled rounding needs finite, nonnegative values")
    a = np.maximum(a, 0.0)
    row_exact, col_exact = a.sum(axis=1), a.sum(axis=0)
    total = float(np.floor(a.sum() + 0.5))
    # Columns: the m*n cells (row-major), then the m row totals, then the n column totals.
    values = np.concatenate([a.ravel(), row_exact, col_exact])
    lower, upper = _bounds(values)
    # The totals weigh more than all the cells together, so that they are the nearest integers when possible.
    weight = np.concatenate([np.ones(m * n), np.full(m + n, float(m * n + 1))])
    cost = weight * _cost(values, lower)
    h = new_highs()  # as the solver backend (threads: one scheduler per process)
    h.setOptionValue("solver", "simplex")
    h.addVars(len(values), lower, upper)
    h.changeColsCost(len(values), np.arange(len(values), dtype=np.int32), cost)
    cell = np.arange(m * n, dtype=np.int32).reshape(m, n)
    for i in range(m):  # row i: its cells minus its total = 0
        idx = np.append(cell[i], m * n + i).astype(np.int32)
        h.addRow(0.0, 0.0, len(idx), idx, np.append(np.ones(n), -1.0))
    for j in range(n):
        idx = np.append(cell[:, j], m * n + m + j).astype(np.int32)
        h.addRow(0.0, 0.0, len(idx), idx, np.append(np.ones(m), -1.0))
    idx = np.arange(m * n, m * n + m, dtype=np.int32)
    h.addRow(total, total, m, idx, np.ones(m))
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:  # cannot happen: the exact matrix is feasible
        raise RuntimeError(f"controlled rounding: HiGHS returned {h.modelStatusToString(h.getModelStatus())}")
    y = np.rint(np.asarray(h.getSolution().col_value)).astype("int64")
    return Rounding(y[: m * n].reshape(m, n), y[m * n: m * n + m], y[m * n + m:])


def settle(values: np.ndarray, tolerance: float) -> np.ndarray:
    """Values within ``tolerance * max(1, |v|)`` of an integer, as that integer (solver noise away)."""
    v = np.asarray(values, dtype=float)
    near = np.rint(v)
    with np.errstate(invalid="ignore"):
        close = np.abs(v - near) <= tolerance * np.maximum(1.0, np.abs(v))
    return np.where(close, near, v) + 0.0


def settle_to(values: np.ndarray, targets: np.ndarray, tolerance: float) -> np.ndarray:
    """Values within ``tolerance * max(1, |target|)`` of their target, as that target."""
    v, t = np.asarray(values, dtype=float), np.asarray(targets, dtype=float)
    with np.errstate(invalid="ignore"):
        close = np.abs(v - t) <= tolerance * np.maximum(1.0, np.abs(t))
    return np.where(close, t, v) + 0.0
