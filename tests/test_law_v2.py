"""The rules of SPEC version 2, by hand: default to the préfet, the préfet's rate, rehousing in the
CIL target, the carry-over, perimeter codes (the arithmetic is in each docstring)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

import fluxopt
from conftest import ROOT, right, segment
from fluxopt import explain
from fluxopt.problems import InstanceError

ABS = 1e-4  # dwellings: the stage tolerance (1e-6 relative) lets later stages move this little
OBJ = 1e-5

PREF = {"reservataire": "PREF", "type": "prefet"}
AGENTS = {"reservataire": "AGENTS", "type": "prefet_agents"}


def shares_of(result: fluxopt.Result, bailleur: str = "B1") -> dict[str, dict]:
    return {r["reservataire"]: r for r in result.shares.to_dict("records") if r["bailleur"] == bailleur}


def adjustments(result: fluxopt.Result) -> list[tuple]:
    a = result.baseline.ajustements
    return [(r.bailleur, r.reservataire, r.regle, round(r.avant, 9), round(r.apres, 9), r.vers, round(r.logements, 9))
            for r in a.itertuples()]


def write_report(folder: Path, rows: list[tuple[str, str, float]]) -> Path:
    with (folder / "report.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["bailleur", "reservataire", "logements"])
        writer.writerows(rows)
    return folder


def test_transfer_to_the_prefet_limited_by_the_cap(make_instance):
    """One segment: 100 dwellings, 20 releases, F = 20.
    PREF holds 20 dwellings: E = 20 * 20 / 100 = 4, p0 = 0.2, T = 4.
    AL holds 30 and has not signed: T = 6 moves to PREF, whose target becomes 4 + 6 = 10.
    The cap is 30 % of 20 = 6: X_PREF = 6 (departure -4, -40 %); AL gets nothing; the 4 dwellings the
    cap refuses stay with the bailleur: own = 20 - 6 = 14. ecart_max = ecart_total = 0.4."""
    path = make_instance([segment("A", False, 100, 20)],
                         [PREF, {"reservataire": "AL", "type": "action_logement", "convention": "non_signee"}],
                         [right("PREF", "A", False, 20), right("AL", "A", False, 30)])
    res = fluxopt.solve(path, keep_duals=True)
    parts = shares_of(res)
    assert set(parts) == {"PREF"}
    pref = parts["PREF"]
    assert (pref["cible_equivalence"], pref["cible"], pref["origine_cible"]) == (4, 10, "defaut_vers_prefet")
    assert pref["logements"] == pytest.approx(6, abs=ABS)
    assert pref["ecart"] == pytest.approx(-4, abs=ABS)
    assert res.bailleurs.loc[0, "part_propre"] == pytest.approx(14, abs=ABS)
    assert res.objectives["ecart_max"] == pytest.approx(0.4, abs=OBJ)
    assert res.objectives["ecart_total"] == pytest.approx(0.4, abs=OBJ)
    assert adjustments(res) == [("B1", "AL", "defaut_vers_prefet", 6, 0, "PREF", 6)]
    moved = [w for w in res.summary.warnings if w.column == "convention"]
    assert len(moved) == 1 and "moves to the préfet PREF" in moved[0].message
    text = explain(res).to_markdown()
    assert "## Targets moved from equivalence" in text
    assert "target of AL at bailleur B1 (6.00 dwellings/year) moved to the préfet PREF" in text  # its own catalogue
    assert "cap of the préfet (with its agents) at bailleur B1" in text
    # Without the default rule, AL keeps its target and PREF its equivalence.
    kept = shares_of(fluxopt.solve(path, overrides={"defaut.vers_prefet": False}))
    assert (kept["AL"]["cible"], kept["PREF"]["cible"], kept["PREF"]["origine_cible"]) == (6, 4, "equivalence")


def test_prefet_target_at_30_percent(make_instance):
    """B1: 100 dwellings, 20 releases (F = 20); PREF holds 10 (T = 2), AGENTS 5 (T = 1).
    With prefet.cible = 0.30 the préfet's target is 0.30 * 20 - 1 = 5, the agents keep 1: 6 = the cap.
    B2: 50 dwellings, 10 releases (F = 10), no rights at all: PREF's target is 0.30 * 10 = 3, a pair with
    no stock rights made active by the rule (no method, equivalence 0). Every target is reached."""
    path = make_instance([segment("A", False, 100, 20), segment("A", False, 50, 10, bailleur="B2")],
                         [PREF, AGENTS], [right("PREF", "A", False, 10), right("AGENTS", "A", False, 5)])
    res = fluxopt.solve(path, overrides={"prefet.cible": 0.30})
    b1, b2 = shares_of(res, "B1"), shares_of(res, "B2")
    assert (b1["PREF"]["cible_equivalence"], b1["PREF"]["cible"]) == pytest.approx((2, 5))
    assert b1["PREF"]["logements"] == pytest.approx(5, abs=ABS)
    assert (b1["AGENTS"]["cible"], b1["AGENTS"]["origine_cible"]) == (1, "equivalence")
    assert b1["AGENTS"]["logements"] == pytest.approx(1, abs=ABS)
    assert (b2["PREF"]["methode"], b2["PREF"]["cible_equivalence"], b2["PREF"]["origine_cible"]) == \
        ("", 0, "prefet_cible")
    assert b2["PREF"]["logements"] == pytest.approx(3, abs=ABS)
    assert res.bailleurs.set_index("bailleur")["prefet_pct"].to_dict() == pytest.approx({"B1": 30, "B2": 30}, abs=1e-3)
    assert adjustments(res) == [("B1", "PREF", "prefet_cible", 2, 5, "", 3), ("B2", "PREF", "prefet_cible", 0, 3, "", 3)]
    assert res.objectives["ecart_max"] == pytest.approx(0, abs=OBJ)


def test_cil_target_met_only_thanks_to_rehousing(make_instance):
    """One segment outside QPV of a CIL EPCI: 24 releases, 4 rehousings: F = 20. No rights; the
    bailleur designates at most 20 % Q1: at most 4 Q1 households.
    Without cil.relogements_q1: required 0.25 * 20 = 5, reached 4, shortfall 1.
    With it: required 0.25 * (20 + 4) = 6, reached 4 + 4 = 8: no shortfall (the LP bound is
    0.25 * 24 - 4 = 2 <= o). The regularity stage keeps o as close to 0.25 * 20 = 5 as it can: o = 4."""
    path = make_instance([segment("A", False, 100, 24, relogements=4)], [PREF], [], cil=[{"epci": "200000001"}],
                         bailleurs=[{"bailleur": "B1", "part_q1_min": 0, "part_q1_max": 0.2}])
    res = fluxopt.solve(path)
    assert res.objectives["ecart_cil"] == pytest.approx(0, abs=OBJ)
    row = res.cil.iloc[0].to_dict()
    assert (row["objectif"], row["flux_base"], row["relogements"], row["requis"]) == ("q1_hors_qpv", 20, 4, 6)
    assert row["atteint"] == pytest.approx(8, abs=ABS)
    assert row["deficit"] == 0
    old = fluxopt.solve(path, overrides={"cil.relogements_q1": False})
    assert old.objectives["ecart_cil"] == pytest.approx(1, abs=OBJ)
    row = old.cil.iloc[0].to_dict()
    assert (row["relogements"], row["requis"]) == (0, 5)
    assert (row["atteint"], row["deficit"]) == pytest.approx((4, 1), abs=ABS)


def test_carry_over_activates_a_pair_without_rights(make_instance):
    """B1: A (100 dwellings, 20 releases) and B (100, 10): F_B1 = 30.
    PREF holds 10 in A: E = 2, p0 = 2 / 30, T = 2 (uniform rate 1/15: 4/3 in A, 2/3 in B).
    AL holds 5 in B: E = 0.5, T = 0.5; its carry-over of -2 gives max(0, 0.5 - 2) = 0: AL is inactive.
    VA (commune A) has no rights; its carry-over of +3 makes it active with T = 3, all in A.
    report.part = 0.5 and report.plafond = 0.1 belong to the bilan: the solve adds the carry-over as
    given (clipping would give VA 0.1 * 0 = 0). Every target is reached."""
    path = make_instance([segment("A", False, 100, 20), segment("B", False, 100, 10)],
                         [PREF, {"reservataire": "AL", "type": "action_logement"},
                          {"reservataire": "VA", "type": "commune", "perimetre": "A"}],
                         [right("PREF", "A", False, 10), right("AL", "B", False, 5)],
                         surcharges='"report.part" = 0.5\n"report.plafond" = 0.1')
    res = fluxopt.solve(write_report(path, [("B1", "AL", -2), ("B1", "VA", 3)]))
    parts = shares_of(res)
    assert set(parts) == {"PREF", "VA"}
    va = parts["VA"]
    assert (va["methode"], va["flux_base"], va["cible_equivalence"], va["cible"], va["origine_cible"]) == \
        ("", 20, 0, 3, "report")
    assert va["logements"] == pytest.approx(3, abs=ABS)
    seg = res.segments[res.segments["titulaire"] == "VA"]
    assert seg["commune"].tolist() == ["A"] and seg["logements"].tolist() == pytest.approx([3], abs=ABS)
    assert parts["PREF"]["logements"] == pytest.approx(2, abs=ABS)
    assert adjustments(res) == [("B1", "AL", "report", 0.5, 0, "", -2), ("B1", "VA", "report", 0, 3, "", 3)]
    assert ("B1", "VA") in res.baseline.members
    assert res.objectives["ecart_max"] == pytest.approx(0, abs=OBJ)


def test_adjustments_apply_in_order(make_instance):
    """F = 20 (100 dwellings, 20 releases). PREF holds 10 (T = 2), AL 20 (T = 4, not signed).
    1. prefet.cible = 0.2: PREF's target 0.2 * 20 = 4. 2. AL's 4 move to PREF: 8.
    3. PREF's carry-over -1: 7. The cap (6) then refuses 1: X_PREF = 6."""
    path = make_instance([segment("A", False, 100, 20)],
                         [PREF, {"reservataire": "AL", "type": "action_logement", "convention": "non_signee"}],
                         [right("PREF", "A", False, 10), right("AL", "A", False, 20)])
    res = fluxopt.solve(write_report(path, [("B1", "PREF", -1)]), overrides={"prefet.cible": 0.2})
    pref = shares_of(res)["PREF"]
    assert (pref["cible_equivalence"], pref["cible"]) == pytest.approx((2, 7))
    assert pref["origine_cible"] == "prefet_cible+defaut_vers_prefet+report"
    assert pref["logements"] == pytest.approx(6, abs=ABS)
    assert adjustments(res) == [("B1", "PREF", "prefet_cible", 2, 4, "", 2),
                                ("B1", "AL", "defaut_vers_prefet", 4, 0, "PREF", 4),
                                ("B1", "PREF", "report", 8, 7, "", -1)]


def test_carry_over_of_a_non_signatory_goes_to_the_prefet(make_instance):
    """F = 20. PREF holds 10 (T = 2), AL 20 (T = 4, not signed): AL's 4 move to PREF (6).
    AL's carry-over of +3 follows its flux to the préfet: PREF 6 + 3 = 9, AL stays at 0 and
    inactive. The cap (30 % of 20 = 6) refuses 3: X_PREF = 6, departure 3/9."""
    path = make_instance([segment("A", False, 100, 20)],
                         [PREF, {"reservataire": "AL", "type": "action_logement", "convention": "non_signee"}],
                         [right("PREF", "A", False, 10), right("AL", "A", False, 20)])
    res = fluxopt.solve(write_report(path, [("B1", "AL", 3)]))
    parts = shares_of(res)
    assert set(parts) == {"PREF"}
    assert parts["PREF"]["cible"] == pytest.approx(9) and parts["PREF"]["logements"] == pytest.approx(6, abs=ABS)
    assert adjustments(res) == [("B1", "AL", "defaut_vers_prefet", 4, 0, "PREF", 4),
                                ("B1", "PREF", "report", 6, 9, "", 3)]
    assert "carried over for AL" in res.baseline.ajustements["message"].iloc[-1]


def test_transfer_without_a_prefet_is_an_input_error(make_instance):
    path = make_instance([segment("A", False, 100, 20)],
                         [{"reservataire": "AL", "type": "action_logement", "convention": "non_signee"}],
                         [right("AL", "A", False, 20)])
    with pytest.raises(InstanceError, match="exactly one réservataire of type 'prefet'"):
        fluxopt.solve(path)
    assert fluxopt.solve(path, overrides={"defaut.vers_prefet": False}).status == "optimal"


@pytest.mark.parametrize(("code", "severity"), [("33099", "warning"), ("200070357", "warning"),
                                                ("3309", "error"), ("20007035", "error"), ("ZZ", "error")])
def test_perimeter_code_unknown_or_malformed(make_instance, code, severity):
    """A well-formed code naming nothing of the instance is a warning (VA gets nothing there); a code
    that is neither 5 characters nor 9 digits is an error."""
    path = make_instance([segment("33063", False, 100, 20)],
                         [PREF, {"reservataire": "VA", "type": "commune", "perimetre": f"33063 {code}"}],
                         [right("VA", "33063", False, 10)])
    if severity == "error":
        with pytest.raises(InstanceError) as exc:
            fluxopt.load_instance(path)
        found = [p for p in exc.value.problems if p.column == "perimetre"]
        assert [p.severity for p in found] == ["error"] and f"'{code}'" in found[0].message
        return
    inst = fluxopt.load_instance(path)
    found = [p for p in inst.warnings if p.column == "perimetre"]
    assert len(found) == 1 and "gets nothing there" in found[0].message
    assert inst.reservataires.set_index("reservataire").loc["VA", "communes"] == ("33063",)


def test_cli_prefet_rate_scenario(tmp_path):
    """`--set prefet.cible=0.30` on the example: the préfet (one uniform rate) reaches 30 % of the flux."""
    out = tmp_path / "x"
    done = subprocess.run([sys.executable, "-m", "fluxopt", "solve", str(ROOT / "instances" / "exemple"),
                           "--set", "prefet.cible=0.30", "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["politique"]["valeurs"]["prefet.cible"] == 0.3
    assert any(w["column"] == "prefet.cible" for w in summary["warnings"])
    with (out / "bailleurs.csv").open(encoding="utf-8") as fh:
        assert float(next(csv.DictReader(fh))["prefet_pct"]) == pytest.approx(30, abs=1e-3)
