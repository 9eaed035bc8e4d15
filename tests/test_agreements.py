"""Shares already agreed (accords.csv, SPEC §4 "Agreements"), computed by hand.

The base case: bailleur B1 has one segment of 1,000 dwellings in commune A with 100 releases
(F = 100). PREF holds 200 reserved dwellings, AL 300 and COM 100: by rotation E = R * 100 / 1000,
so the targets are 20, 30 and 10 (60 of the 100), and without agreements every share equals its
target.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

import fluxopt
from conftest import right, segment
from fluxopt.cli import main
from fluxopt.problems import InstanceError

ABS = 1e-4
RESERVATAIRES = [
    {"reservataire": "PREF", "type": "prefet"},
    {"reservataire": "AL", "type": "action_logement"},
    {"reservataire": "COM", "type": "commune", "perimetre": "A"},
    {"reservataire": "DEP", "type": "departement"},
]
RIGHTS = [right("PREF", "A", False, 200), right("AL", "A", False, 300), right("COM", "A", False, 100)]


def base(make_instance) -> Path:
    return make_instance([segment("A", False, 1000, 100)], RESERVATAIRES, RIGHTS)


def with_accords(folder: Path, rows: list[dict]) -> Path:
    columns = ["bailleur", "reservataire", "logements", "flux_pct"]
    with (folder / "accords.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, columns)
        writer.writeheader()
        writer.writerows(rows)
    return folder


def shares(result: fluxopt.Result) -> dict[str, dict]:
    return {r["reservataire"]: r for r in result.shares.to_dict("records")}


def test_without_agreements_every_share_is_at_its_target(make_instance) -> None:
    got = shares(fluxopt.solve(base(make_instance)))
    assert {r: (p["cible"], p["accord"]) for r, p in got.items()} == {
        "PREF": (20, False), "AL": (30, False), "COM": (10, False)}
    assert all(abs(p["ecart"]) < ABS for p in got.values())


@pytest.mark.parametrize("agreement", [{"logements": 75}, {"flux_pct": 75}], ids=["logements", "flux_pct"])
def test_a_locked_share_and_the_rest_rebalanced(make_instance, agreement: dict) -> None:
    """AL agreed at 75 (dwellings, or 75 % of F_{B1,AL} = 100): 75 + 20 + 10 = 105 > 100, so PREF
    and COM give up 5 between them. AL leaves the fairness stages, so the minimax cut is equal in
    relative terms: d_P / 20 = d_C / 10 = e with d_P + d_C = 5, e = 1/6: PREF 20 - 10/3 = 16.667,
    COM 10 - 5/3 = 8.333, own share 0. ecart_max = 1/6, ecart_total = 1/6 + 1/6 = 1/3 (AL's
    departure of +45, agreed, counts in neither)."""
    folder = with_accords(base(make_instance), [{"bailleur": "B1", "reservataire": "AL", **agreement}])
    result = fluxopt.solve(folder)
    got = shares(result)
    assert got["AL"]["logements"] == pytest.approx(75, abs=ABS) and got["AL"]["accord"]
    assert got["PREF"]["logements"] == pytest.approx(20 - 10 / 3, abs=ABS) and not got["PREF"]["accord"]
    assert got["COM"]["logements"] == pytest.approx(10 - 5 / 3, abs=ABS)
    assert result.bailleurs.loc[0, "part_propre"] == pytest.approx(0, abs=ABS)
    assert result.objectives["ecart_max"] == pytest.approx(1 / 6, abs=1e-6)
    assert result.objectives["ecart_total"] == pytest.approx(1 / 3, abs=1e-5)  # within the stage tolerance
    (al,) = [p for p in fluxopt.explain(result).pairs if p.reservataire == "AL"]
    (reason,) = al.reasons
    assert (reason.code, reason.params["logements"]) == ("accord", 75)
    assert reason.text == "agreed by the parties (accords): 75.00 dwellings/year"


def test_a_pair_without_rights_can_be_agreed(make_instance) -> None:
    """DEP holds no right (no target) and is agreed at 5 dwellings: it becomes active with X = 5,
    the others keep their targets (20 + 30 + 10 + 5 = 65 <= 100); its relative departure is empty."""
    folder = with_accords(base(make_instance), [{"bailleur": "B1", "reservataire": "DEP", "logements": 5}])
    result = fluxopt.solve(folder)
    got = shares(result)
    assert got["DEP"]["cible"] == 0 and got["DEP"]["logements"] == pytest.approx(5, abs=ABS)
    assert got["DEP"]["ecart_relatif"] != got["DEP"]["ecart_relatif"]  # NaN: no target to compare with
    assert result.objectives["ecart_max"] == pytest.approx(0, abs=1e-6)
    assert all(abs(got[r]["ecart"]) < ABS for r in ("PREF", "AL", "COM"))


def test_agreements_that_cannot_hold_are_infeasible_and_explained(make_instance) -> None:
    """PREF agreed at 40 % of its flux = 40 dwellings, over the préfet's cap of 30 % of 100 = 30:
    status infeasible, and the IIS names the agreement and the cap."""
    folder = with_accords(base(make_instance), [{"bailleur": "B1", "reservataire": "PREF", "flux_pct": 40}])
    result = fluxopt.solve(folder)
    assert result.status == "infeasible"
    rows = fluxopt.explain(result).infeasible
    assert rows is not None
    texts = [r.text for r in rows]
    assert any(r.code == "accord_infaisable" and r.params["logements"] == 40 for r in rows), texts
    assert any(t.startswith("the agreement of the préfet PREF at bailleur B1 (accords): 40.00") for t in texts), texts
    assert any(r.code == "plafond_prefet" for r in rows), texts
    res = CliRunner().invoke(main, ["solve", str(folder), "-o", str(folder.parent / "out"), "-q"])
    assert res.exit_code == 3


def test_solve_accords_option_adds_the_file(make_instance, tmp_path: Path) -> None:
    folder = base(make_instance)
    file = with_accords(tmp_path, [{"bailleur": "B1", "reservataire": "AL", "logements": 75}]) / "accords.csv"
    out = tmp_path / "r"
    res = CliRunner().invoke(main, ["solve", str(folder), "--accords", str(file), "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    parts = {r["reservataire"]: r for r in csv.DictReader((out / "parts.csv").open(encoding="utf-8"))}
    assert parts["AL"]["accord"] == "True" and float(parts["AL"]["logements"]) == pytest.approx(75, abs=ABS)


def test_bad_agreements_are_input_errors(make_instance) -> None:
    """Every problem at once, each on its row: an unknown réservataire (row 2), both values given
    (row 3), none given (row 4), a bailleur outside the réservataire's perimeter (row 5: B2 has no
    dwelling in commune A, COM's perimeter), a duplicate pair (row 6)."""
    folder = make_instance([segment("A", False, 1000, 100), segment("B", False, 100, 10, bailleur="B2")],
                           RESERVATAIRES, RIGHTS)
    with_accords(folder, [
        {"bailleur": "B1", "reservataire": "NOPE", "logements": 1},
        {"bailleur": "B1", "reservataire": "AL", "logements": 1, "flux_pct": 2},
        {"bailleur": "B1", "reservataire": "DEP"},
        {"bailleur": "B2", "reservataire": "COM", "logements": 1},
        {"bailleur": "B1", "reservataire": "AL", "logements": 3},
    ])
    with pytest.raises(InstanceError) as err:
        fluxopt.load_instance(folder)
    found = {(p.row, p.column) for p in err.value.problems if p.severity == "error" and p.file == "accords.csv"}
    assert {(2, "reservataire"), (3, "flux_pct"), (4, "logements"), (5, "reservataire")} <= found, found
    assert any(p.row == 6 for p in err.value.problems if p.file == "accords.csv")
