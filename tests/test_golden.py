"""The bundled instances reproduce their checked-in objectives and shares."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import fluxopt
from golden import GOLDEN, INSTANCES


@pytest.mark.parametrize("instance", INSTANCES, ids=lambda p: p.name)
def test_bundled_instance_matches_golden(instance):
    expected = json.loads((GOLDEN / instance.name / "objectives.json").read_text(encoding="utf-8"))
    res = fluxopt.solve(instance)
    assert res.status == "optimal"
    assert res.objectives == pytest.approx(expected, rel=1e-6, abs=1e-6)
    golden = pd.read_csv(GOLDEN / instance.name / "parts.csv", dtype={"bailleur": str, "reservataire": str})
    got = res.shares.reset_index(drop=True)
    assert list(got.columns) == list(golden.columns)
    pd.testing.assert_frame_equal(got, golden, check_dtype=False, rtol=1e-6, atol=1e-4)


def test_output_is_reproducible(tmp_path):
    """Two solves of the same instance write the same bytes (the summary differs only in its timings)."""
    a = fluxopt.write_result(fluxopt.solve(INSTANCES[0]), tmp_path / "a")
    b = fluxopt.write_result(fluxopt.solve(INSTANCES[0]), tmp_path / "b")
    for name in ("parts.csv", "segments.csv", "cil.csv", "bailleurs.csv", "resultats.xlsx"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    sa, sb = (json.loads((f / "summary.json").read_text()) for f in (a, b))
    assert sa.pop("timings").keys() == sb.pop("timings").keys()
    assert sa == sb
    assert sa["instance"]["sha256"] == fluxopt.load_instance(INSTANCES[0]).sha256
