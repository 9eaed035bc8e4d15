"""The Python API: solve an instance and get typed results (SPEC §5)."""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import highspy
import numpy as np
import pandas as pd
import pyomo
import pyomo.environ as pyo

from fluxopt import __version__
from fluxopt.flux import Baseline, compute_baseline
from fluxopt.instance import Instance, load_instance
from fluxopt.lp import LinearProgram, build_lp
from fluxopt.model import build_model
from fluxopt.policy import STAGES, Policy, load_policy
from fluxopt.problems import Problem
from fluxopt.results import BAILLEURS_COLUMNS, CIL_COLUMNS, SEGMENTS_COLUMNS, SHARES_COLUMNS, lp_values, shape_tables
from fluxopt.stages import Stage, Status, run_stages


@dataclass(eq=False)
class Result:
    """What a solve returns. Tables are empty when there is no solution (``status`` says why)."""

    status: Status
    objectives: dict[str, float]
    shares: pd.DataFrame
    segments: pd.DataFrame
    cil: pd.DataFrame
    bailleurs: pd.DataFrame
    summary: dict[str, Any]
    stages: list[Stage] = field(default_factory=list, repr=False)
    lp: LinearProgram | None = field(default=None, repr=False)
    baseline: Baseline | None = field(default=None, repr=False)
    _model: pyo.ConcreteModel | None = field(default=None, init=False, repr=False)

    @property
    def model(self) -> pyo.ConcreteModel | None:
        """The Pyomo model of the LP, built on first use, with the stages' fixing rows and the last solution."""
        if self._model is None and self.lp is not None:
            self._model = build_model(self.lp)
        return self._model

    @property
    def has_solution(self) -> bool:
        return bool(self.summary.get("has_solution"))

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The result tables by file stem: parts, segments, cil, bailleurs."""
        return {"parts": self.shares, "segments": self.segments, "cil": self.cil, "bailleurs": self.bailleurs}

    def write(self, folder: str | Path) -> Path:
        """Write summary.json and the CSV tables into ``folder`` (created if needed)."""
        from fluxopt.write import write_result

        return write_result(self, Path(folder))


def resolve_policy(inst: Instance, policy: str | Path | Policy | None, overrides: Mapping[str, Any] | None) -> Policy:
    if policy is None:
        chosen = inst.policy
    else:
        chosen = policy if isinstance(policy, Policy) else load_policy(policy)
        chosen = chosen.with_overrides(inst.surcharges, "surcharges")
    return chosen.with_overrides(overrides)


def model_size(lp: LinearProgram) -> dict[str, int]:
    """Variables and constraints of the LP (stage-fixing rows excluded)."""
    return {"variables": lp.num_col, "constraints": lp.num_row}


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


def solve(
    instance: Instance | str | Path | Mapping[str, Any],
    *,
    policy: str | Path | Policy | None = None,
    overrides: Mapping[str, Any] | None = None,
    time_limit: float | None = None,
    solver: str = "highs",
    keep_duals: bool = False,
) -> Result:
    """Compute the flux shares of an instance (SPEC §4) and return a :class:`Result`.

    ``policy`` replaces the instance's policy (its ``[surcharges]`` still apply on top);
    ``overrides`` are dotted policy keys applied last (``{"plafonds.prefet": 0.25}``).
    A strict instance that cannot meet its CIL targets returns status ``infeasible``;
    invalid input raises :class:`fluxopt.InstanceError`.
    """
    inst = instance if isinstance(instance, Instance) else load_instance(instance)
    pol = resolve_policy(inst, policy, overrides)
    t1 = time.perf_counter()
    base = compute_baseline(inst, pol)
    lp = build_lp(base, pol)
    build_seconds = time.perf_counter() - t1
    outcome = run_stages(lp, pol, solver=solver, time_limit=time_limit, keep_duals=keep_duals)

    if outcome.has_solution:
        tables = shape_tables(inst, base, pol, lp_values(lp))
        objectives = {s.name: s.optimum for s in outcome.stages if s.status == "optimal"}
        for name in STAGES:
            objectives.setdefault(name, round(float(np.dot(lp.costs[name], lp.values)), 9))
        objectives = {k: round(float(v), 9) + 0.0 for k, v in objectives.items()}
    else:
        tables = {
            "parts": _empty(SHARES_COLUMNS), "segments": _empty(SEGMENTS_COLUMNS),
            "cil": _empty(CIL_COLUMNS), "bailleurs": _empty(BAILLEURS_COLUMNS),
        }
        objectives = {}
    warnings: list[Problem] = [*inst.warnings, *base.warnings]
    summary = {
        "status": outcome.status,
        "has_solution": outcome.has_solution,
        "objectifs": objectives,
        "stages": [
            {"name": s.name, "status": s.status, "optimum": None if s.optimum is None else round(s.optimum, 9)}
            for s in outcome.stages
        ],
        "instance": {
            "nom": inst.nom, "territoire": inst.territoire, "annee": inst.annee,
            "source": Path(inst.source).name, "sha256": inst.sha256,
        },
        "politique": {"nom": pol.name, "valeurs": pol.to_dict()},
        "options": {"solver": solver, "time_limit": time_limit},
        "warnings": [w.to_dict() for w in warnings],
        "model_size": {
            **model_size(lp),
            "segments": len(base.segments),
            "active_pairs": int(base.pairs["active"].sum()),
            "cil_epci": len(base.cil),
        },
        "solver": {"name": outcome.solver, "version": outcome.solver_version},
        "versions": {
            "fluxopt": __version__, "pyomo": pyomo.version.version, "highspy": highspy.__version__
            if hasattr(highspy, "__version__") else outcome.solver_version,
            "pandas": pd.__version__, "python": platform.python_version(),
        },
        "timings": {
            "load": round(inst.load_seconds, 4),
            "build": round(build_seconds, 4),
            "solve": {s.name: round(s.seconds, 4) for s in outcome.stages},
        },
    }
    return Result(
        status=outcome.status, objectives=objectives, shares=tables["parts"], segments=tables["segments"],
        cil=tables["cil"], bailleurs=tables["bailleurs"], summary=summary, stages=outcome.stages,
        lp=lp, baseline=base,
    )
