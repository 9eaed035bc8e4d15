"""Validation of instances: one test per check, each naming the file, row and column reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from inputs_support import EXEMPLE, copy_folder, document, write_xlsx

from fluxopt.instance import load_instance
from fluxopt.problems import InstanceError, Problem
from fluxopt.validate import format_problems, report, validate


def edited(tmp_path: Path, name: str, lines: dict[int, str | None] | None = None, text: str | None = None) -> Path:
    """A copy of the example where file ``name`` has some lines replaced (None: removed; beyond the end:
    appended) or its whole ``text`` replaced."""
    folder = tmp_path / "inst" if (tmp_path / "inst").exists() else copy_folder(EXEMPLE, tmp_path / "inst")
    path = folder / name
    if text is not None:
        path.write_text(text, encoding="utf-8")
        return folder
    content = path.read_text(encoding="utf-8").splitlines()
    for number, line in sorted((lines or {}).items()):
        if number > len(content):
            content.append(line or "")
        else:
            content[number - 1] = line  # type: ignore[call-overload]
    path.write_text("\n".join(c for c in content if c is not None) + "\n", encoding="utf-8")
    return folder


def errors(source) -> list[Problem]:
    problems, instance = validate(source)
    assert instance is None, "the instance should not load"
    return [p for p in problems if p.severity == "error"]


def one(problems: list[Problem], file: str, row: int | None, column: str | None, severity: str = "error") -> Problem:
    """The single problem reported at this place."""
    found = [p for p in problems if (p.file, p.row, p.column, p.severity) == (file, row, column, severity)]
    assert len(found) == 1, f"expected one {severity} at {file}/{row}/{column}, got:\n" + format_problems(problems)
    return found[0]


# --- missing parts -------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    folder = copy_folder(EXEMPLE, tmp_path / "inst")
    (folder / "stock.csv").unlink()
    found = errors(folder)
    assert "missing" in one(found, "stock.csv", None, None).message
    assert len(found) == 1


def test_missing_instance_toml_is_reported_once(tmp_path):
    folder = copy_folder(EXEMPLE, tmp_path / "inst")
    (folder / "instance.toml").unlink()
    assert [(p.file, p.message) for p in errors(folder)] == [("instance.toml", "file is missing")]


def test_missing_sheet(tmp_path):
    import openpyxl

    path = write_xlsx(EXEMPLE, tmp_path / "classeur.xlsx")
    book = openpyxl.load_workbook(path)
    del book["reservataires"]
    book.save(path)
    found = errors(path)
    assert "missing" in one(found, "reservataires (sheet)", None, None).message
    assert len(found) == 1  # the stock rows are not blamed for naming unknown réservataires


def test_missing_instance_key(tmp_path):
    folder = edited(tmp_path, "instance.toml", {2: None})
    one(errors(folder), "instance.toml", None, "territoire")


def test_bad_year(tmp_path):
    folder = edited(tmp_path, "instance.toml", {3: 'annee = "l\'an prochain"'})
    one(errors(folder), "instance.toml", 3, "annee")


def test_missing_required_column(tmp_path):
    lines = (EXEMPLE / "patrimoine.csv").read_text().splitlines()
    text = "\n".join(",".join(c for i, c in enumerate(line.split(",")) if i != 2) for line in lines)
    found = errors(edited(tmp_path, "patrimoine.csv", text=text))
    assert "'epci' is missing" in one(found, "patrimoine.csv", 1, "epci").message
    # no echo: the CIL EPCI and the perimeters are not blamed for the missing column
    assert len(found) == 1


def test_unknown_column_is_a_warning_with_the_closest_name(tmp_path):
    folder = edited(tmp_path, "stock.csv", {1: "bailleur,reservataire,commune,qpv,logements_reserves,liberation,fin_droits"})
    problems, instance = validate(folder)
    assert instance is not None
    assert "did you mean 'liberations'?" in one(problems, "stock.csv", 1, "liberation", "warning").message


def test_duplicate_column(tmp_path):
    folder = edited(tmp_path, "cil.csv", {1: "epci,part_q1_hors_qpv,epci"})
    one(errors(folder), "cil.csv", 1, "epci")


# --- cells ---------------------------------------------------------------------------------------


def test_empty_required_value(tmp_path):
    folder = edited(tmp_path, "patrimoine.csv", {3: "B1,33063,243300316,non,,20,,0.1,10,0,0"})
    found = errors(folder)
    assert "empty" in one(found, "patrimoine.csv", 3, "logements").message
    assert len(found) == 1


def test_non_numeric_value(tmp_path):
    folder = edited(tmp_path, "stock.csv", {4: "B1,PREF,33281,non,quatre-vingts,,"})
    found = errors(folder)
    assert "'quatre-vingts' is not a number" in one(found, "stock.csv", 4, "logements_reserves").message
    assert len(found) == 1


def test_decimal_comma_in_comma_file_gets_a_hint(tmp_path):
    folder = edited(tmp_path, "patrimoine.csv", {3: 'B1,33063,243300316,non,520,20,,"0,1",10,0,0'})
    assert "decimals with a point" in one(errors(folder), "patrimoine.csv", 3, "taux_rotation").message


def test_row_longer_than_header(tmp_path):
    folder = edited(tmp_path, "patrimoine.csv", {3: "B1,33063,243300316,non,520,20,,0,1,10,0,0"})
    one(errors(folder), "patrimoine.csv", 3, None)


def test_negative_count(tmp_path):
    folder = edited(tmp_path, "patrimoine.csv", {4: "B1,33281,243300316,non,400,0,40,,-3,0,0"})
    assert "negative" in one(errors(folder), "patrimoine.csv", 4, "mises_en_service").message


def test_whole_number_of_dwellings(tmp_path):
    folder = edited(tmp_path, "patrimoine.csv", {4: "B1,33281,243300316,non,400.5,0,40,,0,0,0"})
    one(errors(folder), "patrimoine.csv", 4, "logements")


def test_rate_outside_unit_interval(tmp_path):
    folder = edited(tmp_path, "patrimoine.csv", {3: "B1,33063,243300316,non,520,20,,12,10,0,0"})
    found = errors(folder)
    assert "between 0 and 1" in one(found, "patrimoine.csv", 3, "taux_rotation").message
    assert len(found) == 1  # not also "give liberations or taux_rotation"


def test_rate_as_percentage_is_accepted(tmp_path):
    folder = edited(tmp_path, "patrimoine.csv", {3: "B1,33063,243300316,non,520,20,,10 %,10,0,0"})
    assert load_instance(folder).same_data(load_instance(EXEMPLE))


def test_bad_boolean(tmp_path):
    folder = edited(tmp_path, "stock.csv", {3: "B1,PREF,33063,peut-être,100,,"})
    assert "yes/no" in one(errors(folder), "stock.csv", 3, "qpv").message


@pytest.mark.parametrize("yes, no", [("1", "0"), ("TRUE", "false"), ("Oui", "NON"), ("vrai", "Faux")])
def test_booleans_in_any_language_and_case(tmp_path, yes, no):
    folder = edited(tmp_path, "patrimoine.csv", {
        2: f"B1,33063,243300316,{yes},300,0,30,,0,2,8",
        3: f"B1,33063,243300316,{no},520,20,,0.1,10,0,0",
        4: f"B1,33281,243300316,{no},400,0,40,,0,0,0",
    })
    assert load_instance(folder).same_data(load_instance(EXEMPLE))


def test_q1_min_above_max(tmp_path):
    folder = edited(tmp_path, "reservataires.csv",
                    {1: "reservataire,nom,type,perimetre,part_q1_min,part_q1_max", 3: "AL,Action Logement,action_logement,,0.3,0.2"})
    one(errors(folder), "reservataires.csv", 3, "part_q1_min")


# --- patrimoine ----------------------------------------------------------------------------------


def test_hors_flux_above_logements(tmp_path):
    folder = edited(tmp_path, "patrimoine.csv", {4: "B1,33281,243300316,non,400,500,40,,0,0,0"})
    found = errors(folder)
    assert "exceed" in one(found, "patrimoine.csv", 4, "logements_hors_flux").message
    assert len(found) == 1  # the stock on that segment is not blamed as well


def test_both_liberations_and_taux_rotation(tmp_path):
    folder = edited(tmp_path, "patrimoine.csv", {4: "B1,33281,243300316,non,400,0,40,0.1,0,0,0"})
    assert "not both" in one(errors(folder), "patrimoine.csv", 4, "taux_rotation").message


def test_neither_liberations_nor_taux_rotation(tmp_path):
    folder = edited(tmp_path, "patrimoine.csv", {4: "B1,33281,243300316,non,400,0,,,0,0,0"})
    found = errors(folder)
    one(found, "patrimoine.csv", 4, "liberations")
    assert len(found) == 1


def test_negative_flux_base(tmp_path):
    folder = edited(tmp_path, "patrimoine.csv", {2: "B1,33063,243300316,oui,300,0,30,,0,2,38"})
    assert "negative" in one(errors(folder), "patrimoine.csv", 2, "relogements").message


def test_duplicate_segment(tmp_path):
    folder = edited(tmp_path, "patrimoine.csv", {5: "B1,33281,243300316,non,10,0,1,,0,0,0"})
    assert "row 4" in one(errors(folder), "patrimoine.csv", 5, "qpv").message


def test_commune_in_two_epcis(tmp_path):
    folder = edited(tmp_path, "patrimoine.csv", {4: "B1,33281,243300317,non,400,0,40,,0,0,0",
                                                 5: "B2,33281,243300316,non,40,0,4,,0,0,0"})
    assert "several EPCIs" in one(errors(folder), "patrimoine.csv", 5, "epci").message


# --- reservataires -------------------------------------------------------------------------------


def test_unknown_reservataire_type(tmp_path):
    folder = edited(tmp_path, "reservataires.csv", {3: "AL,Action Logement Services,action-logement,"})
    found = errors(folder)
    assert "did you mean 'action_logement'?" in one(found, "reservataires.csv", 3, "type").message
    assert len(found) == 1


def test_duplicate_reservataire(tmp_path):
    folder = edited(tmp_path, "reservataires.csv", {5: "AL,Doublon,autre,"})
    one(errors(folder), "reservataires.csv", 5, "reservataire")


def test_perimeter_code_naming_nothing_is_a_warning(tmp_path):
    """A well-formed code outside the instance: the réservataire gets nothing there (SPEC §2)."""
    folder = edited(tmp_path, "reservataires.csv", {4: "BX,Ville de Bordeaux,commune,33063 33099 200070357"})
    problems, instance = validate(folder)
    assert instance is not None
    assert "'33099'" in [p for p in problems if p.column == "perimetre"][0].message
    assert len([p for p in problems if p.column == "perimetre" and p.severity == "warning"]) == 2
    assert instance.reservataires.set_index("reservataire").loc["BX", "communes"] == ("33063",)


@pytest.mark.parametrize("code", ["3306", "330630", "24330031", "2433003160", "33-63"])
def test_malformed_perimeter_code_is_an_error(tmp_path, code):
    folder = edited(tmp_path, "reservataires.csv", {4: f"BX,Ville de Bordeaux,commune,33063 {code}"})
    assert f"'{code}'" in one(errors(folder), "reservataires.csv", 4, "perimetre").message


def test_convention_column(tmp_path):
    folder = edited(tmp_path, "reservataires.csv", {1: "reservataire,nom,type,perimetre,convention",
                                                    3: "AL,Action Logement Services,action_logement,,Non signée",
                                                    4: "BX,Ville de Bordeaux,commune,33063,"})
    res = load_instance(folder).reservataires.set_index("reservataire")["convention"].to_dict()
    assert res == {"PREF": "signee", "AL": "non_signee", "BX": "signee"}
    folder = edited(tmp_path, "reservataires.csv", {3: "AL,Action Logement Services,action_logement,,oui"})
    assert "signee" in one(errors(folder), "reservataires.csv", 3, "convention").message


def test_report_table_row_by_row(tmp_path):
    """Unknown bailleur and réservataire, a non-number, a duplicate: each reported where it is."""
    folder = edited(tmp_path, "report.csv", text="bailleur,reservataire,logements\n"
                    "B1,AL,2.5\nBX9,AL,1\nB1,ALX,1\nB1,PREF,inf\nB1,AL,-1\n")
    found = errors(folder)
    assert "BX9" in one(found, "report.csv", 3, "bailleur").message
    assert "ALX" in one(found, "report.csv", 4, "reservataire").message
    one(found, "report.csv", 5, "logements")
    assert "already given on row 2" in one(found, "report.csv", 6, "reservataire").message
    assert len(found) == 4


def test_transfer_needs_exactly_one_prefet(tmp_path):
    folder = edited(tmp_path, "reservataires.csv", {2: "PREF,Préfet,autre,", 1: "reservataire,nom,type,perimetre"})
    assert validate(folder)[1] is not None  # equivalence, all signed: no préfet needed
    (folder / "instance.toml").write_text((folder / "instance.toml").read_text(encoding="utf-8")
                                          + '\n[surcharges]\n"prefet.cible" = 0.3\n', encoding="utf-8")
    assert "exactly one réservataire of type 'prefet'" in one(errors(folder), "reservataires.csv", None, "type").message


def test_perimeter_by_epci_code(tmp_path):
    folder = edited(tmp_path, "reservataires.csv", {5: "BM,Bordeaux Métropole,epci,243300316"})
    res = load_instance(folder).reservataires.set_index("reservataire")
    assert res.loc["BM", "communes"] == ("33063", "33281")
    assert res.loc["AL", "communes"] is None


@pytest.mark.parametrize("kind", ["commune", "epci"])
def test_local_reservataire_without_perimeter(tmp_path, kind):
    folder = edited(tmp_path, "reservataires.csv", {4: f"BX,Ville de Bordeaux,{kind},"})
    one(errors(folder), "reservataires.csv", 4, "perimetre")


# --- stock ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("line, column", [
    ("B2,AL,33063,non,1,,", "bailleur"),
    ("B1,AL,33099,non,1,,", "commune"),
    ("B1,AL,33281,oui,1,,", "qpv"),
])
def test_stock_row_naming_no_segment(tmp_path, line, column):
    found = errors(edited(tmp_path, "stock.csv", {10: line}))
    one(found, "stock.csv", 10, column)
    assert len(found) == 1


def test_stock_row_naming_no_reservataire(tmp_path):
    found = errors(edited(tmp_path, "stock.csv", {10: "B1,PREFET,33281,non,1,,"}))
    assert "did you mean 'PREF'?" in one(found, "stock.csv", 10, "reservataire").message
    assert len(found) == 1


def test_stock_row_outside_perimeter(tmp_path):
    found = errors(edited(tmp_path, "stock.csv", {10: "B1,BX,33281,non,1,,"}))
    assert "outside the perimeter" in one(found, "stock.csv", 10, "commune").message


def test_duplicate_right(tmp_path):
    found = errors(edited(tmp_path, "stock.csv", {10: "B1,AL,33281,non,1,,"}))
    assert "row 6" in one(found, "stock.csv", 10, "qpv").message


def test_reserved_above_eligible(tmp_path):
    found = errors(edited(tmp_path, "stock.csv", {5: "B1,AL,33063,non,351,,"}))
    message = one(found, "stock.csv", 8, "logements_reserves").message
    assert "501 reserved dwellings (rows 3, 5, 8)" in message and "500 flux-eligible" in message


def test_expired_rights_do_not_count_and_are_reported(tmp_path):
    # row 9 (AL, QPV, 2020) ends before 2025: 60 + 30 + 210 would exceed 300, not without it
    problems, instance = validate(edited(tmp_path, "stock.csv", {9: "B1,AL,33063,oui,210,,2020"}))
    assert instance is not None
    assert "2020" in one(problems, "stock.csv", 9, "fin_droits", "warning").message


# --- cil, bailleurs --------------------------------------------------------------------------------


def test_cil_epci_without_segment(tmp_path):
    found = errors(edited(tmp_path, "cil.csv", {3: "243300999,,"}))
    one(found, "cil.csv", 3, "epci")


def test_duplicate_cil_epci(tmp_path):
    one(errors(edited(tmp_path, "cil.csv", {3: "243300316,0.3,"})), "cil.csv", 3, "epci")


def test_bailleur_without_segment_is_a_warning(tmp_path):
    problems, instance = validate(edited(tmp_path, "bailleurs.csv", {3: "B9,Inconnu,esh"}))
    assert instance is not None
    one(problems, "bailleurs.csv", 3, "bailleur", "warning")


# --- policy --------------------------------------------------------------------------------------


def test_unknown_policy_name(tmp_path):
    found = errors(edited(tmp_path, "instance.toml", {4: 'politique = "elan-2002"'}))
    assert "did you mean 'elan-2020'?" in one(found, "instance.toml", 4, "politique").message


def test_unknown_policy_key(tmp_path):
    found = errors(edited(tmp_path, "instance.toml", {5: "[surcharges]", 6: "cil.strikt = true"}))
    assert "did you mean 'cil.strict'?" in one(found, "instance.toml", None, "surcharges.cil.strikt").message


def test_bad_policy_value(tmp_path):
    found = errors(edited(tmp_path, "instance.toml", {5: "[surcharges]", 6: "plafonds.prefet = 1.3"}))
    one(found, "instance.toml", None, "surcharges.plafonds.prefet")


def test_overrides_apply(tmp_path):
    instance = load_instance(edited(tmp_path, "instance.toml", {5: "[surcharges]", 6: "cil.strict = true"}))
    assert instance.policy.strict is True


# --- not a table -----------------------------------------------------------------------------------


def test_csv_without_header(tmp_path):
    found = errors(edited(tmp_path, "patrimoine.csv", text="Patrimoine de B1 au 1er janvier\nvoir onglet 2\n"))
    assert "not a 'patrimoine' table" in one(found, "patrimoine.csv", 1, None).message
    assert len(found) == 1  # the stock is not blamed for segments it cannot find


def test_binary_file_as_csv(tmp_path):
    folder = copy_folder(EXEMPLE, tmp_path / "inst")
    (folder / "cil.csv").write_bytes(write_xlsx(EXEMPLE, tmp_path / "x.xlsx").read_bytes())
    assert "not a CSV text file" in one(errors(folder), "cil.csv", None, None).message


def test_empty_required_csv(tmp_path):
    one(errors(edited(tmp_path, "reservataires.csv", text="")), "reservataires.csv", None, None)


def test_header_only_patrimoine(tmp_path):
    text = (EXEMPLE / "patrimoine.csv").read_text().splitlines()[0] + "\n"
    assert "no rows" in one(errors(edited(tmp_path, "patrimoine.csv", text=text)), "patrimoine.csv", None, None).message


def test_windows_encoding_gets_resave_advice(tmp_path):
    folder = copy_folder(EXEMPLE, tmp_path / "inst")
    text = (EXEMPLE / "reservataires.csv").read_text(encoding="utf-8")
    (folder / "reservataires.csv").write_bytes(text.encode("cp1252"))
    message = one(errors(folder), "reservataires.csv", 2, None).message  # 'Préfet' is on line 2
    assert "CSV UTF-8" in message


@pytest.mark.parametrize("name, content", [
    ("notes.txt", b"bailleur,commune\nB1,33063\n"),
    ("classeur.xlsx", b"this is not a workbook"),
    ("classeur.xls", b"\xd0\xcf\x11\xe0"),
    ("instance.json", b"[1, 2, 3]"),
    ("instance.json", b'{"instance": {"nom": "x",}}'),
])
def test_file_that_is_not_an_instance(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    [problem] = errors(path)
    assert problem.file == name


def test_json_table_that_is_not_an_array(tmp_path):
    doc = document()
    doc["stock"] = {"bailleur": "B1"}
    one(errors(doc), "stock (JSON)", None, None)


def test_json_record_that_is_not_an_object(tmp_path):
    doc = document()
    doc["stock"][1] = ["B1", "PREF"]
    one(errors(doc), "stock (JSON)", 2, None)


def test_not_a_mapping_nor_a_path():
    [problem] = errors(42)
    assert "not an instance" in problem.message


# --- where problems are: workbook rows, JSON records, everything at once --------------------------


def test_workbook_rows_are_excel_rows(tmp_path):
    import openpyxl

    path = write_xlsx(EXEMPLE, tmp_path / "classeur.xlsx")
    book = openpyxl.load_workbook(path)
    book["patrimoine"].insert_rows(1, 2)  # two empty rows above the header: data now starts at row 4
    book["patrimoine"]["F5"] = 900  # logements_hors_flux of the first segment
    book["instance"].append(["surcharges.cil.strikt", "vrai"])
    book.save(path)
    found = errors(path)
    one(found, "patrimoine (sheet)", 5, "logements_hors_flux")
    problem = one(found, "instance (sheet)", 6, "surcharges.cil.strikt")
    assert "did you mean 'cil.strict'?" in problem.message


def test_workbook_overrides_and_header_less_instance_sheet(tmp_path):
    import openpyxl

    path = write_xlsx(EXEMPLE, tmp_path / "classeur.xlsx")
    book = openpyxl.load_workbook(path)
    book["instance"].delete_rows(1)
    book["instance"].append(["surcharges.cil.strict", "oui"])
    book["instance"].append(["surcharges.comportement.commune", "[0.2, 0.3]"])
    book.save(path)
    policy = load_instance(path).policy
    assert policy.strict is True and policy.comportement("commune") == (0.2, 0.3)


def test_json_rows_are_record_numbers(tmp_path):
    doc = document()
    doc["stock"][2]["logements_reserves"] = -1  # the third record
    one(errors(doc), "stock (JSON)", 3, "logements_reserves")


def test_every_problem_is_reported_at_once(tmp_path):
    edited(tmp_path, "patrimoine.csv", {3: "B1,33063,243300316,non,520,20,,1.5,10,0,0"})
    edited(tmp_path, "reservataires.csv", {3: "AL,Action Logement,bailleur,"})
    folder = edited(tmp_path, "cil.csv", {2: "243300316,2,"})
    found = errors(folder)
    assert {(p.file, p.row, p.column) for p in found} == {
        ("patrimoine.csv", 3, "taux_rotation"),
        ("reservataires.csv", 3, "type"),
        ("cil.csv", 2, "part_q1_hors_qpv"),
    }


def test_instance_error_carries_structured_problems(tmp_path):
    folder = edited(tmp_path, "cil.csv", {2: "243300999,,"})
    with pytest.raises(InstanceError) as caught:
        load_instance(folder)
    [record] = [p.to_dict() for p in caught.value.problems if p.severity == "error"]
    assert {"file": "cil.csv", "row": 2, "column": "epci", "severity": "error"}.items() <= record.items()
    assert "cil.csv, row 2, column 'epci'" in str(caught.value)


# --- validate ------------------------------------------------------------------------------------


def test_validate_valid_instance_prints_summary_and_exits_0():
    text, code = report(EXEMPLE)
    assert code == 0
    assert text.splitlines()[-1] == load_instance(EXEMPLE).describe()
    assert "1 bailleurs, 3 segments, 3 réservataires, 8 rights, flux base 120.0" in text


def test_validate_invalid_instance_exits_2(tmp_path):
    text, code = report(edited(tmp_path, "cil.csv", {2: "243300999,,"}))
    assert code == 2
    assert text.splitlines() == [
        "warning: stock.csv, row 9, column 'fin_droits': rights of AL on 10 dwellings of bailleur B1 in commune 33063 "
        "ended in 2020, before 2025: they are dropped",
        "error: cil.csv, row 2, column 'epci': EPCI 243300999 has no segment in patrimoine (did you mean '243300316'?)",
        "1 error, 1 warning",
    ]


# --- what is ignored, with a warning ---------------------------------------------------------------


def test_unknown_instance_key_is_a_warning(tmp_path):
    problems, instance = validate(edited(tmp_path, "instance.toml", {5: 'politque = "elan-2020"'}))
    assert instance is not None
    assert "did you mean 'politique'?" in one(problems, "instance.toml", 5, "politque", "warning").message


def test_extra_file_is_a_warning(tmp_path):
    folder = copy_folder(EXEMPLE, tmp_path / "inst")
    (folder / "reservataire.csv").write_text("x\n")
    problems, instance = validate(folder)
    assert instance is not None
    assert "did you mean 'reservataires'?" in one(problems, "reservataire.csv", None, None, "warning").message


def test_values_under_no_header_in_a_sheet_are_a_warning(tmp_path):
    import openpyxl

    path = write_xlsx(EXEMPLE, tmp_path / "classeur.xlsx")
    book = openpyxl.load_workbook(path)
    book["stock"]["K3"] = "vu avec le bailleur"
    book.save(path)
    problems, instance = validate(path)
    assert instance is not None
    one(problems, "stock (sheet)", 3, None, "warning")


def test_stock_without_rows_is_a_warning(tmp_path):
    text = (EXEMPLE / "stock.csv").read_text().splitlines()[0] + "\n"
    problems, instance = validate(edited(tmp_path, "stock.csv", text=text))
    assert instance is not None and instance.stock.empty
    one(problems, "stock.csv", None, None, "warning")


def test_json_syntax_error_gives_the_line(tmp_path):
    path = tmp_path / "instance.json"
    path.write_text('{\n "instance": {"nom": "x"},\n "patrimoine": [\n}\n')
    [problem] = errors(path)
    assert (problem.file, problem.row) == ("instance.json", 4) and "line 4" in problem.message
