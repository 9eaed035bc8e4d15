"""Regression tests of issue 10: every class of bad input ends in a clean problem (file, row,
column), never a traceback, a wrap-around or a silently wrong answer."""

from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from inputs_support import EXEMPLE, document

import fluxopt
from fluxopt.cli import main
from fluxopt.problems import InstanceError, Problem, UsageError
from fluxopt.validate import validate

ROOT = Path(__file__).resolve().parents[1]


def _copy(tmp_path: Path, name: str = "inst") -> Path:
    return Path(shutil.copytree(EXEMPLE, tmp_path / name))


def _set_cell(folder: Path, table: str, row: int, column: str, value: str) -> None:
    """Set one cell of a CSV file (``row`` counted as the file's line, header = 1)."""
    import csv

    path = folder / f"{table}.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        lines = list(csv.reader(fh))
    header = lines[0]
    if column not in header:
        header.append(column)
        for line in lines[1:]:
            line.append("")
    lines[row - 1][header.index(column)] = value
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(lines)


def _errors(source: Any) -> list[Problem]:
    problems, instance = validate(source)
    assert instance is None, "the instance should be invalid"
    return [p for p in problems if p.severity == "error"]


def _one(source: Any, file: str, row: int | None, column: str | None) -> Problem:
    found = [p for p in _errors(source) if p.file == file and p.row == row and p.column == column]
    assert found, f"no error at {file}, {row}, {column}: {_errors(source)}"
    with pytest.raises(InstanceError):
        fluxopt.load_instance(source)
    return found[0]


# ---- class 1: integers beyond int64 never wrap ------------------------------------------------------------

@pytest.mark.parametrize("value", ["9223372036854775808", "9223372036854775807", "1e308", "1" * 30, "10000001"])
@pytest.mark.parametrize("table, column", [("stock", "logements_reserves"), ("patrimoine", "logements"),
                                           ("patrimoine", "logements_hors_flux")])
def test_huge_integers_are_refused(tmp_path: Path, table: str, column: str, value: str) -> None:
    folder = _copy(tmp_path)
    _set_cell(folder, table, 2, column, value)
    problem = _one(folder, f"{table}.csv", 2, column)
    assert "too large" in problem.message and "-9223372036854775808" not in problem.message


def test_huge_integers_through_the_api_and_json(tmp_path: Path) -> None:
    for value in (2**63 - 1, 2**63, 10**30, 10**400):
        doc = document()
        doc["stock"][0]["logements_reserves"] = value
        _one(doc, "stock (JSON)", 1, "logements_reserves")
    path = tmp_path / "big.json"
    path.write_text(json.dumps(document()).replace('"logements_reserves": 60', '"logements_reserves": ' + "9" * 5000))
    with pytest.raises(InstanceError, match="thousands of digits"):
        fluxopt.load_instance(path)


# ---- class 2: crashes -------------------------------------------------------------------------------------

@pytest.mark.parametrize("column", ["liberations", "mises_en_service", "mutations_internes", "relogements"])
@pytest.mark.parametrize("value", ["1e16", "1e308", "1000000001"])
def test_flows_beyond_what_the_solver_accepts(tmp_path: Path, column: str, value: str) -> None:
    folder = _copy(tmp_path)
    _set_cell(folder, "patrimoine", 2, column, value)
    assert "too large" in _one(folder, "patrimoine.csv", 2, column).message


def test_a_huge_cell_is_a_problem(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    _set_cell(folder, "reservataires", 2, "nom", "x" * 200_000)
    problem = _one(folder, "reservataires.csv", 2, None)
    assert "longer than" in problem.message


def test_a_table_that_is_a_folder_or_a_broken_link(tmp_path: Path) -> None:
    folder = _copy(tmp_path, "a")
    (folder / "cil.csv").unlink()
    (folder / "cil.csv").mkdir()
    assert "folder" in _one(folder, "cil.csv", None, None).message
    other = _copy(tmp_path, "b")
    (other / "stock.csv").unlink()
    os.symlink(other / "nowhere.csv", other / "stock.csv")
    assert "cannot be read" in _one(other, "stock.csv", None, None).message


@pytest.mark.parametrize("order", [[["ecart_cil"]], [{"a": 1}], "ecart_cil", [1, 2], []])
def test_objective_order_must_be_a_list_of_names(tmp_path: Path, order: Any) -> None:
    with pytest.raises(InstanceError, match="objectif.ordre"):
        fluxopt.solve(EXEMPLE, overrides={"objectif.ordre": order})
    doc = document()
    doc["instance"]["surcharges"] = {"objectif": {"ordre": order}}
    _one(doc, "instance (JSON)", None, "surcharges.objectif.ordre")
    result = CliRunner().invoke(main, ["solve", str(EXEMPLE), "-o", str(tmp_path / "o"), "--set",
                                       f"objectif.ordre={json.dumps(order)}"])
    assert result.exit_code == 2 and result.exception is None or isinstance(result.exception, SystemExit)
    assert "objectif.ordre" in result.output and not (tmp_path / "o").exists()


@pytest.mark.parametrize("value", ["1" * 300, "1e300", "inf", "nan", "-5", "0.5"])
def test_tolerance_is_finite_and_small(tmp_path: Path, value: str) -> None:
    result = CliRunner().invoke(main, ["solve", str(EXEMPLE), "-o", str(tmp_path / "o"), "--set",
                                       f"objectif.tolerance={value}"])
    assert result.exit_code == 2, result.output
    assert "between 0 and 0.1" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("annee", ["1" * 300, "1e300", "-5", "20250", "2025.5", "true", "[2025]"])
def test_annee_is_a_plausible_year(tmp_path: Path, annee: str) -> None:
    folder = _copy(tmp_path)
    text = (folder / "instance.toml").read_text(encoding="utf-8")
    (folder / "instance.toml").write_text(text.replace("annee = 2025", f"annee = {annee}"), encoding="utf-8")
    assert "annee" in _one(folder, "instance.toml", 3, "annee").message


@pytest.mark.parametrize("value", ["-5", "1899", "2201", "1e300", "2030.5"])
def test_fin_droits_is_a_plausible_year(tmp_path: Path, value: str) -> None:
    folder = _copy(tmp_path)
    _set_cell(folder, "stock", 2, "fin_droits", value)
    assert "year between 1900 and 2200" in _one(folder, "stock.csv", 2, "fin_droits").message


def test_deeply_nested_json(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InstanceError, match="nested too deeply"):
        fluxopt.load_instance(path)


@pytest.mark.parametrize("cell", [[1, 2], {"a": 1}, (1,)])
def test_an_array_as_a_cell(cell: Any) -> None:
    doc = document()
    doc["patrimoine"][0]["logements"] = cell
    _one(doc, "patrimoine (JSON)", 1, "logements")


def test_a_numpy_array_as_a_cell() -> None:
    import numpy as np
    import pandas as pd

    doc = document()
    frame = pd.DataFrame(doc["patrimoine"])
    frame["logements"] = frame["logements"].astype(object)
    frame.at[0, "logements"] = np.array([1, 2])
    doc["patrimoine"] = frame
    _one(doc, "patrimoine (JSON)", 1, "logements")


@pytest.mark.parametrize("kwargs", [{"time_limit": "abc"}, {"time_limit": float("nan")}, {"time_limit": -1},
                                    {"time_limit": True}, {"solver": 123}, {"solver": "no such"}, {"solver": "nosuch"}])
def test_bad_arguments_raise_usage_error(kwargs: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        fluxopt.solve(EXEMPLE, **kwargs)


@pytest.mark.parametrize("overrides", [[1, 2], "plafonds.prefet=0.2", 3])
def test_overrides_that_are_not_a_mapping(overrides: Any) -> None:
    with pytest.raises(InstanceError, match="mapping"):
        fluxopt.solve(EXEMPLE, overrides=overrides)


def test_unknown_solver_prints_no_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["solve", str(EXEMPLE), "-o", str(tmp_path / "o"), "--solver", "nosuch"])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_a_lone_surrogate_in_a_name(tmp_path: Path) -> None:
    doc = document()
    doc["reservataires"][0]["nom"] = "Pr\ud800fet"
    doc["instance"]["nom"] = "ex\udfffemple"
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc), encoding="utf-8")  # ensure_ascii: written as \\ud800 escapes
    result = fluxopt.solve(path)
    out = fluxopt.write_result(result, tmp_path / "out")
    assert "\ufffd" in json.loads((out / "summary.json").read_text(encoding="utf-8"))["instance"]["nom"]


# ---- class 5: accepted without a word -----------------------------------------------------------------------

@pytest.mark.parametrize("value", ["1_000", "١٠٠", "٣", "0x10", "1e3_0", "true"])
def test_number_syntax_is_strict(tmp_path: Path, value: str) -> None:
    folder = _copy(tmp_path)
    _set_cell(folder, "stock", 2, "logements_reserves", value)
    assert "not a number" in _one(folder, "stock.csv", 2, "logements_reserves").message


def test_booleans_are_not_numbers() -> None:
    doc = document()
    doc["stock"][0]["logements_reserves"] = True
    _one(doc, "stock (JSON)", 1, "logements_reserves")


@pytest.mark.parametrize("value", ["[33]", "true", "{a = 1}", "1e300", "-5", "'3 3'"])
def test_territoire_is_a_code(tmp_path: Path, value: str) -> None:
    folder = _copy(tmp_path)
    text = (folder / "instance.toml").read_text(encoding="utf-8")
    (folder / "instance.toml").write_text(text.replace('territoire = "33"', f"territoire = {value}"), encoding="utf-8")
    assert "département code" in _one(folder, "instance.toml", 2, "territoire").message


@pytest.mark.parametrize("value", ["nan", "inf", "0"])
def test_time_limit_must_be_positive_and_finite(tmp_path: Path, value: str) -> None:
    result = CliRunner().invoke(main, ["solve", str(EXEMPLE), "-o", str(tmp_path / "o"), "--time-limit", value])
    assert result.exit_code == 2 and "--time-limit" in result.output and not (tmp_path / "o").exists()


def test_valid_numbers_still_read(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    _set_cell(folder, "stock", 2, "logements_reserves", " 60 ")
    _set_cell(folder, "patrimoine", 2, "liberations", "1.2e1")
    inst = fluxopt.load_instance(folder)
    assert int(inst.stock["logements_reserves"].iloc[0]) == 60
    assert copy.copy(inst.patrimoine["liberations"].iloc[0]) == 12.0


# ---- class 3: the output folder -------------------------------------------------------------------------------

def _solve(*args: Any) -> Any:
    return CliRunner().invoke(main, ["solve", *map(str, args)])


def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _leftovers(parent: Path, name: str) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{name}."))


def test_unwritable_out_is_refused_before_any_work(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    broken = tmp_path / "broken"
    broken.mkdir()  # not an instance: the --out problem must come first, before loading
    result = _solve(broken, "-o", blocker / "sub" / "r")
    assert result.exit_code == 2 and "is a file, not a folder" in result.output
    assert "patrimoine" not in result.output
    result = _solve(EXEMPLE, "-o", tmp_path / ("n" * 300))
    assert result.exit_code == 2 and "too long" in result.output
    result = _solve(broken, "-o", tmp_path / "new" / "deeper" / "r")
    assert result.exit_code == 2 and not (tmp_path / "new").exists()  # no parent folder left behind either


def test_read_only_parent_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A parent folder without write permission (seen through os.access, which also holds for root,
    who would otherwise write anywhere) is refused before any work."""
    parent = tmp_path / "ro"
    parent.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if Path(path) == parent
                        else real_access(path, mode, **kw))
    result = _solve(EXEMPLE, "-o", parent / "r")
    assert result.exit_code == 2 and "cannot be written" in result.output
    assert not (parent / "r").exists()


def test_foreign_files_are_named_and_kept(tmp_path: Path) -> None:
    out = tmp_path / "r"
    assert _solve(EXEMPLE, "-o", out, "-q").exit_code == 0
    (out / "mes-notes.txt").write_text("keep me")
    result = _solve(EXEMPLE, "-o", out, "-q")
    assert result.exit_code == 2 and "mes-notes.txt" in result.output
    assert (out / "mes-notes.txt").read_text() == "keep me" and (out / "parts.csv").is_file()
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "summary.json").write_text("{}")
    (stray / "data.csv").write_text("a,b")
    result = _solve(EXEMPLE, "-o", stray, "-q")
    assert result.exit_code == 2 and "data.csv" in result.output and (stray / "data.csv").is_file()
    with pytest.raises(UsageError, match="mes-notes.txt"):
        fluxopt.write_result(fluxopt.solve(EXEMPLE), out)


@pytest.mark.parametrize("where", ["same", "inside", "parent"])
def test_force_never_replaces_the_instance(tmp_path: Path, where: str) -> None:
    folder = _copy(tmp_path)
    out = {"same": folder, "inside": folder / "res", "parent": tmp_path}[where]
    before = sorted(p.name for p in folder.iterdir())
    result = _solve(folder, "-o", out, "--force", "-q")
    assert result.exit_code == 2 and "input instance" in result.output
    assert sorted(p.name for p in folder.iterdir()) == before
    result = _solve(folder / "stock.csv", "-o", out, "--force", "-q")
    assert result.exit_code == 2 and "input instance" in result.output


def test_a_held_lock_refuses_a_second_run(tmp_path: Path) -> None:
    from fluxopt.write import output_folder

    out = tmp_path / "r"
    with output_folder(out):
        result = _solve(EXEMPLE, "-o", out, "-q")
        assert result.exit_code == 2 and "another fluxopt run" in result.output
    assert _solve(EXEMPLE, "-o", out, "-q").exit_code == 0
    assert _leftovers(tmp_path, "r") == []  # the lock file is removed too


def test_stale_scratch_folders_are_cleaned(tmp_path: Path) -> None:
    out = tmp_path / "r"
    dead = _dead_pid()
    (tmp_path / f".r.tmp-{dead}-abc").mkdir()
    (tmp_path / f".r.tmp-{dead}-abc" / "parts.csv").write_text("x")
    (tmp_path / ".r.tmp-1-live").mkdir()  # pid 1 is alive: not ours to remove
    (tmp_path / ".other.tmp-99999999-x").mkdir()  # another folder's
    assert _solve(EXEMPLE, "-o", out, "-q").exit_code == 0
    assert _leftovers(tmp_path, "r") == [".r.tmp-1-live"]
    assert (tmp_path / ".other.tmp-99999999-x").is_dir()


def test_a_result_left_aside_by_a_killed_run_is_restored(tmp_path: Path) -> None:
    from fluxopt.write import clean_stale

    out = tmp_path / "r"
    assert _solve(EXEMPLE, "-o", out, "-q").exit_code == 0
    out.rename(tmp_path / f".r.old-{_dead_pid()}")
    clean_stale(out)
    assert (out / "summary.json").is_file() and _leftovers(tmp_path, "r") == []


def _start_paused(tmp_path: Path, out: Path, pause: float) -> Any:
    import subprocess
    import sys

    env = {**os.environ, "FLUXOPT_TEST_WRITE_PAUSE": str(pause)}
    return subprocess.Popen([sys.executable, "-m", "fluxopt", "solve", str(EXEMPLE), "-o", str(out), "-q"],
                            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for_scratch(parent: Path, name: str, proc: Any) -> Path:
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = [p for p in parent.glob(f".{name}.tmp-*") if (p / "summary.json").is_file()]
        if found:
            return found[0]
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("the run never reached its write")


@pytest.mark.parametrize("earlier", [False, True])
def test_kill_9_mid_write_leaves_nothing_after_the_next_run(tmp_path: Path, earlier: bool) -> None:
    import signal

    out = tmp_path / "r"
    if earlier:
        assert _solve(EXEMPLE, "-o", out, "-q", "--set", "plafonds.prefet=0.2").exit_code == 0
    proc = _start_paused(tmp_path, out, 60)
    _wait_for_scratch(tmp_path, "r", proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert any(name.startswith(".r.tmp-") for name in _leftovers(tmp_path, "r"))
    if earlier:  # the earlier result is untouched
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        assert summary["politique"]["valeurs"]["plafonds.prefet"] == 0.2
    else:
        assert not out.exists()
    assert _solve(EXEMPLE, "-o", out, "-q").exit_code == 0
    assert _leftovers(tmp_path, "r") == [] and (out / "parts.csv").is_file()


def test_two_solves_into_one_folder_do_not_race(tmp_path: Path) -> None:
    out = tmp_path / "r"
    proc = _start_paused(tmp_path, out, 3)
    _wait_for_scratch(tmp_path, "r", proc)
    second = _solve(EXEMPLE, "-o", out, "-q")
    assert second.exit_code == 2 and "another fluxopt run" in second.output
    assert proc.wait(timeout=60) == 0
    assert (out / "parts.csv").is_file() and _leftovers(tmp_path, "r") == []


# ---- class 4: time and memory -----------------------------------------------------------------------------------

def test_a_model_above_the_memory_budget_is_refused(tmp_path: Path) -> None:
    from fluxopt.problems import ModelTooLarge

    result = _solve(EXEMPLE, "-o", tmp_path / "r", "--memory-limit", "0.01")
    assert result.exit_code == 2 and "would need about" in result.output and "GiB" in result.output
    assert not (tmp_path / "r").exists()
    with pytest.raises(ModelTooLarge):
        fluxopt.solve(EXEMPLE, memory_limit=0.01)
    with pytest.raises(UsageError):
        fluxopt.solve(EXEMPLE, memory_limit=float("nan"))
    assert fluxopt.solve(EXEMPLE, memory_limit=4).status == "optimal"


def test_the_size_estimate_bounds_the_model() -> None:
    from fluxopt.lp import estimate_size

    for name in ("exemple", "creuse-23", "gironde-33"):
        built = fluxopt.build(ROOT / "instances" / name)
        estimate = estimate_size(built.instance)
        assert estimate.x >= len(built.lp.columns["x"].index)
        assert estimate.columns >= built.lp.num_col and estimate.rows >= built.lp.num_row
        assert estimate.nonzeros >= len(built.lp.value)


def test_a_deadline_stops_the_build_and_the_stages(tmp_path: Path) -> None:
    import time

    from fluxopt.problems import TimeLimitReached
    from fluxopt.stages import run_stages

    with pytest.raises(TimeLimitReached, match="while building the model"):
        fluxopt.build(EXEMPLE, deadline=time.monotonic() - 1)
    built = fluxopt.build(EXEMPLE)
    solution = run_stages(built.lp, built.policy, deadline=time.monotonic() - 1)
    assert solution.termination.value == "time_limit" and solution.values is None


def test_cli_time_limit_before_the_model_is_built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import fluxopt.lp

    monkeypatch.setitem(fluxopt.lp.SECONDS_PER_NONZERO, "build", 10.0)  # as if the build were very slow
    result = _solve(EXEMPLE, "-o", tmp_path / "r", "--time-limit", "1")
    assert result.exit_code == 4 and "time limit reached while building the model" in result.output
    assert not (tmp_path / "r").exists() and _leftovers(tmp_path, "r") == []


# ---- contracts for programs ---------------------------------------------------------------------------------------

def test_summary_has_a_schema_version(tmp_path: Path) -> None:
    from fluxopt.result import SCHEMA_VERSION

    out = fluxopt.write_result(fluxopt.solve(EXEMPLE), tmp_path / "r")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert next(iter(summary)) == "schema_version" and summary["schema_version"] == SCHEMA_VERSION


def test_solve_json_prints_one_document_and_nothing_else(tmp_path: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "fluxopt", "solve", str(EXEMPLE), "-o", str(tmp_path / "r"), "--json"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)  # the whole of stdout is one JSON document
    assert document["statut"] == "optimal" and document["version_schema"] == "1.0"
    assert set(document["tables"]) == {"parts", "segments", "cil", "bailleurs"}
    parts = document["tables"]["parts"]
    on_disk = (tmp_path / "r" / "parts.csv").read_text(encoding="utf-8").splitlines()
    assert len(parts) == len(on_disk) - 1 and set(parts[0]) == set(on_disk[0].split(","))
    assert document["objectifs"] == document["resume"]["objectifs"]
    assert document["explications"]["markdown"].startswith("# ")
    assert "base" in proc.stderr  # the human-readable table went to stderr

    bad = tmp_path / "bad"
    bad.mkdir()
    proc = subprocess.run([sys.executable, "-m", "fluxopt", "solve", str(bad), "-o", str(tmp_path / "b"), "--json"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    document = json.loads(proc.stdout)
    assert document["statut"] == "invalide" and document["problemes"][0]["fichier"]


def test_compare_warns_about_different_instances(tmp_path: Path) -> None:
    from fluxopt.compare import compare_results

    a = fluxopt.write_result(fluxopt.solve(EXEMPLE), tmp_path / "a")
    b = fluxopt.write_result(fluxopt.solve(ROOT / "instances" / "creuse-23"), tmp_path / "b")
    c = fluxopt.write_result(fluxopt.solve(EXEMPLE, overrides={"plafonds.prefet": 0.2}), tmp_path / "c")
    assert compare_results(a, c).warnings == ()
    assert "different instances" in compare_results(a, b).warnings[0]
    other = _copy(tmp_path, "autre")
    _set_cell(other, "stock", 2, "logements_reserves", "61")
    d = fluxopt.write_result(fluxopt.solve(other), tmp_path / "d")
    assert "SHA-256" in compare_results(a, d).warnings[0]
    result = CliRunner().invoke(main, ["compare", str(a), str(b)])
    assert result.exit_code == 0 and "warning: A and B are results of different instances" in result.output


def test_comparison_workbook_is_formatted_and_missing_values_are_empty(tmp_path: Path) -> None:
    import openpyxl

    from fluxopt.batch import solve_many

    bad = tmp_path / "bad"
    bad.mkdir()
    table = solve_many([EXEMPLE, bad], out=tmp_path / "out", jobs=1, progress=False)
    text = (tmp_path / "out" / "comparaison.csv").read_text(encoding="utf-8")
    assert "nan" not in text.lower().replace("nanc", "") and "None" not in text
    sheet = openpyxl.load_workbook(tmp_path / "out" / "comparaison.xlsx").active
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.bold
    header = [c.value for c in sheet[1]]
    assert sheet.cell(2, header.index("prefet_pct") + 1).number_format == "0.00%"
    assert sheet.cell(3, header.index("flux_base") + 1).value is None  # the failed job: an empty cell
    assert len(table) == 2


def test_a_failed_batch_job_folder_is_replaced_by_the_next_run(tmp_path: Path) -> None:
    from fluxopt.batch import solve_many

    folder = _copy(tmp_path, "inst")
    _set_cell(folder, "stock", 2, "logements_reserves", "-1")
    first = solve_many([folder], out=tmp_path / "out", jobs=1, progress=False)
    assert first["status"].tolist() == ["invalid"]
    _set_cell(folder, "stock", 2, "logements_reserves", "60")
    second = solve_many([folder], out=tmp_path / "out", jobs=1, progress=False)
    assert second["status"].tolist() == ["optimal"], second["message"].tolist()
