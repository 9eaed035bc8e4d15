"""Explanations checked by counterfactual solves: hand-computed shares once one constraint is
relaxed, and the property that every reason given, relaxed independently through the public
API, moves its share towards the target."""

from __future__ import annotations

import csv
import dataclasses
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

import fluxopt
from cli_instances import EXEMPLE, prefet_over_cap
from conftest import right, segment, write_instance
from fluxopt.api import solve_built
from fluxopt.cli import main
from fluxopt.explanations import SENSITIVITY_COLUMNS, PairExplanation
from fluxopt.i18n import using
from test_agreements import RESERVATAIRES, RIGHTS, with_accords

#: The stages fix each optimum up to 1e-6 relative: a share at its target is within 1e-6 T of it.
STAGE_TOL = 1e-6


def pairs_of(result: fluxopt.Result, **options) -> dict[str, PairExplanation]:
    return {p.reservataire: p for p in fluxopt.explain(result, **options).pairs}


def test_issue_example_the_cil_target_not_the_cap_pushes_pref_above() -> None:
    """exemple with 60 % of Q1 outside QPV. F = 20 (QPV) + 60 + 40 = 120; targets PREF 27, AL 31,
    BX 8. Outside QPV, 60 of the 100 attributions must go to Q1: the préfet designates up to 90 %
    Q1, AL 20 %, BX 40 %, the bailleur 50 %. PREF is uniform, so 100/120 of its share is outside
    QPV: at its cap (36) it brings 0.9 x 30 = 27 Q1; the remaining 70 must bring 33, so
    0.5 x 70 - 0.3 AL - 0.1 BX >= 33 squeezes AL and BX. PREF at 36 is above its target because
    of the CIL target: without it every share is at its target (PREF 27, AL 31, BX 8). Raising
    the cap would raise PREF further: the cap is no reason for PREF, but holds AL and BX below."""
    got = pairs_of(fluxopt.solve(EXEMPLE, overrides={"cil.part_q1_hors_qpv": 0.6}, keep_duals=True))
    pref = got["PREF"]
    assert (pref.cible, pref.logements) == (27.0, pytest.approx(36.0, abs=1e-6))
    (reason,) = pref.reasons
    assert reason.code == "cil_hors_qpv" and reason.params["sens"] == "pousse"
    assert reason.params["relache"] is None and reason.params["contrainte"] == "cil_hors_qpv['243300316']"
    assert reason.params["contrefactuel"] == pytest.approx(27.0, abs=STAGE_TOL * 27)
    assert reason.text == ("CIL target outside QPV in EPCI 243300316: 60 % of attributions to Q1 households — "
                           "pushes the share above its target: without this target, the share would be "
                           "27.00 dwellings/year instead of 36.00")
    for holder, target in (("AL", 31.0), ("BX", 8.0)):
        reasons = {r.code: r for r in got[holder].reasons}
        assert reasons["cil_hors_qpv"].params["contrefactuel"] == pytest.approx(target, abs=STAGE_TOL * target)
        cap = reasons["plafond_prefet"]
        assert (cap.params["sens"], cap.params["relache"]) == ("retient", pytest.approx(0.35))
        assert cap.params["contrefactuel"] > got[holder].logements
    with using("fr"):
        assert reason.text.endswith("pousse la part au-dessus de sa cible : sans cet objectif, la part serait de "
                                    "27,00 logements par an au lieu de 36,00")


def test_a_cap_raised_by_five_points(tmp_path: Path) -> None:
    """PREF's rights are worth 45 dwellings, its cap 30 % of 120 = 36. At 35 % it would get
    0.35 x 120 = 42 (< 45; the others keep their targets: 42 + 31 + 8 <= 120, and 35 Q1 outside
    QPV at 90 % are far above the 25 required). ecart_max is fixed up to 1e-6, so PREF's share
    is 42 up to 1e-6 x 45 (and the 1e-6 the share is rounded to)."""
    pref = pairs_of(fluxopt.solve(prefet_over_cap(tmp_path), keep_duals=True))["PREF"]
    (cap,) = pref.reasons
    assert cap.code == "plafond_prefet" and cap.params["sens"] == "retient"
    assert cap.params["relache"] == pytest.approx(0.35)
    assert cap.params["contrefactuel"] == pytest.approx(42.0, abs=STAGE_TOL * 45 + 1e-6)


def test_capacity_and_a_neighbour_agreement(make_instance) -> None:
    """One segment, F = 100; targets PREF 20, AL 30, COM 10; AL agreed at 75: PREF and COM share
    the 25 left (16.667 and 8.333, test_agreements). Freeing 10 % of the segment (110) leaves 35:
    PREF gets its 20. Without AL's agreement AL gets its 30 and PREF its 20. The uniform rate of
    PREF on its only segment binds but relaxing it moves nothing: it is not given."""
    folder = with_accords(make_instance([segment("A", False, 1000, 100)], RESERVATAIRES, RIGHTS),
                          [{"bailleur": "B1", "reservataire": "AL", "logements": 75}])
    expl = fluxopt.explain(fluxopt.solve(folder, keep_duals=True))
    got = {p.reservataire: p for p in expl.pairs}
    assert set(got) == {"AL", "PREF", "COM"}
    assert [(r.code, r.params["sens"]) for r in got["AL"].reasons] == [("accord", "pousse")]
    for holder, target in (("PREF", 20.0), ("COM", 10.0)):
        reasons = {r.code: r for r in got[holder].reasons}
        assert set(reasons) == {"capacite", "accord_voisin"}
        assert reasons["capacite"].params["relache"] == 10.0
        assert reasons["capacite"].params["contrainte"] == "capacite[B1,A,hors_qpv]"
        for r in reasons.values():
            assert r.params["sens"] == "retient"
            assert r.params["contrefactuel"] == pytest.approx(target, abs=STAGE_TOL * target)
    assert expl.solves == 3  # capacity, AL's agreement, PREF's uniform rate: once each for both pairs


def test_cil_target_in_qpv_and_the_uniform_rate(make_instance) -> None:
    """Two segments of 5 dwellings/year (A in and outside QPV); PREF's rights 41 of the 50 QPV
    dwellings: T = (41 x 5/50) / 10 x 10 = 4.1; the préfet's cap at 60 % (6) leaves it room. In
    QPV at most 20 % of 5 = 1 attribution may go to Q1 (part_autres_qpv = 0.8); the préfet
    designates at least 50 % Q1, the bailleur at least 10 % on its own share. Uniform, half of X
    is in QPV: 0.5 X/2 + 0.1 (5 - X/2) <= 1, X = 2.5. Without the QPV target: 4.1. With a rate
    free per segment (the QPV balance of a non-uniform share then asks at least 50 % - 10 points
    in QPV): 0.5 x 0.4 X + 0.1 (5 - 0.4 X) <= 1, X = 3.125. (ecart_cil is fixed at 0 + 1e-6
    attributions, 0.2 per dwelling of X: X within 5e-6.)"""
    folder = make_instance([segment("A", False, 50, 5), segment("A", True, 50, 5)],
                           [{"reservataire": "PREF", "type": "prefet"}], [right("PREF", "A", True, 41)],
                           cil=[{"epci": "200000001"}])
    result = fluxopt.solve(folder, overrides={"cil.part_autres_qpv": 0.8, "plafonds.prefet": 0.6}, keep_duals=True)
    pref = pairs_of(result)["PREF"]
    assert (pref.cible, pref.logements) == (pytest.approx(4.1), pytest.approx(2.5, abs=5e-6 + 1e-6))
    reasons = {r.code: r for r in pref.reasons}
    assert set(reasons) == {"cil_qpv", "prefet_uniforme"}
    assert all(r.params["sens"] == "retient" for r in reasons.values())
    assert reasons["cil_qpv"].params["contrefactuel"] == pytest.approx(4.1, abs=STAGE_TOL * 4.1 + 1e-6)
    assert reasons["prefet_uniforme"].params["contrefactuel"] == pytest.approx(3.125, abs=1e-5)
    assert [r.code for r in pref.reasons] == ["cil_qpv", "prefet_uniforme"]  # the larger move first


def test_output_does_not_depend_on_jobs_and_warm_starts_agree() -> None:
    result = fluxopt.solve(EXEMPLE, overrides={"cil.part_q1_hors_qpv": 0.6}, keep_duals=True)
    one = fluxopt.explain(result, jobs=1)
    two = fluxopt.explain(result, jobs=2)
    cold = fluxopt.explain(result, warm=False)
    assert one.to_markdown() == two.to_markdown()
    assert one.sensitivity().equals(two.sensitivity())
    for a, b in zip(one.pairs, cold.pairs):
        assert [r.code for r in a.reasons] == [r.code for r in b.reasons]
        assert [r.params["contrefactuel"] for r in a.reasons] == \
            pytest.approx([r.params["contrefactuel"] for r in b.reasons], abs=1e-5)


def test_without_counterfactuals_no_reason_is_given() -> None:
    result = fluxopt.solve(EXEMPLE, overrides={"cil.part_q1_hors_qpv": 0.6}, keep_duals=True)
    expl = fluxopt.explain(result, counterfactuals=False)
    assert not expl.checked and expl.solves == 0
    assert [p.reservataire for p in expl.pairs] == ["AL", "BX", "PREF"] and all(not p.reasons for p in expl.pairs)
    assert "fluxopt solve --sensibilite" in expl.to_markdown()


def test_solve_writes_sensibilite_csv_only_when_asked(tmp_path: Path) -> None:
    args = ["solve", str(EXEMPLE), "--set", "cil.part_q1_hors_qpv=0.6", "-q"]
    assert CliRunner().invoke(main, [*args, "-o", str(tmp_path / "plain")]).exit_code == 0
    assert not (tmp_path / "plain" / "sensibilite.csv").exists()
    assert "fluxopt solve --sensibilite" in (tmp_path / "plain" / "explication.md").read_text(encoding="utf-8")
    res = CliRunner().invoke(main, [*args, "-o", str(tmp_path / "s"), "--sensibilite", "--jobs", "2"])
    assert res.exit_code == 0, res.output
    with (tmp_path / "s" / "sensibilite.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == SENSITIVITY_COLUMNS
    pref = [r for r in rows if r["reservataire"] == "PREF"]
    assert [(r["raison"], r["sens"], r["contrainte"]) for r in pref] == \
        [("cil_hors_qpv", "pousse", "cil_hors_qpv['243300316']")]
    assert float(pref[0]["logements_relaches"]) == pytest.approx(27.0, abs=1e-4)


def test_workbook_report_and_json_show_the_sensitivity(tmp_path: Path) -> None:
    """The « Sensibilité » sheet and the report's list exist only when the reasons were checked,
    with the share once each constraint is relaxed (PREF: 27 without the CIL target)."""
    from openpyxl import load_workbook

    args = ["solve", str(EXEMPLE), "--set", "cil.part_q1_hors_qpv=0.6", "-q"]
    with using("fr"):
        runner = CliRunner()
        assert runner.invoke(main, ["--langue", "fr", *args, "-o", str(tmp_path / "plain")]).exit_code == 0
        res = runner.invoke(main, ["--langue", "fr", *args, "-o", str(tmp_path / "s"), "--sensibilite", "--json"])
    assert res.exit_code == 0
    assert "Sensibilité" not in load_workbook(tmp_path / "plain" / "resultats.xlsx").sheetnames
    ws = load_workbook(tmp_path / "s" / "resultats.xlsx")["Sensibilité"]
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, (c.value for c in row))) for row in ws.iter_rows(min_row=2) if row[0].value]
    pref = [r for r in rows if r["Réservataire"] == "PREF"]
    assert [(r["Code"], r["Effet"], r["Relâchée en"]) for r in pref] == \
        [("cil_hors_qpv", "la pousse au-dessus de sa cible", "objectif retiré")]
    assert pref[0]["Logements par an une fois relâchée"] == pytest.approx(27.0, abs=1e-4)
    assert pref[0]["Variation (logements par an)"] == pytest.approx(-9.0, abs=1e-4)
    caps = [r for r in rows if r["Code"] == "plafond_prefet"]
    assert {r["Réservataire"] for r in caps} == {"AL", "BX"} and {r["Relâchée en"] for r in caps} == {"plafond porté à 35 %"}
    document = json.loads(res.stdout)
    (item,) = [e for e in document["explications"]["elements"] if e.get("reservataire") == "PREF"]
    assert [(r["code"], r["parametres"]["sens"], r["parametres"]["contrefactuel"]) for r in item["raisons"]] == \
        [("cil_hors_qpv", "pousse", pytest.approx(27.0, abs=1e-4))]
    plain = fluxopt.write_report(tmp_path / "plain", tmp_path / "plain.html").read_text(encoding="utf-8")
    checked = fluxopt.write_report(tmp_path / "s", tmp_path / "s.html").read_text(encoding="utf-8")
    assert "sensibilité" not in plain
    assert "sensibilité (chaque contrainte relâchée seule" in checked
    # The report's summary of reasons: the checked constraints when there are some, else the
    # reasons read from the tables, said to be unchecked.
    assert "non vérifiées par un calcul" in plain and "non vérifiées par un calcul" not in checked
    summary = checked[checked.index("Ce qui compte le plus"):checked.index("2. Par bailleur")]
    assert "Objectif CIL hors QPV dans l&#39;EPCI 243300316 : 60 % des attributions aux ménages du premier " \
           "quartile (Q1) : 3 conventions" in summary
    assert "Plafond du préfet : 2 conventions" in summary and "équilibre entre réservataires" not in summary
    assert ("pousse la part au-dessus de sa cible : sans cet objectif, la part serait de 27,00 logements par an au "
            "lieu de 36,00") in checked


# Property: a reason given is a constraint whose relaxation, made through the public API, moves
# the share towards its target. One bailleur, one EPCI, PREF the only uniform pair and AL the only
# pair with a QPV balance (VB holds in commune B, outside QPV only), so that each policy key below
# relaxes exactly the one constraint the reason names (models/FORMULATION.md).
PROPERTY_RESERVATAIRES = [
    {"reservataire": "PREF", "type": "prefet", "perimetre": ""},
    {"reservataire": "AL", "type": "action_logement", "perimetre": ""},
    {"reservataire": "VB", "type": "commune", "perimetre": "B"},
]


@st.composite
def territories(draw):
    keys = [("A", False)] + [k for k in (("A", True), ("B", False)) if draw(st.booleans())]
    patrimoine, stock = [], []
    for commune, qpv in keys:
        logements = draw(st.integers(50, 400))
        liberations = draw(st.integers(5, logements // 4))
        patrimoine.append(segment(commune, qpv, logements, liberations, epci="E1"))
        free = logements
        for r in ("AL",) + (("VB",) if commune == "B" else ()) + ("PREF",):
            reserved = draw(st.integers(0, free))  # up to the whole segment: capacities bind
            free -= reserved
            if reserved:
                stock.append(right(r, commune, qpv, reserved))
    cil = [{"epci": "E1"}] if draw(st.booleans()) else None
    bailleurs = [{"bailleur": "B1", "part_q1_min": 0.0, "part_q1_max": draw(st.sampled_from([0.3, 0.5]))}]
    policy = {
        "plafonds.prefet": draw(st.sampled_from([0.1, 0.3, 0.6])),
        "cil.part_q1_hors_qpv": draw(st.sampled_from([0.25, 0.4, 0.6])),
        "cil.part_autres_qpv": draw(st.sampled_from([0.5, 0.8])),
        "equilibre.tolerance_qpv": draw(st.sampled_from([0.05, 0.1])),
        "prefet.cible": draw(st.sampled_from(["equivalence", 0.3, 0.5])),  # above what is left: capacities bind
    }
    agreed = draw(st.sampled_from([None, 10.0, 40.0]))  # AL's share agreed at that % of its flux
    return patrimoine, stock, cil, bailleurs, policy, agreed


def _relaxed_share(inst: fluxopt.Instance, free: fluxopt.Instance, policy: dict, pair: tuple[str, str],
                   params: dict) -> float:
    """The pair's share once the reason's constraint is relaxed independently: a policy key for
    the rules the policy holds, the instance without its agreement (``free``), the segment's flux
    base in the LP for a capacity."""
    kind = params["relachement"]
    if kind == "accord":
        result = fluxopt.solve(free, overrides=policy)
    elif kind == "capacite":  # own_s = F_s + max(1, 10 % F_s) - sum of x: targets and CIL unchanged
        built = fluxopt.build(inst, overrides=policy)
        lp = built.lp
        i = lp.rows["capacite"].start + list(lp.rows["capacite"].index).index(
            (params["bailleur"], params["commune"], "qpv" if params["qpv"] else "hors_qpv"))
        lower, upper = lp.row_lower.copy(), lp.row_upper.copy()
        lower[i] = upper[i] = upper[i] + max(1.0, 0.1 * upper[i])
        built = dataclasses.replace(built, lp=dataclasses.replace(lp, row_lower=lower, row_upper=upper))
        result = solve_built(built)
    else:
        more = {"plafond": {"plafonds.prefet": policy["plafonds.prefet"] + 0.05},
                "cil_hors_qpv": {"cil.part_q1_hors_qpv": 0.0},
                "cil_qpv": {"cil.part_autres_qpv": 0.0},
                "equilibre_qpv": {"equilibre.tolerance_qpv": 2 * policy["equilibre.tolerance_qpv"]},
                "prefet_uniforme": {"prefet.uniforme": False}}[kind]
        result = fluxopt.solve(inst, overrides={**policy, **more})
    assert result.status == "optimal"
    row = result.shares.set_index(["bailleur", "reservataire"]).loc[pair]
    return float(row["logements"])


_POLICY = {"plafonds.prefet": 0.6, "cil.part_q1_hors_qpv": 0.25, "cil.part_autres_qpv": 0.5,
           "equilibre.tolerance_qpv": 0.05, "prefet.cible": 0.5}
_Q1 = [{"bailleur": "B1", "part_q1_min": 0.0, "part_q1_max": 0.5}]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(territories())
# Capacities the random draws rarely fill: AL's 40 and the préfet's 30 (prefet.cible) on 60 dwellings.
@example(([segment("A", False, 200, 40, epci="E1"), segment("A", True, 100, 20, epci="E1")],
          [right("AL", "A", False, 190), right("AL", "A", True, 10)], None, _Q1, _POLICY, None))
# The préfet's uniform rate takes its share of commune B, which VB fills.
@example(([segment("A", False, 200, 40, epci="E1"), segment("A", True, 100, 20, epci="E1"),
           segment("B", False, 100, 20, epci="E1")],
          [right("AL", "A", True, 90), right("AL", "A", False, 20), right("VB", "B", False, 90)], None, _Q1,
          {**_POLICY, "prefet.cible": 0.3}, None))
# AL's rights are in B (outside QPV); its QPV balance and the Q1 target outside QPV hold it below.
@example(([segment("A", False, 50, 5, epci="E1"), segment("A", True, 50, 5, epci="E1"),
           segment("B", False, 50, 12, epci="E1")], [right("AL", "B", False, 50)], [{"epci": "E1"}],
          [{**_Q1[0], "part_q1_max": 0.3}], {**_POLICY, "plafonds.prefet": 0.1, "prefet.cible": "equivalence"}, None))
# The other-quartiles target in QPV caps the préfet (test_cil_target_in_qpv_and_the_uniform_rate).
@example(([segment("A", False, 50, 5, epci="E1"), segment("A", True, 50, 5, epci="E1")],
          [right("PREF", "A", True, 41)], [{"epci": "E1"}], [{**_Q1[0], "part_q1_max": 0.3}],
          {**_POLICY, "cil.part_autres_qpv": 0.8, "prefet.cible": "equivalence"}, None))
def test_every_reason_relaxed_independently_moves_the_share_towards_its_target(drawn) -> None:
    patrimoine, stock, cil, bailleurs, policy, agreed = drawn
    with tempfile.TemporaryDirectory() as tmp:
        named = [r for r in PROPERTY_RESERVATAIRES if r["perimetre"] != "B" or any(p["commune"] == "B"
                                                                                 for p in patrimoine)]
        folder = write_instance(Path(tmp) / "i", patrimoine, named, stock, cil=cil, bailleurs=bailleurs)
        free = fluxopt.load_instance(folder)
        if agreed is not None:
            with_accords(folder, [{"bailleur": "B1", "reservataire": "AL", "flux_pct": agreed}])
        inst = fluxopt.load_instance(folder)
    result = fluxopt.solve(inst, overrides=policy, keep_duals=True)
    assert result.status == "optimal"
    for pair in fluxopt.explain(result).pairs:
        direction = np.sign(pair.cible - pair.logements)
        for reason in pair.reasons:
            event(reason.code)  # pytest --hypothesis-show-statistics: which reasons the draws reach
            assert reason.params["sens"] == ("retient" if direction > 0 else "pousse")
            if reason.code == "arbitrage":
                continue
            if reason.code == "accord":  # the pair's own agreement: its departure is agreed
                continue
            moved = _relaxed_share(inst, free, policy, (pair.bailleur, pair.reservataire), reason.params)
            assert (moved - pair.logements) * direction > 1e-5 * max(1.0, pair.cible), (reason.text, moved)


def test_the_deadline_ends_the_counterfactual_solves() -> None:
    """A deadline already past: every counterfactual solve is cut short, so no reason is
    confirmed and none is invented (no 'arbitrage'); the Markdown and the workbook say why."""
    import time

    from fluxopt.workbook import _reason_of

    result = fluxopt.solve(EXEMPLE, overrides={"cil.part_q1_hors_qpv": 0.6}, keep_duals=True)
    expl = fluxopt.explain(result, deadline=time.monotonic() - 1.0)
    assert expl.checked and expl.solves > 0 and expl.unfinished == expl.solves
    assert {p.reservataire: p.reasons for p in expl.pairs} == {"PREF": [], "AL": [], "BX": []}
    assert f"The time limit ended {expl.solves} of the {expl.solves} counterfactual solves" in expl.to_markdown()
    assert set(_reason_of(expl).values()) == {"departs from its target; its reasons were not checked before the "
                                              "time limit"}
    # time_limit counts from the call: a generous one changes nothing.
    assert fluxopt.explain(result, time_limit=600).to_markdown() == fluxopt.explain(result).to_markdown()


def test_a_result_cut_short_is_not_told_to_ask_for_what_it_asked() -> None:
    """Reasons asked for a result that is no optimum (a time limit in a later stage): the text says
    why they were not checked, rather than how to ask for them."""
    from fluxopt.explanations import Explanation

    pair = PairExplanation("B1", "PREF", 27.0, 30.0, [])
    cut = Explanation("exemple", "time_limit", pairs=[pair], checked=False, requested=True)
    plain = Explanation("exemple", "optimal", pairs=[pair], checked=False, requested=False)
    assert "the solve was cut short (status time_limit)" in cut.to_markdown()
    assert "fluxopt solve --sensibilite" not in cut.to_markdown() and "fluxopt solve --sensibilite" in plain.to_markdown()
    assert cut.unchecked_note != plain.unchecked_note


def test_the_annex_of_a_departing_convention_lists_its_checked_reasons(tmp_path: Path) -> None:
    """The annex of PREF at B1 (the issue's example): with sensibilite.csv, each checked reason and
    the share it would give; without, the reasons read from the tables, said to be unchecked."""
    from fluxopt.documents.annexes import render_annex
    from fluxopt.documents.content import AnnexBuilder
    from fluxopt.documents.dossier import load_dossier

    args = ["--langue", "fr", "solve", str(EXEMPLE), "--set", "cil.part_q1_hors_qpv=0.6", "-q"]
    texts = {}
    for name, extra in (("plain", []), ("checked", ["--sensibilite"])):
        assert CliRunner().invoke(main, [*args, "-o", str(tmp_path / name), *extra]).exit_code == 0
        dossier = load_dossier(tmp_path / name)
        (pair,) = [p for p in dossier.parts.to_dict("records") if p["reservataire"] == "PREF"]
        with using("fr"):
            texts[name] = render_annex(AnnexBuilder(dossier), pair)
    assert ("- Objectif CIL hors QPV dans l'EPCI 243300316 : 60 % des attributions aux ménages du premier quartile "
            "(Q1) — pousse la part au-dessus de sa cible : sans cet objectif, la part serait de 27,00 logements par "
            "an au lieu de 36,00.") in texts["checked"]
    assert "raisons probables" not in texts["checked"]
    assert "raisons probables, non vérifiées par un calcul" in texts["plain"] and "27,00" not in texts["plain"]


def test_kept_bases_spare_the_extra_solve(monkeypatch: pytest.MonkeyPatch) -> None:
    """Solved with keep_bases, the counterfactual solves start from the result's own bases (no
    second solve of the unrelaxed LP) and give the same explanation as bases found again."""
    import fluxopt.counterfactuals as cf

    overrides = {"cil.part_q1_hors_qpv": 0.6}
    again = fluxopt.explain(fluxopt.solve(EXEMPLE, overrides=overrides, keep_duals=True)).to_markdown()
    kept = fluxopt.solve(EXEMPLE, overrides=overrides, keep_duals=True, keep_bases=True)
    assert all(s.basis is not None for s in kept.stages)

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the unrelaxed LP was solved again")

    monkeypatch.setattr(cf, "base_bases", forbidden)
    assert fluxopt.explain(kept).to_markdown() == again
