"""resultats.xlsx: French sheets for the table, the CSV's numbers, and its print layout (through LibreOffice)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from pypdf import PdfReader

import fluxopt
from cli_instances import fractional
from fluxopt.cli import main

ROOT = Path(__file__).resolve().parents[1]
SHEETS_FR = ["Synthèse", "Propositions", "Graphiques", "Paramètres", "Explications", "Communes", "CIL"]


@pytest.fixture(scope="module")
def result_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("wb")
    out = tmp / "r"
    res = CliRunner().invoke(main, ["--langue", "fr", "solve", str(fractional(tmp)), "-o", str(out), "-q"])
    assert res.exit_code == 0
    return out


def sheet_frame(ws, header_row: int = 1) -> pd.DataFrame:
    rows = list(ws.iter_rows(min_row=header_row, values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])


def test_sheets_and_layout(result_folder: Path) -> None:
    wb = load_workbook(result_folder / "resultats.xlsx")
    assert wb.sheetnames == SHEETS_FR
    for name in SHEETS_FR[1:]:
        ws = wb[name]
        assert ws.page_setup.orientation == "landscape" and ws.sheet_properties.pageSetUpPr.fitToPage
    for name in ("Propositions", "Paramètres", "Explications", "Communes", "CIL"):
        assert wb[name].freeze_panes == "A2" and wb[name].print_title_rows == "$1:$1"
    props = wb["Propositions"]
    header = [c.value for c in props[1]]
    assert header[:5] == ["Bailleur", "Nom du bailleur", "Réservataire", "Nom du réservataire", "Type"]
    assert "Part proposée (%)" in header and "Logements entiers par an" in header and "Raison" in header
    assert props.cell(2, header.index("Part proposée (%)") + 1).number_format == "0.0%"
    assert len(wb["Graphiques"]._charts) == 3  # one bailleur, the réservataires, one CIL EPCI


def test_propositions_hold_the_csv_numbers(result_folder: Path) -> None:
    parts = pd.read_csv(result_folder / "parts.csv")
    sheet = sheet_frame(load_workbook(result_folder / "resultats.xlsx")["Propositions"])
    assert len(sheet) == len(parts)
    assert sheet["Réservataire"].tolist() == parts["reservataire"].tolist()
    assert sheet["Nom du réservataire"].tolist()[0] == "Action Logement Services"
    pairs = {"Part équivalente au stock (%)": ("equivalence_pct", 0.01), "Part proposée (%)": ("flux_pct", 0.01),
             "Logements par an (exact)": ("logements", 1), "Logements entiers par an": ("logements_arrondis", 1),
             "Écart (%)": ("ecart_relatif", 1), "Cible (logements par an)": ("cible", 1)}
    for title, (col, scale) in pairs.items():
        assert sheet[title].astype(float).to_numpy() == pytest.approx(parts[col].to_numpy() * scale, abs=1e-9)


def test_parameters_say_source_and_override(tmp_path: Path) -> None:
    """--set plafonds.prefet=0.25 shows as overridden; the CIL rate keeps its legal source."""
    out = tmp_path / "r"
    assert CliRunner().invoke(main, ["--langue", "fr", "solve", str(ROOT / "instances" / "exemple"), "-o", str(out),
                                     "-q", "--set", "plafonds.prefet=0.25"]).exit_code == 0
    params = sheet_frame(load_workbook(out / "resultats.xlsx")["Paramètres"]).set_index("Paramètre")
    assert params.loc["plafonds.prefet", "Surchargée"] == "oui"
    assert params.loc["plafonds.prefet", "Valeur retenue"] == "0,25"
    assert params.loc["cil.part_q1_hors_qpv", "Surchargée"] == "non"
    assert params.loc["cil.part_q1_hors_qpv", "Source"].startswith("CCH L441-1")
    assert set(fluxopt.load_policy("elan-2020").to_dict()) <= set(params.index)


def test_synthese_sums_up_per_bailleur(result_folder: Path) -> None:
    ws = load_workbook(result_folder / "resultats.xlsx")["Synthèse"]
    values = [list(row) for row in ws.iter_rows(values_only=True)]
    header_row = next(i for i, row in enumerate(values) if row[0] == "Bailleur")
    b1 = dict(zip(values[header_row], values[header_row + 1]))
    parts = pd.read_csv(result_folder / "parts.csv")
    assert b1["Bailleur"] == "B1"
    shares = sum(b1[f"{t} (%)"] for t in ("Préfet", "Action Logement", "Communes"))
    assert shares + b1["Part propre (%)"] == pytest.approx(1.0, abs=1e-6)
    assert b1["Part propre (logements entiers)"] + parts["logements_arrondis"].sum() == b1["Flux de base (logements entiers)"]
    assert values[2][0] == "Statut : résolu : la proposition ci-dessous est optimale"


def test_english_workbook_on_request(tmp_path: Path) -> None:
    path = fluxopt.write_result(fluxopt.solve(ROOT / "instances" / "exemple", langue="en"), tmp_path / "r")
    assert load_workbook(path / "resultats.xlsx").sheetnames[:3] == ["Synthèse", "Proposals", "Charts"]


def test_gironde_prints_synthese_on_one_page_and_a_bounded_book(tmp_path: Path) -> None:
    """LibreOffice (Debian libreoffice-calc, installed by .ci/run) renders the Gironde workbook to PDF:
    « Synthèse » is one landscape page; the whole book at most 20 pages (it was 63 portrait pages)."""
    soffice = shutil.which("soffice")
    assert soffice, "LibreOffice is needed (apt-get install libreoffice-calc-nogui; .ci/run does it)"
    out = fluxopt.write_result(fluxopt.solve(ROOT / "instances" / "gironde-33", langue="fr"), tmp_path / "g")
    subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path / 'lo'}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(out / "resultats.xlsx")], check=True, capture_output=True, timeout=300)
    pages = PdfReader(tmp_path / "resultats.pdf").pages
    sheet_of = [page.extract_text().split("\n", 1)[0] for page in pages]
    assert sum(s.startswith("Synthèse") for s in sheet_of) == 1
    box = pages[0].mediabox
    assert box.width > box.height  # landscape
    assert "Proposition de gestion en flux" in pages[0].extract_text()
    assert len(pages) <= 20


def test_every_policy_key_has_a_source() -> None:
    """One table of sources (fluxopt.policy.SOURCES) for the workbook and the report."""
    from fluxopt.documents.content import PARAMETERS
    from fluxopt.policy import source_of

    for key in fluxopt.load_policy("elan-2020").to_dict():
        assert source_of(key), key
    assert all(source_of(key) for key, _label in PARAMETERS)


def test_communes_sheet_is_segments_csv_pivoted(tmp_path: Path) -> None:
    """« Communes »: one row per segment in order, each holder's dwellings per year as in segments.csv
    (a pandas pivot table of it here), empty outside its perimeter; the flux base is the row's sum."""
    out = fluxopt.write_result(fluxopt.solve(ROOT / "instances" / "gironde-33", langue="fr"), tmp_path / "r")
    seg = pd.read_csv(out / "segments.csv", dtype={c: str for c in ("bailleur", "commune", "epci", "titulaire")})
    holders = sorted(set(seg["titulaire"]) - {"bailleur"})
    expected = seg.pivot_table(index=["bailleur", "commune", "epci", "qpv"], columns="titulaire", values="logements",
                               aggfunc="sum").reindex(columns=[*holders, "bailleur"])
    rows = list(load_workbook(out / "resultats.xlsx")["Communes"].iter_rows(values_only=True))
    body = rows[1:len(expected) + 1]
    assert list(rows[0][5:-1]) == holders and rows[len(expected) + 1] == (None,) * len(rows[0])
    assert [r[:4] for r in body] == [(b, c, e, "oui" if q else "non") for b, c, e, q in expected.index]
    cells = np.array([[np.nan if v is None else v for v in r[5:]] for r in body], dtype=float)
    np.testing.assert_allclose(cells, expected.to_numpy(), rtol=0, atol=1e-6)  # segments.csv has 6 decimals
    assert np.isnan(cells).sum() > len(body)  # holders outside their perimeter: empty cells
    np.testing.assert_allclose([r[4] for r in body], np.nansum(cells, axis=1), rtol=1e-12)
