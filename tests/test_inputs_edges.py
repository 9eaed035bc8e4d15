"""Edge cases of reading and checking instances, each once a defect."""

from __future__ import annotations

import fluxopt
import pytest
from conftest import right, segment, write_instance
from inputs_support import EXEMPLE, document, write_semicolon

from fluxopt.validate import validate


def test_a_date_as_year_is_an_error_not_a_crash(tmp_path):
    path = write_instance(tmp_path / "i", [segment("A", False, 100, 10, epci="E")],
                          [{"reservataire": "AL", "type": "action_logement"}], [right("AL", "A", False, 10)])
    meta = (path / "instance.toml").read_text().replace("annee = 2025", "annee = 2025-01-01")
    (path / "instance.toml").write_text(meta)
    with pytest.raises(fluxopt.InstanceError) as err:
        fluxopt.load_instance(path)
    assert [(p.file, p.column) for p in err.value.problems] == [("instance.toml", "annee")]


def test_semicolon_file_keeps_comma_separated_perimeters(tmp_path):
    """In a ';' file only numbers take a decimal comma: '33063,33281' stays two commune codes."""
    folder = write_semicolon(EXEMPLE, tmp_path / "sc")
    text = (folder / "reservataires.csv").read_text(encoding="utf-8-sig")
    (folder / "reservataires.csv").write_text(text.replace("; 33063 ", "; 33063,33281 "), encoding="utf-8")
    inst = fluxopt.load_instance(folder)
    assert inst.reservataires.set_index("reservataire").at["BX", "communes"] == ("33063", "33281")
    assert inst.patrimoine["taux_rotation"].dropna().tolist() == [0.1]


def test_numeric_perimeter_gets_its_leading_zero():
    doc = document()
    for table in ("patrimoine", "stock"):
        for row in doc[table]:
            row["commune"] = 1004 if row["commune"] == 33063 else row["commune"]
    for row in doc["reservataires"]:
        if row["reservataire"] == "BX":
            row["perimetre"] = 1004
    inst = fluxopt.load_instance(doc)
    assert inst.reservataires.set_index("reservataire").at["BX", "communes"] == ("01004",)


def test_validate_reports_what_only_the_policy_reveals(tmp_path):
    """Action Logement designates at most 20 % Q1 by default: a minimum of 50 % leaves no possible share."""
    path = write_instance(tmp_path / "i", [segment("A", False, 100, 10, epci="E")],
                          [{"reservataire": "AL", "type": "action_logement", "part_q1_min": 0.5}],
                          [right("AL", "A", False, 10)])
    problems, inst = validate(path)
    assert inst is None
    assert [(p.file, p.row, p.column) for p in problems if p.severity == "error"] == [
        ("reservataires.csv", 2, "part_q1_min")]


def test_rights_that_give_no_flux_are_reported(tmp_path):
    """AL's rights lie on a segment without releases; the only flux of its perimeter is elsewhere at 0."""
    path = write_instance(tmp_path / "i", [segment("A", False, 100, 0, epci="E"), segment("B", False, 100, 10, epci="E")],
                          [{"reservataire": "AL", "type": "commune", "perimetre": "A"}], [right("AL", "A", False, 30)])
    res = fluxopt.solve(path)
    assert res.shares.empty
    assert any("30 reserved dwellings give no flux share" in w.message for w in res.summary.warnings)
