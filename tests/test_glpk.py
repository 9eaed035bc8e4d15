"""Cross-check: GLPK (through Pyomo) reaches the same stage optima as HiGHS on every bundled instance."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import fluxopt
from cli_instances import EXEMPLE, bundled_instances

pytestmark = pytest.mark.skipif(shutil.which("glpsol") is None, reason="GLPK (glpsol) is not installed")


@pytest.mark.parametrize("instance", bundled_instances(), ids=lambda p: p.name)
def test_same_optima_as_highs(instance: Path) -> None:
    highs = fluxopt.solve(instance)
    glpk = fluxopt.solve(instance, solver="glpk")
    assert highs.status == glpk.status == "optimal"
    assert glpk.summary["solver"]["name"] == "glpk"
    assert glpk.objectives.keys() == highs.objectives.keys()
    for stage, value in highs.objectives.items():
        assert glpk.objectives[stage] == pytest.approx(value, rel=1e-5, abs=1e-5), stage


def test_glpk_reports_a_strict_infeasible_instance_as_infeasible() -> None:
    result = fluxopt.solve(EXEMPLE, solver="glpk", overrides={"cil.strict": True, "cil.part_q1_hors_qpv": 0.9})
    assert result.status == "infeasible"
