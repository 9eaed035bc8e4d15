"""Whole dwellings that add up (controlled rounding) and the solver-noise clean-up."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fluxopt.rounding import controlled_rounding, settle, settle_to


def test_hand_computed_rounding() -> None:
    """Rows [0.5, 0.5] and [0.5, 0.5]: totals 1, 1 per row and column, grand total 2.

    Every cell is 0 or 1; rows and columns must sum to exactly 1 (their exact totals are
    integers), so the rounding is a permutation matrix: [[1, 0], [0, 1]] or [[0, 1], [1, 0]].
    Rounding each cell on its own (0.5 -> 0 by round-half-even) would give totals 0.
    """
    r = controlled_rounding(np.array([[0.5, 0.5], [0.5, 0.5]]))
    assert r.rows.tolist() == [1, 1] and r.columns.tolist() == [1, 1]
    assert sorted(r.cells.ravel().tolist()) == [0, 0, 1, 1]
    assert (r.cells.sum(axis=1) == 1).all() and (r.cells.sum(axis=0) == 1).all()


def test_closest_rounding_is_taken() -> None:
    """[[2.9, 0.1], [0.2, 3.8]]: rounding each cell to the nearest (3, 0 / 0, 4) already adds up:
    rows 3 (exact 3.0) and 4 (exact 4.0), columns 3 (3.1) and 4 (3.9); distance 0.1+0.1+0.2+0.2 = 0.6."""
    r = controlled_rounding(np.array([[2.9, 0.1], [0.2, 3.8]]))
    assert r.cells.tolist() == [[3, 0], [0, 4]]
    assert r.rows.tolist() == [3, 4] and r.columns.tolist() == [3, 4]


def test_example_of_the_issue() -> None:
    """A réservataire holding 0.6 dwellings at each of 5 bailleurs (3.0 in all) gets 3 whole
    dwellings, not 5 x round(0.6) = 5; each bailleur's own share 9.4 takes the rest of a flux base of 10."""
    r = controlled_rounding(np.array([[0.6, 9.4]] * 5))
    assert r.columns.tolist() == [3, 47]
    assert r.rows.tolist() == [10] * 5
    assert sorted(r.cells[:, 0].tolist()) == [0, 0, 1, 1, 1]


matrices = st.tuples(st.integers(1, 7), st.integers(1, 7)).flatmap(
    lambda shape: arrays(np.float64, shape, elements=st.one_of(
        st.just(0.0), st.integers(0, 50).map(float), st.floats(0, 60, allow_nan=False, allow_infinity=False))))


@settings(max_examples=150, deadline=None)
@given(matrices)
def test_controlled_rounding_properties(a: np.ndarray) -> None:
    """Each cell is the floor or the ceiling of its value; rows and columns add up to a
    rounding of their exact totals; the grand total is the nearest integer."""
    r = controlled_rounding(a)
    tol = 1e-6
    assert (r.cells >= np.floor(a + tol)).all() and (r.cells <= np.ceil(a - tol)).all()
    assert (r.cells.sum(axis=1) == r.rows).all() and (r.cells.sum(axis=0) == r.columns).all()
    for exact, whole in ((a.sum(axis=1), r.rows), (a.sum(axis=0), r.columns)):
        assert (whole >= np.floor(exact + tol)).all() and (whole <= np.ceil(exact - tol)).all()
    assert r.rows.sum() == math.floor(a.sum() + 0.5)


@settings(max_examples=60, deadline=None)
@given(matrices)
def test_rounding_is_no_farther_than_cell_by_cell(a: np.ndarray) -> None:
    """When rounding each cell to its nearest integer already adds up to nearest totals, the
    controlled rounding is at the same distance (it is the closest valid one)."""
    r = controlled_rounding(a)
    naive = np.floor(a + 0.5)
    valid = all((np.abs(naive.sum(axis=k) - a.sum(axis=k)) <= 0.5).all() for k in (0, 1)) and \
        naive.sum() == math.floor(a.sum() + 0.5)
    if valid:
        assert np.abs(r.cells - a).sum() <= np.abs(naive - a).sum() + 1e-9


def test_settle() -> None:
    """26.999973 is within 1e-5 x 27 = 2.7e-4 of 27; -2.7e-06 within 1e-5 x max(1, 0) of 0; 26.99 and
    -2.7e-05 are not; X = 860.714626 is within 1e-5 x 860.7 of its target 860.715487 (so the departure is 0)."""
    got = settle(np.array([26.999973, -2.7e-06, 26.99, 0.5, -2.7e-05]), 1e-5)
    assert got.tolist() == [27.0, 0.0, 26.99, 0.5, -2.7e-05]
    assert settle_to(np.array([860.714626, 1.2]), np.array([860.715487, 1.3]), 1e-5).tolist() == [860.715487, 1.2]
