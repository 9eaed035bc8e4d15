"""resultats.xlsx opens with openpyxl and holds the same numbers as the CSV files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from cli_instances import fractional
from fluxopt.cli import main
from fluxopt.workbook import PCT_COLUMNS


@pytest.fixture(scope="module")
def result_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("wb")
    out = tmp / "r"
    res = CliRunner().invoke(main, ["solve", str(fractional(tmp)), "-o", str(out), "-q"])
    assert res.exit_code == 0
    return out


def sheet_frame(ws) -> pd.DataFrame:
    rows = list(ws.iter_rows(values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])


def test_sheets_and_layout(result_folder: Path) -> None:
    wb = load_workbook(result_folder / "resultats.xlsx")
    assert wb.sheetnames == ["synthese", "parts", "segments", "cil", "bailleurs"]
    for name in wb.sheetnames[1:]:
        assert wb[name].freeze_panes == "A2"
    parts = wb["parts"]
    header = [c.value for c in parts[1]]
    flux_pct = parts.cell(2, header.index("flux_pct") + 1)
    assert flux_pct.number_format.endswith("%")
    assert parts.column_dimensions["B"].width >= len("reservataire")


@pytest.mark.parametrize("table", ["parts", "segments", "cil", "bailleurs"])
def test_sheets_hold_the_csv_numbers(result_folder: Path, table: str) -> None:
    csv = pd.read_csv(result_folder / f"{table}.csv", dtype={"commune": str, "epci": str})
    sheet = sheet_frame(load_workbook(result_folder / "resultats.xlsx")[table])
    assert list(sheet.columns) == list(csv.columns)
    assert len(sheet) == len(csv)
    for col in csv.columns:
        expected = csv[col]
        got = sheet[col]
        if col in PCT_COLUMNS:
            got = got.astype(float) * 100
        if pd.api.types.is_numeric_dtype(expected) and not pd.api.types.is_bool_dtype(expected):
            assert got.astype(float).fillna(-1).to_numpy() == pytest.approx(expected.fillna(-1).to_numpy(), abs=1e-9)
        else:
            assert got.astype(str).tolist() == expected.astype(str).tolist()


def test_synthese_sums_up_per_bailleur(result_folder: Path) -> None:
    ws = load_workbook(result_folder / "resultats.xlsx")["synthese"]
    values = [[c for c in row] for row in ws.iter_rows(values_only=True)]
    header_row = next(i for i, row in enumerate(values) if row[0] == "bailleur")
    header = values[header_row]
    b1 = dict(zip(header, values[header_row + 1]))
    parts = pd.read_csv(result_folder / "parts.csv")
    assert b1["bailleur"] == "B1"
    shares = sum(b1[f"{t}_pct"] for t in ("prefet", "action_logement", "commune"))
    assert shares + b1["propre_pct"] == pytest.approx(1.0, abs=1e-6)
    assert b1["propre_arrondi"] + parts["logements_arrondis"].sum() == b1["flux_base_arrondi"]
