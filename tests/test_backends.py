"""One backend interface: HiGHS direct and Pyomo's solvers reach the same stage optima.

``appsi_highs`` (Pyomo driving HiGHS through its own interface) needs nothing more than the
package's dependencies, so the Pyomo path is checked on every machine; GLPK where it is
installed (CI installs it).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyomo.environ as pyo
import pytest

import fluxopt
from cli_instances import EXEMPLE, bundled_instances
from fluxopt.api import solve_built
from fluxopt.problems import UsageError
from fluxopt.solution import Termination
from fluxopt.solvers.highs import HighsBackend

# GLPK comes from Debian (scripts/install-debian-tools.sh, run by README's test command and .ci/run).
PYOMO_SOLVERS = ["appsi_highs", "glpk"]


def test_glpk_is_installed() -> None:
    assert shutil.which("glpsol"), "glpsol is missing: bash scripts/install-debian-tools.sh installs it"
STRICT_INFEASIBLE = {"cil.strict": True, "cil.part_q1_hors_qpv": 0.9}


@pytest.mark.parametrize("solver", PYOMO_SOLVERS)
@pytest.mark.parametrize("instance", bundled_instances(), ids=lambda p: p.name)
def test_same_optima_as_highs(instance: Path, solver: str) -> None:
    highs = fluxopt.solve(instance)
    other = fluxopt.solve(instance, solver=solver)
    assert highs.status is other.status is Termination.OPTIMAL
    assert other.summary.solver.name == solver and highs.summary.solver.name == "highs"
    assert other.objectives.keys() == highs.objectives.keys()
    for stage, value in highs.objectives.items():
        assert other.objectives[stage] == pytest.approx(value, rel=1e-5, abs=1e-5), stage


@pytest.mark.parametrize("solver", ["highs", *PYOMO_SOLVERS])
def test_strict_infeasible_instance_is_infeasible(solver: str) -> None:
    result = fluxopt.solve(EXEMPLE, solver=solver, overrides=STRICT_INFEASIBLE)
    assert result.status is Termination.INFEASIBLE
    assert not result.has_solution and result.shares.empty
    (stage,) = result.stages
    assert stage.name == "ecart_cil" and stage.raw_status  # the solver's own word is kept


def test_highs_stages_keep_raw_status_duals_and_fixing_rows() -> None:
    result = fluxopt.solve(EXEMPLE, keep_duals=True)
    solution = result.solution
    assert [s.raw_status for s in solution.stages] == ["Optimal"] * 4
    assert list(solution.fixed) == ["ecart_cil", "ecart_max", "ecart_total"] + ["regularite"]
    for k, stage in enumerate(solution.stages):
        assert stage.duals is not None and len(stage.duals) == result.lp.num_row + k
        assert solution.fixed[stage.name] == pytest.approx(stage.optimum + 1e-6 * max(1.0, abs(stage.optimum)))
    assert solution.solver.version.count(".") == 2
    assert result.summary.versions.highspy == solution.solver.version


def test_solving_twice_gives_the_same_solution() -> None:
    """The solved state lives in the Solution: a second solve of the same LP starts afresh."""
    built = fluxopt.build(EXEMPLE)
    first, second = solve_built(built), solve_built(built)
    assert first.objectives == second.objectives
    assert list(first.solution.fixed) == list(second.solution.fixed) == list(built.policy.ordre)
    assert np.array_equal(first.solution.values, second.solution.values)


def test_result_model_holds_the_solution_and_the_fixing_rows() -> None:
    result = fluxopt.solve(EXEMPLE)
    model = result.model
    assert sorted(k for k in model.fixe) == sorted(result.solution.fixed)
    for stage, value in result.objectives.items():  # each stage within its fixing row's slack
        assert value - 1e-9 <= pyo.value(model.stage_expr[stage]) <= result.solution.fixed[stage] + 1e-9
    x_total = sum(pyo.value(v) for v in model.x.values())
    # The tables are cleaned of solver noise: each X moves by at most 10 x 1e-6 x max(1, T).
    assert x_total == pytest.approx(result.shares["logements"].sum(), rel=1e-5)


def test_unknown_solver_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="nosuch"):
        fluxopt.solve(EXEMPLE, solver="nosuch")


@pytest.mark.parametrize("limit", [0, -1, float("nan"), float("inf"), "abc", True])
def test_bad_time_limit_is_a_usage_error(limit: object) -> None:
    with pytest.raises(UsageError, match="time_limit"):
        fluxopt.solve(EXEMPLE, time_limit=limit)  # type: ignore[arg-type]


def test_highs_runs_after_pyomo_started_its_scheduler() -> None:
    """Pyomo's appsi_highs starts HiGHS's process-wide thread scheduler with its default thread
    count; the direct backend (one thread) must still run afterwards."""
    fluxopt.solve(EXEMPLE, solver="appsi_highs")
    result = fluxopt.solve(EXEMPLE)
    assert result.status is Termination.OPTIMAL, [s.raw_status for s in result.stages]


def test_time_limit_counts_each_stage_from_its_start() -> None:
    """HiGHS's run clock adds up the runs of one object, and its time limit is read on that clock:
    the limit given to a later stage is shifted by the time the earlier runs took."""
    built = fluxopt.build(EXEMPLE)
    backend = HighsBackend(built.lp)
    backend.set_objective("ecart_cil")
    assert backend.run(None).termination is Termination.OPTIMAL
    spent = backend.highs.getRunTime()
    assert spent > 0
    backend.set_objective("ecart_max")
    assert backend.run(5.0).termination is Termination.OPTIMAL
    _, limit = backend.highs.getOptionValue("time_limit")
    assert spent + 5.0 <= limit <= backend.highs.getRunTime() + 5.0


def test_pyomo_backend_solves_an_lp_without_rows(tmp_path: Path) -> None:
    """One right of 0 dwellings and no CIL: no active pair, no row; every stage is optimal at 0."""
    folder = tmp_path / "i"
    folder.mkdir()
    (folder / "instance.toml").write_text('nom="t"\nterritoire="33"\nannee=2025\npolitique="elan-2020"\n')
    (folder / "patrimoine.csv").write_text("bailleur,commune,epci,qpv,logements,liberations\nB1,33063,243300316,0,100,10\n")
    (folder / "reservataires.csv").write_text("reservataire,type\nAL,action_logement\n")
    (folder / "stock.csv").write_text("bailleur,reservataire,commune,qpv,logements_reserves\nB1,AL,33063,0,0\n")
    for solver in ("highs", "appsi_highs"):
        result = fluxopt.solve(folder, solver=solver)
        assert result.status is Termination.OPTIMAL and result.objectives == dict.fromkeys(result.objectives, 0.0)


def test_a_pyomo_solver_first_in_a_fresh_process_then_the_controlled_rounding() -> None:
    """The controlled rounding (HiGHS, one thread) after appsi_highs started the scheduler with
    more threads, in a process where nothing ran before: it failed with 'Not Set'."""
    import subprocess
    import sys

    code = ("import fluxopt; r = fluxopt.solve(%r, solver='appsi_highs'); "
            "print(r.status.value, int(r.shares['logements_arrondis'].sum()))" % str(EXEMPLE))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["optimal", str(int(fluxopt.solve(EXEMPLE).shares["logements_arrondis"].sum()))]


@pytest.mark.parametrize("solver", PYOMO_SOLVERS)
def test_counterfactuals_with_a_pyomo_solver(solver: str) -> None:
    """A relaxed CIL target is a free row, which the Pyomo model leaves out: the issue's example
    gives the same checked reason as with HiGHS (PREF would get 27 without the CIL target)."""
    result = fluxopt.solve(EXEMPLE, overrides={"cil.part_q1_hors_qpv": 0.6}, solver=solver, keep_duals=True)
    (pref,) = [p for p in fluxopt.explain(result).pairs if p.reservataire == "PREF"]
    assert [(r.code, r.params["sens"]) for r in pref.reasons] == [("cil_hors_qpv", "pousse")]
    assert pref.reasons[0].params["contrefactuel"] == pytest.approx(27.0, abs=1e-4)
