"""The Pyomo model of the array LP (:mod:`fluxopt.lp`): for Pyomo's solvers, LP files and users of Pyomo.

Generated from the LP, never defined here: the components carry the LP's block names and
indices (variables ``x[r, b, c, q]``, ``rho[b, r]``, ``X[b, r]``, ``own[b, c, q]``, ... constraints
``capacite[b, c, q]``, ``def_X[b, r]``, ``plafond[k, b]``, ...), one objective expression per
stage in ``stage_expr[stage]`` with its (inactive) ``objectif[stage]``, and, when given, the
fixing rows ``fixe[stage]`` of a solve and the values of its solution.
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr import LinearExpression

from fluxopt.lp import LinearProgram
from fluxopt.policy import STAGES

#: The index set of each variable block (None: a scalar variable).
VARIABLE_SETS = {
    "x": "XS", "rho": "PU", "X": "P", "own": "S", "u_plus": "P", "u_minus": "P", "q": "QS", "o": "OS", "d1": "E", "d2": "E", "z": None,
    "reg_x_plus": "RX", "reg_x_minus": "RX", "reg_q_plus": "RQ", "reg_q_minus": "RQ", "reg_o_plus": "RO",
    "reg_o_minus": "RO",
}


def _lin(coefs: list[float], variables: list, constant: float = 0.0) -> LinearExpression:
    """A linear expression built in one go (much faster than repeated additions)."""
    return LinearExpression(constant=constant, linear_coefs=coefs, linear_vars=variables)


def model_columns(m: pyo.ConcreteModel) -> list[pyo.Var]:
    """The model's variables in the LP's column order."""
    return list(m.component_data_objects(pyo.Var, descend_into=True))


def model_rows(m: pyo.ConcreteModel, lp: LinearProgram) -> list[pyo.Constraint | None]:
    """The model's rows in the LP's row order (None for a free row, which the model leaves out),
    then its fixing rows ``fixe[stage]`` in order."""
    rows = []
    for name, block in lp.rows.items():
        con = m.component(name)
        rows += [con[i] if i in con else None for i in block.index]
    return rows + [m.fixe[k] for k in m.fixe]


def build_model(lp: LinearProgram, fixed: Mapping[str, float] | None = None,
                values: np.ndarray | None = None) -> pyo.ConcreteModel:
    """The Pyomo model of ``lp``: its variables, rows, stage objectives (inactive) and, when
    given, the fixing rows ``fixed`` (stage to bound) and the values of a solution."""
    m = pyo.ConcreteModel(name="fluxopt")
    cols = lp.columns
    m.S = pyo.Set(initialize=lp.segments, dimen=3, ordered=True)
    for name, block in cols.items():
        set_name = VARIABLE_SETS[name]
        if set_name is not None and m.component(set_name) is None:
            dimen = len(block.index[0]) if block.index and isinstance(block.index[0], tuple) else 1
            m.add_component(set_name, pyo.Set(initialize=block.index, dimen=dimen, ordered=True))
        var = pyo.Var(within=pyo.NonNegativeReals) if set_name is None else \
            pyo.Var(m.component(set_name), within=pyo.NonNegativeReals)
        m.add_component(name, var)
    column = model_columns(m)
    for var, lower, upper in zip(column, lp.col_lower.tolist(), lp.col_upper.tolist()):
        if lower != 0.0:
            var.setlb(lower)
        if math.isfinite(upper):
            var.setub(upper)

    start, index, value = lp.start.tolist(), lp.index.tolist(), lp.value.tolist()
    lower, upper = lp.row_lower.tolist(), lp.row_upper.tolist()
    for name, block in lp.rows.items():
        con = pyo.Constraint(block.index)
        m.add_component(name, con)
        for r, idx in enumerate(block.index, start=block.start):
            if not math.isfinite(lower[r]) and not math.isfinite(upper[r]):
                con[idx] = pyo.Constraint.Skip  # a free row (a relaxed one): Pyomo refuses (None, body, None)
                continue
            body = _lin(value[start[r]:start[r + 1]], [column[j] for j in index[start[r]:start[r + 1]]])
            if lower[r] == upper[r]:
                con[idx] = body == upper[r]
            else:
                con[idx] = (lower[r] if math.isfinite(lower[r]) else None, body,
                            upper[r] if math.isfinite(upper[r]) else None)

    m.STAGES = pyo.Set(initialize=STAGES, ordered=True)
    exprs = {}
    for stage in STAGES:
        cols_k, coefs = lp.fixing_row(stage)
        exprs[stage] = _lin(coefs.tolist(), [column[j] for j in cols_k.tolist()])
    m.stage_expr = pyo.Expression(m.STAGES, initialize=exprs)
    m.objectif = pyo.Objective(m.STAGES, rule=lambda m, k: m.stage_expr[k], sense=pyo.minimize)
    m.objectif.deactivate()
    m.fixe = pyo.Constraint(pyo.Any)
    for stage, bound in (fixed or {}).items():
        m.fixe[stage] = m.stage_expr[stage] <= bound
    if values is not None:
        for var, val in zip(column, values.tolist()):
            var.set_value(val, skip_validation=True)
    return m
