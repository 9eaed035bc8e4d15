"""The same instance as a CSV folder, a French ';' CSV folder, a workbook, a JSON file and a dict."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inputs_support import EXEMPLE, copy_folder, document, write_json, write_semicolon, write_xlsx

import fluxopt
from fluxopt.instance import Instance, load_instance
from fluxopt.problems import InstanceError

FORMS = ("csv", "semicolon", "xlsx", "json", "dict")


def make(form: str, tmp_path: Path):
    """The example instance in one form."""
    return {
        "csv": lambda: EXEMPLE,
        "semicolon": lambda: write_semicolon(EXEMPLE, tmp_path / "semicolon"),
        "xlsx": lambda: write_xlsx(EXEMPLE, tmp_path / "exemple.xlsx"),
        "json": lambda: write_json(EXEMPLE, tmp_path / "exemple.json"),
        "dict": document,
    }[form]()


@pytest.fixture(scope="module")
def reference() -> Instance:
    return load_instance(EXEMPLE)


@pytest.mark.parametrize("form", FORMS[1:])
def test_every_form_gives_the_same_instance(tmp_path, reference, form):
    instance = load_instance(make(form, tmp_path))
    assert instance.differences(reference) == []
    assert instance.same_data(reference)
    assert len(instance.sha256) == 64 and instance.sha256 != reference.sha256


def test_semicolon_form_really_has_decimal_commas_bom_and_crlf(tmp_path):
    data = (make("semicolon", tmp_path) / "patrimoine.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data and b" 0,1 " in data


def test_thousands_separator_with_decimal_comma(tmp_path):
    folder = write_semicolon(EXEMPLE, tmp_path / "fr")
    path = folder / "patrimoine.csv"
    path.write_text(path.read_text(encoding="utf-8-sig").replace(" 400 ;", " 1\u00a0400,0 ;"), encoding="utf-8-sig")
    assert load_instance(folder).patrimoine["logements"].tolist() == [300, 520, 1400]


def test_same_data_sees_a_difference(tmp_path, reference):
    doc = document()
    doc["stock"][0]["logements_reserves"] = 61
    other = load_instance(doc)
    assert not other.same_data(reference)
    assert [d.split(":")[0] for d in other.differences(reference)] == ["stock"]


def test_sha256_is_stable_and_follows_the_content(tmp_path):
    assert load_instance(document()).sha256 == load_instance(document()).sha256
    path = make("json", tmp_path)
    first = load_instance(path).sha256
    path.write_text(path.read_text(encoding="utf-8").replace('"logements_reserves": 60', '"logements_reserves": 59'))
    assert load_instance(path).sha256 != first


def test_json_accepts_numbers_as_strings_and_null_as_empty(reference):
    doc = document()
    doc["patrimoine"] = [{k: (None if v is None else str(v)) for k, v in r.items()} for r in doc["patrimoine"]]
    doc["instance"]["annee"] = "2025"
    assert load_instance(json.loads(json.dumps(doc))).same_data(reference)


def test_mapping_accepts_dataframes(reference):
    doc = document()
    doc["stock"] = pd.DataFrame(doc["stock"])  # empty cells become NaN: read as empty
    assert load_instance(doc).same_data(reference)


def test_commune_codes_keep_their_leading_zero_in_a_workbook(tmp_path):
    doc = document()
    for table in ("patrimoine", "stock"):
        for record in doc[table]:
            record["commune"] = {33063: 1053, 33281: 1004}[record["commune"]]  # numbers, as Excel stores them
    doc["reservataires"][2]["perimetre"] = "01053"
    assert set(load_instance(doc).patrimoine["commune"]) == {"01053", "01004"}


def test_sheet_and_column_names_ignore_case_and_accents(tmp_path, reference):
    import openpyxl

    path = write_xlsx(EXEMPLE, tmp_path / "classeur.xlsx")
    book = openpyxl.load_workbook(path)
    book["reservataires"].title = "Réservataires"
    book["Réservataires"]["A1"] = "Réservataire "
    book.save(path)
    assert load_instance(path).same_data(reference)


def test_instance_toml_path_reads_its_folder(reference):
    assert load_instance(EXEMPLE / "instance.toml").same_data(reference)


# Cells a negotiator could type anywhere: the loader answers with problems, never with a traceback.
_CELLS = st.one_of(
    st.sampled_from(["", " ", "-1", "0", "1,5", "1.5", "abc", "oui", "nan", "inf", "1e309", "10 %", "33063",
                     "243300316", "PREF", "B1", '"', ";", "\u00a0"]),
    st.text(max_size=6),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    table=st.sampled_from(["patrimoine", "reservataires", "stock", "cil", "bailleurs", "instance"]),
    row=st.integers(0, 8),
    column=st.integers(0, 12),
    value=_CELLS,
)
def test_no_cell_makes_the_loader_crash(table, row, column, value):
    doc = document()
    if table == "instance":
        doc["instance"][list(doc["instance"])[column % len(doc["instance"])]] = value
    else:
        record = doc[table][row % len(doc[table])]
        record[list(record)[column % len(record)]] = value
    try:
        load_instance(doc)
    except InstanceError as exc:
        assert exc.problems and all(p.message for p in exc.problems)


def test_no_cell_makes_the_csv_reader_crash(tmp_path):
    folder = copy_folder(EXEMPLE, tmp_path / "inst")
    (folder / "stock.csv").write_text('bailleur,reservataire,commune,qpv,logements_reserves\n"B1,PREF\n,,,\n;;;\n')
    with pytest.raises(InstanceError):
        load_instance(folder)


def test_every_form_gives_the_same_optimum(tmp_path):
    results = [fluxopt.solve(load_instance(make(form, tmp_path))) for form in FORMS]
    for res in results[1:]:
        assert res.objectives == pytest.approx(results[0].objectives)
        pd.testing.assert_frame_equal(res.shares, results[0].shares)
