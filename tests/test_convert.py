"""The input template and the conversions between the three instance forms (CSV, xlsx, JSON)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

import fluxopt
from fluxopt.cli import main
from golden import INSTANCES

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("instance", INSTANCES, ids=lambda p: p.name)
def test_round_trip_csv_xlsx_json_csv(instance: Path, tmp_path: Path) -> None:
    """CSV -> xlsx -> JSON -> CSV gives the same instance at every step, and the same optimum."""
    first = fluxopt.load_instance(instance)
    xlsx = fluxopt.load_instance(first.to_xlsx(tmp_path / "i.xlsx"))
    json_ = fluxopt.load_instance(xlsx.to_json(tmp_path / "i.json"))
    back = fluxopt.load_instance(json_.to_csv(tmp_path / "csv"))
    for other in (xlsx, json_, back):
        assert first.differences(other) == []
    assert fluxopt.solve(back).objectives == fluxopt.solve(first).objectives


def test_round_trip_keeps_overrides_and_version_2_tables(tmp_path: Path) -> None:
    """An instance with [surcharges], a non-signed convention and a report.csv keeps them through the forms."""
    src = tmp_path / "v2"
    inst = fluxopt.load_instance(ROOT / "instances" / "exemple")
    inst.to_csv(src)
    (src / "instance.toml").write_text((src / "instance.toml").read_text() + "\n[surcharges.plafonds]\nprefet = 0.25\n")
    res = pd.read_csv(src / "reservataires.csv", dtype=str, keep_default_na=False)
    res.loc[res["reservataire"] == "BX", "convention"] = "non_signee"
    res.to_csv(src / "reservataires.csv", index=False)
    (src / "report.csv").write_text("bailleur,reservataire,logements\nB1,AL,-1.5\n")
    v2 = fluxopt.load_instance(src)
    assert v2.surcharges == {"plafonds.prefet": 0.25} and len(v2.report) == 1
    assert "non_signee" in set(v2.reservataires["convention"])
    for path in (v2.to_xlsx(tmp_path / "v2.xlsx"), v2.to_json(tmp_path / "v2.json")):
        again = fluxopt.load_instance(path)
        assert v2.differences(again) == [] and again.surcharges == {"plafonds.prefet": 0.25}


def test_convertir_command(tmp_path: Path) -> None:
    runner = CliRunner()
    for name in ("e.xlsx", "e.json", "e-csv"):
        res = runner.invoke(main, ["convertir", str(ROOT / "instances" / "exemple"), "--out", str(tmp_path / name)])
        assert res.exit_code == 0, res.output
        assert fluxopt.load_instance(tmp_path / name).same_data(fluxopt.load_instance(ROOT / "instances" / "exemple"))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "patrimoine.csv").write_text("bailleur\n")
    res = runner.invoke(main, ["convertir", str(tmp_path / "bad"), "--out", str(tmp_path / "x.json")])
    assert res.exit_code == 2 and not (tmp_path / "x.json").exists()


def test_shipped_exemple_xlsx_is_made_by_convertir(tmp_path: Path) -> None:
    made = fluxopt.load_instance(ROOT / "instances" / "exemple").to_xlsx(tmp_path / "exemple.xlsx")
    assert made.read_bytes() == (ROOT / "instances" / "exemple.xlsx").read_bytes()


def test_template_is_french_valid_and_guided(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The template's example rows form a valid instance; « Lisez-moi » explains every column."""
    monkeypatch.delenv("FLUXOPT_LANGUE", raising=False)
    out = tmp_path / "modele.xlsx"
    assert CliRunner().invoke(main, ["modele", "--out", str(out)]).exit_code == 0
    book = load_workbook(out)
    assert book.sheetnames == ["Lisez-moi", "instance", "patrimoine", "reservataires", "stock", "cil", "bailleurs",
                               "report"]
    inst = fluxopt.load_instance(out)
    assert not inst.warnings and len(inst.patrimoine) == 1 and len(inst.report) == 1
    readme = [row for row in book["Lisez-moi"].iter_rows(values_only=True)]
    explained = {(r[1]) for r in readme if r[1]}
    assert {"taux_rotation", "convention", "logements_reserves", "part_q1_hors_qpv"} <= explained
    assert any("obligatoires" in str(r[0]) for r in readme)
    validations = {str(dv.sqref)[0]: dv for dv in book["reservataires"].data_validations.dataValidation}
    assert validations["C"].type == "list" and "prefet_agents" in validations["C"].formula1
    patrimoine = {str(dv.sqref)[0]: dv for dv in book["patrimoine"].data_validations.dataValidation}
    assert patrimoine["H"].type == "decimal" and patrimoine["E"].type == "whole"  # taux_rotation, logements
