"""The command line through click's runner and through a real subprocess: outputs and exit codes."""

from __future__ import annotations

import gc
import json
import math
import os
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd

from fluxopt.tables import whole_dwellings
import pytest
from click.testing import CliRunner, Result

from cli_instances import EXEMPLE, STRICT_INFEASIBLE, broken, fractional
from fluxopt import __version__
from fluxopt.cli import main
from fluxopt.solution import Termination
from fluxopt.solvers import RunOutcome
from fluxopt.solvers.highs import HighsBackend

TIME_OUT = RunOutcome(Termination.TIME_LIMIT, "Time limit reached", None, None, 0.0)

RESULT_FILES = {"summary.json", "parts.csv", "segments.csv", "cil.csv", "bailleurs.csv", "resultats.xlsx"}


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def sets(*assignments: str) -> list[str]:
    return [x for a in assignments for x in ("--set", a)]


def test_solve_writes_the_result_folder_and_prints_the_table(tmp_path: Path) -> None:
    out = tmp_path / "r"
    res = run("solve", EXEMPLE, "--out", out)
    assert res.exit_code == 0, res.output
    assert {p.name for p in out.iterdir()} == RESULT_FILES  # nothing departs: no explication.md
    assert "bailleur  flux base  prefet  action_logement  commune  own share" in res.stdout
    assert "22.5 %" in res.stdout and "45.0 %" in res.stdout
    assert "ecart_cil" in res.stdout and "regularite" in res.stdout
    assert "stage ecart_cil" in res.stderr and "optimal" in res.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "optimal"


def test_default_out_folder_is_named_after_the_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run("solve", EXEMPLE, "-q").exit_code == 0
    assert (tmp_path / "resultats-exemple" / "parts.csv").is_file()


def test_quiet_prints_nothing(tmp_path: Path) -> None:
    res = run("solve", EXEMPLE, "-o", tmp_path / "r", "--quiet")
    assert res.exit_code == 0
    assert res.stdout == "" and res.stderr == ""


def test_verbose_prints_model_size(tmp_path: Path) -> None:
    res = run("solve", EXEMPLE, "-o", tmp_path / "r", "--verbose")
    assert res.exit_code == 0
    assert "variables" in res.stderr and "solver highs" in res.stderr


def test_an_earlier_result_is_replaced_a_foreign_folder_refused(tmp_path: Path) -> None:
    out = tmp_path / "r"
    assert run("solve", EXEMPLE, "-o", out, "-q").exit_code == 0
    assert run("solve", EXEMPLE, "-o", out, "-q", *sets("plafonds.prefet=0.2")).exit_code == 0
    assert json.loads((out / "summary.json").read_text())["politique"]["valeurs"]["plafonds.prefet"] == 0.2

    foreign = tmp_path / "mes-documents"
    foreign.mkdir()
    (foreign / "note.txt").write_text("keep me")
    res = run("solve", EXEMPLE, "-o", foreign)
    assert res.exit_code == 2
    assert "not an earlier fluxopt result" in res.stderr
    assert [p.name for p in foreign.iterdir()] == ["note.txt"]

    assert run("solve", EXEMPLE, "-o", foreign, "--force", "-q").exit_code == 0
    assert {p.name for p in foreign.iterdir()} == RESULT_FILES


def test_out_must_not_be_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("x")
    assert run("solve", EXEMPLE, "-o", target).exit_code == 2


def test_invalid_instance_lists_every_problem_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "r"
    res = run("solve", broken(tmp_path), "-o", out)
    assert res.exit_code == 2
    assert "patrimoine.csv, row 4, column 'liberations'" in res.stderr
    assert "stock.csv, row 6, column 'reservataire'" in res.stderr and "did you mean 'AL'" in res.stderr
    assert "Traceback" not in res.output
    assert not out.exists()
    assert not list(tmp_path.glob(".r.*"))  # no temporary folder left either


def test_bad_set_key_suggests_the_closest_one(tmp_path: Path) -> None:
    out = tmp_path / "r"
    res = run("solve", EXEMPLE, "-o", out, *sets("plafonds.prefett=0.25"))
    assert res.exit_code == 2
    assert "unknown policy key 'plafonds.prefett'" in res.stderr
    assert "did you mean 'plafonds.prefet'" in res.stderr
    assert not out.exists()


@pytest.mark.parametrize("args", [
    ["solve", str(EXEMPLE), *sets("plafonds.prefet=2")],  # value out of range
    ["solve", str(EXEMPLE), "--set", "no-equals-sign"],
    ["solve", str(EXEMPLE), "--policy", "elan-2002"],
    ["solve", str(EXEMPLE), "--frobnicate"],
    ["solve", str(EXEMPLE), "--quiet", "--verbose"],
    ["solve", str(EXEMPLE), "--time-limit", "-1"],
    ["solve", str(EXEMPLE), "--solver", "no-such-solver"],
    ["solve", "no/such/instance"],
    ["export-lp", str(EXEMPLE), "-o", "model.txt"],
    ["frobnicate"],
])
def test_bad_usage_exits_2(args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    res = run(*args)
    assert res.exit_code == 2, res.output
    assert not list(tmp_path.iterdir())


def test_strict_infeasible_exits_3_with_summary_and_explanation(tmp_path: Path) -> None:
    out = tmp_path / "r"
    res = run("solve", EXEMPLE, "-o", out, *sets(*STRICT_INFEASIBLE))
    assert res.exit_code == 3
    assert {p.name for p in out.iterdir()} == {"summary.json", "explication.md"}
    assert json.loads((out / "summary.json").read_text())["status"] == "infeasible"
    assert "CIL target outside QPV in EPCI 243300316: 90 %" in (out / "explication.md").read_text()
    assert "infeasible" in res.stderr


def test_time_limit_without_solution_exits_4(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(HighsBackend, "run", lambda self, time_limit: TIME_OUT)
    out = tmp_path / "r"
    res = run("solve", EXEMPLE, "-o", out)
    assert res.exit_code == 4
    assert json.loads((out / "summary.json").read_text())["status"] == "time_limit"
    assert "no solution (time_limit: Time limit reached)" in res.stderr


def test_time_limit_after_a_solved_stage_keeps_the_solution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = HighsBackend.run
    calls = []

    def limited(self: HighsBackend, time_limit: float | None) -> RunOutcome:
        calls.append(1)
        return TIME_OUT if len(calls) == 4 else original(self, time_limit)

    monkeypatch.setattr(HighsBackend, "run", limited)
    out = tmp_path / "r"
    res = run("solve", EXEMPLE, "-o", out)
    assert res.exit_code == 0
    assert "time limit reached" in res.stderr
    assert (out / "parts.csv").is_file()


def test_rounded_dwellings_add_up_per_bailleur(tmp_path: Path) -> None:
    out = tmp_path / "r"
    assert run("solve", fractional(tmp_path), "-o", out, "-q").exit_code == 0
    parts = pd.read_csv(out / "parts.csv")
    bailleurs = pd.read_csv(out / "bailleurs.csv")
    assert (parts["logements"] % 1 > 0.01).any()  # the case is not trivial
    assert ((parts["logements_arrondis"] - parts["logements"]).abs() < 1).all()
    whole = whole_dwellings(parts, bailleurs)
    for i, b in bailleurs.iterrows():
        held = parts[parts["bailleur"] == b["bailleur"]]
        assert math.floor(b["part_propre"]) <= whole.propre[i] <= math.ceil(b["part_propre"])
        assert math.floor(b["flux_base"]) <= whole.flux_base[i] <= math.ceil(b["flux_base"])
        assert held["logements_arrondis"].sum() + whole.propre[i] == whole.flux_base[i]


def test_explain_prints_markdown() -> None:
    res = run("explain", EXEMPLE, "-q")
    assert res.exit_code == 0
    assert "nothing departs" in res.stdout


def test_export_lp_and_mps_have_readable_names(tmp_path: Path) -> None:
    for name in ("model.lp", "model.mps"):
        res = run("export-lp", EXEMPLE, "-o", tmp_path / name)
        assert res.exit_code == 0
        text = (tmp_path / name).read_text()
        assert "plafond" in text and "cil_hors_qpv" in text and "PREF" in text


def test_version_and_help_with_examples() -> None:
    assert run("--version").stdout.strip() == f"fluxopt, version {__version__}"
    assert "_FLUXOPT_COMPLETE=bash_source" in run("--help").stdout
    for command in ("solve", "explain", "export-lp"):
        res = run(command, "--help")
        assert res.exit_code == 0 and "Example" in res.stdout and f"fluxopt {command} instances/exemple" in res.stdout
    listed = run("--help").stdout  # the commands of cli_batch and cli_documents too, imported when listed
    assert all(f"  {command}  " in listed for command in ("annexes", "batch", "compare", "rapport"))
    assert run("batch", "--help").exit_code == 0 and run("rapport", "--help").exit_code == 0


def test_the_program_tunes_the_cycle_collector_other_callers_keep_theirs(tmp_path: Path) -> None:
    """``fluxopt`` (no args given: sys.argv) raises the collector's thresholds and freezes the imported
    modules; a caller that passes args (CliRunner here) finds the collector as it left it."""
    code = ("import atexit, gc\nfrom fluxopt.cli import GC_THRESHOLDS, main\n"
            "atexit.register(lambda: print(gc.get_threshold() == GC_THRESHOLDS, gc.get_freeze_count() > 0))\n"
            "main(prog_name='fluxopt')")
    process = subprocess.run([sys.executable, "-c", code, "solve", str(EXEMPLE), "-q", "-o", str(tmp_path / "a")],
                             capture_output=True, text=True, timeout=120)
    assert process.returncode == 0 and process.stdout.split() == ["True", "True"], process.stderr
    before = gc.get_threshold(), gc.get_freeze_count()
    assert run("solve", EXEMPLE, "-q", "-o", tmp_path / "b").exit_code == 0
    assert (gc.get_threshold(), gc.get_freeze_count()) == before


def test_solve_imports_only_what_it_runs(tmp_path: Path) -> None:
    """Without --sensibilite, ``fluxopt solve`` imports neither the counterfactual solves and their
    process pool nor the other commands' modules (start-up time, benchmarks/RESULTS.md)."""
    code = ("import sys\nfrom fluxopt.cli import main\ntry:\n    main(sys.argv[1:], prog_name='fluxopt')\n"
            "except SystemExit as exit:\n    assert not exit.code\nprint(' '.join(sys.modules))")
    process = subprocess.run([sys.executable, "-c", code, "solve", str(EXEMPLE), "-q", "-o", str(tmp_path / "r")],
                             capture_output=True, text=True, timeout=120, check=True)
    imported = set(process.stdout.split())
    assert "fluxopt.workbook" in imported
    unused = {"fluxopt.counterfactuals", "multiprocessing", "concurrent.futures.process", "fluxopt.cli_batch",
              "fluxopt.cli_documents", "fluxopt.batch", "pyomo", "openpyxl", "jinja2"}
    assert not unused & imported


# Through a real process: the module entry point, exit codes, no traceback.

def fluxopt_process(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fluxopt", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=120)


def test_process_exit_codes(tmp_path: Path) -> None:
    ok = fluxopt_process("solve", EXEMPLE, "-o", tmp_path / "ok")
    assert ok.returncode == 0, ok.stderr
    assert "own share" in ok.stdout
    invalid = fluxopt_process("solve", broken(tmp_path), "-o", tmp_path / "bad")
    assert invalid.returncode == 2 and "Traceback" not in invalid.stderr
    assert "quarante" in invalid.stderr and not (tmp_path / "bad").exists()
    infeasible = fluxopt_process("solve", EXEMPLE, "-o", tmp_path / "inf", *sets(*STRICT_INFEASIBLE))
    assert infeasible.returncode == 3 and (tmp_path / "inf" / "summary.json").is_file()


def test_process_solver_failure_exits_4(tmp_path: Path) -> None:
    fake = tmp_path / "bin" / "glpsol"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\ncase "$1" in --version) echo "GLPSOL: GLPK LP/MIP Solver 5.0"; exit 0;; esac\n'
                    'echo "simulated crash" >&2\nexit 1\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    env = {**os.environ, "PATH": f"{fake.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    res = fluxopt_process("solve", EXEMPLE, "-o", tmp_path / "r", "--solver", "glpk", env=env)
    assert res.returncode == 4
    assert "solver failure" in res.stderr and "Traceback" not in res.stderr


def test_validate_command(tmp_path: Path) -> None:
    ok = run("validate", EXEMPLE)
    assert ok.exit_code == 0
    assert ok.stdout.strip().endswith("flux base 120.0 dwellings/year")
    bad = run("validate", broken(tmp_path / "broken"))
    assert bad.exit_code == 2
    assert "error: patrimoine.csv, row" in bad.stderr and "Traceback" not in bad.output


def test_generate_command_writes_loadable_instances(tmp_path: Path) -> None:
    res = run("generate", "--departements", "2", "--seed", "3", "--scale", "0.05", "--out", tmp_path / "g")
    assert res.exit_code == 0, res.output
    folders = sorted((tmp_path / "g").iterdir())
    assert [f.name for f in folders] == ["synthetique-01", "synthetique-02"]
    assert run("validate", folders[0]).exit_code == 0
    assert run("generate", "--departements", "0", "--out", tmp_path / "h").exit_code == 2
