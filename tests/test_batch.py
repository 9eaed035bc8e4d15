"""Batch runs, scenarios, comparison table, Dask executor and `compare` (issue 6)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from fluxopt.batch import COLUMNS, Job, load_scenarios, run_job, solve_many
from fluxopt.cli_batch import batch, compare
from fluxopt.compare import compare_results
from fluxopt.problems import PolicyError

EXEMPLE = Path(__file__).resolve().parents[1] / "instances" / "exemple"
SCENARIOS = {"stock": {"equivalence.methode": "stock"}, "prefet15": {"plafonds.prefet": 0.15}}
TIMINGS = [c for c in COLUMNS if c.startswith("temps_") or c == "memoire_max_mib"]


@pytest.fixture(scope="module")
def instances(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """exemple, a renamed copy, and a broken copy (rights of an unknown réservataire)."""
    root = tmp_path_factory.mktemp("instances")
    bis = shutil.copytree(EXEMPLE, root / "bis")
    broken = shutil.copytree(EXEMPLE, root / "casse")
    stock = broken / "stock.csv"
    stock.write_text(stock.read_text().replace("B1,BX,33063,oui", "B1,XX,33063,oui"))
    return [EXEMPLE, broken, bis]


@pytest.fixture(scope="module")
def run(instances: list[Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path]:
    out = tmp_path_factory.mktemp("batch")
    return solve_many(instances, scenarios=SCENARIOS, jobs=2, out=out, progress=False), out


def test_table_rows_columns_and_order(run: tuple[pd.DataFrame, Path]) -> None:
    table, out = run
    assert list(table.columns) == COLUMNS
    assert list(zip(table["instance"], table["scenario"])) == [
        (i, s) for i in ("exemple", "casse", "bis") for s in ("base", "stock", "prefet15")
    ]
    saved = pd.read_csv(out / "comparaison.csv", dtype={"territoire": str})
    assert list(saved.columns) == COLUMNS and len(saved) == 9
    assert len(pd.read_excel(out / "comparaison.xlsx")) == 9


def test_broken_instance_is_reported_and_others_solved(run: tuple[pd.DataFrame, Path]) -> None:
    table, out = run
    broken = table[table["instance"] == "casse"]
    assert set(broken["status"]) == {"invalid"}
    assert broken["message"].str.contains("stock.csv").all()
    assert json.loads((out / "casse" / "base" / "summary.json").read_text())["status"] == "invalid"
    solved = table[table["instance"] != "casse"]
    assert set(solved["status"]) == {"optimal"}
    for folder in solved["dossier"]:
        assert (out / folder / "parts.csv").is_file()


def test_base_row_matches_a_single_solve(run: tuple[pd.DataFrame, Path]) -> None:
    row = run[0].iloc[0]
    assert row["flux_base"] == pytest.approx(120.0)
    assert row["paires"] == 3
    assert row["objectif_regularite"] == pytest.approx(6.916666, abs=1e-4)
    assert row["deficit_cil"] == pytest.approx(0.0, abs=1e-6)
    assert row["prefet_pct"] == pytest.approx(22.5, abs=1e-4)
    assert row["prefet_pct"] + row["part_propre_pct"] < 100


def test_scenarios_change_the_table(run: tuple[pd.DataFrame, Path]) -> None:
    rows = run[0].set_index(["instance", "scenario"])
    assert rows.loc[("exemple", "stock"), "prefet_pct"] == pytest.approx(20.0, abs=1e-4)
    assert rows.loc[("exemple", "prefet15"), "prefet_pct"] == pytest.approx(15.0, abs=1e-4)
    assert rows.loc[("exemple", "prefet15"), "ecart_relatif_max"] > 0.3
    assert rows.loc[("exemple", "stock"), "objectif_regularite"] != rows.loc[("exemple", "base"), "objectif_regularite"]


def test_one_job_and_two_jobs_agree(run: tuple[pd.DataFrame, Path], instances: list[Path], tmp_path: Path) -> None:
    alone = solve_many(instances, scenarios=SCENARIOS, jobs=1, out=tmp_path, progress=False)
    pd.testing.assert_frame_equal(alone.drop(columns=TIMINGS), run[0].drop(columns=TIMINGS))


def test_scenario_file_dotted_and_nested_keys(tmp_path: Path) -> None:
    path = tmp_path / "scenarios.toml"
    path.write_text('[scenarios.stock]\nequivalence.methode = "stock"\n\n'
                    '[scenarios.prefet25]\n"plafonds.prefet" = 0.25\n', encoding="utf-8")
    assert load_scenarios(path) == {
        "base": {}, "stock": {"equivalence.methode": "stock"}, "prefet25": {"plafonds.prefet": 0.25},
    }
    path.write_text('[scenarios.typo]\n"plafonds.prefett" = 0.25\n', encoding="utf-8")
    with pytest.raises(PolicyError, match="did you mean 'plafonds.prefet'"):
        solve_many([EXEMPLE], scenarios=path)


def test_dask_local_cluster(instances: list[Path], run: tuple[pd.DataFrame, Path], tmp_path: Path) -> None:
    from dask import distributed  # in the test extra
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        table = solve_many(instances, scenarios=SCENARIOS, executor="dask", scheduler=cluster.scheduler_address,
                           out=tmp_path, progress=False)
    pd.testing.assert_frame_equal(table.drop(columns=TIMINGS), run[0].drop(columns=TIMINGS))


def test_cli_batch_exit_code(instances: list[Path], tmp_path: Path) -> None:
    result = CliRunner().invoke(batch, [*map(str, instances[:2]), "--out", str(tmp_path), "--jobs", "1"])
    assert result.exit_code == 1, result.output
    assert "casse [base]: invalid" in result.output
    assert (tmp_path / "comparaison.csv").is_file()


def test_compare_two_result_folders(run: tuple[pd.DataFrame, Path], tmp_path: Path) -> None:
    out = run[1]
    comp = compare_results(out / "exemple" / "base", out / "exemple" / "prefet15")
    first = comp.pairs.iloc[0]
    assert (first["reservataire"], first["delta_logements"]) == ("PREF", pytest.approx(-9.0, abs=1e-4))
    assert first["delta_flux_pct"] == pytest.approx(-7.5, abs=1e-4)
    assert comp.pairs["delta_logements"].abs().is_monotonic_decreasing
    objectives = comp.objectives.set_index("objectif")["delta"]
    assert objectives["ecart_max"] == pytest.approx(1 / 3, abs=1e-5)

    csv = tmp_path / "diff.csv"
    result = CliRunner().invoke(compare, [str(out / "exemple" / "base"), str(out / "exemple" / "prefet15"),
                                          "--csv", str(csv)])
    assert result.exit_code == 0, result.output
    assert "PREF" in result.output and "ecart_max" in result.output
    assert pd.read_csv(csv).columns[-1] == "delta_logements"
    assert len(pd.read_csv(tmp_path / "diff-objectifs.csv")) == 4


def test_solver_failure_is_a_row() -> None:
    row = run_job(Job((0, 0), str(EXEMPLE), "exemple", "base", solver="no-such-solver"))
    assert row["status"] == "error" and "no-such-solver" in row["message"]
