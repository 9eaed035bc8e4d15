"""Hand-computed optima on tiny instances (the arithmetic is in each docstring)."""

from __future__ import annotations

import pytest

import fluxopt
from conftest import right, segment

ABS = 1e-4  # dwellings: the stage tolerance (1e-6 relative) lets later stages move this little
OBJ = 1e-5  # objectives of later stages, for the same reason


def shares_of(result: fluxopt.Result) -> dict[str, dict]:
    return {r["reservataire"]: r for r in result.shares.to_dict("records")}


def x_of(result: fluxopt.Result, titulaire: str) -> dict[str, float]:
    seg = result.segments[result.segments["titulaire"] == titulaire]
    return {f"{r.commune}{'Q' if r.qpv else ''}": r.logements for r in seg.itertuples()}


PREF = {"reservataire": "PREF", "type": "prefet"}
AGENTS = {"reservataire": "AGENTS", "type": "prefet_agents"}
AL = {"reservataire": "AL", "type": "action_logement"}


def test_flux_base_with_every_exclusion(make_instance):
    """N = 200 - 20 = 180; L = 0.1 * 180 = 18; F = 18 + 5 - 3 - 2 = 18.
    PREF holds 36 of the 180 eligible dwellings: E = 36 * 18 / 180 = 3.6, p0 = 3.6 / 18 = 0.2, T = 3.6."""
    seg = {"bailleur": "B1", "commune": "A", "epci": "E", "qpv": "non", "logements": 200,
           "logements_hors_flux": 20, "taux_rotation": 0.1, "mises_en_service": 5,
           "mutations_internes": 3, "relogements": 2}
    path = make_instance([seg], [PREF], [right("PREF", "A", False, 36)])
    inst = fluxopt.load_instance(path)
    assert inst.patrimoine.loc[0, "liberations"] == pytest.approx(18)
    assert inst.patrimoine.loc[0, "flux_base"] == pytest.approx(18)
    res = fluxopt.solve(inst)
    row = shares_of(res)["PREF"]
    assert row["flux_base"] == pytest.approx(18)
    assert row["equivalence_pct"] == pytest.approx(20)
    assert row["cible"] == pytest.approx(3.6)
    assert row["logements"] == pytest.approx(3.6, abs=ABS)


def _methods_instance(make_instance):
    """S1 (A): 100 dwellings, 10 releases, 12 attributions; S2 (B): 300, 15, 10.5.
    AL: 50 reserved in A (6 observed releases, 7 attributions), 30 in B (2 attributions). F = 25."""
    return make_instance(
        [segment("A", False, 100, 10, epci="E", attributions=12),
         segment("B", False, 300, 15, epci="E", attributions=10.5)],
        [AL],
        [right("AL", "A", False, 50, liberations=6, attributions=7), right("AL", "B", False, 30, attributions=2)],
    )


@pytest.mark.parametrize(
    ("method", "p0"),
    [
        ("rotation", 0.3),  # E = 6 (observed) + 30 * 15 / 300 = 7.5; 7.5 / 25 releases
        ("stock", 0.2),  # 80 reserved / 400 dwellings
        ("attributions", 0.4),  # (7 + 2) attributions on its rights / (12 + 10.5) on the segments
    ],
)
def test_equivalence_methods(make_instance, method, p0):
    path = _methods_instance(make_instance)
    res = fluxopt.solve(path, overrides={"equivalence.methode": method})
    row = shares_of(res)["AL"]
    assert row["methode"] == method
    assert row["equivalence_pct"] == pytest.approx(100 * p0)
    assert row["cible"] == pytest.approx(p0 * 25)
    assert row["logements"] == pytest.approx(p0 * 25, abs=ABS)
    assert res.objectives["ecart_max"] == pytest.approx(0, abs=OBJ)


def test_rotation_falls_back_to_stock_without_releases(make_instance):
    """No releases but 8 new lettings: F = 8; rotation has no denominator, stock gives 25 / 100, T = 2."""
    path = make_instance([segment("A", False, 100, 0, epci="E", mises_en_service=8)], [AL],
                         [right("AL", "A", False, 25)])
    res = fluxopt.solve(path)
    row = shares_of(res)["AL"]
    assert row["methode"] == "stock"
    assert row["cible"] == pytest.approx(2)
    assert any("'stock' method is used instead" in w.message for w in res.summary.warnings)


def test_attributions_method_requires_attributions(make_instance):
    path = make_instance([segment("A", False, 100, 10, epci="E")], [AL], [right("AL", "A", False, 25)])
    with pytest.raises(fluxopt.InstanceError) as err:
        fluxopt.solve(path, overrides={"equivalence.methode": "attributions"})
    assert {(p.file, p.row, p.column) for p in err.value.problems} >= {("patrimoine.csv", 2, "attributions")}


def _caps_instance(make_instance, prefet: int, agents: int):
    """One segment: 1000 dwellings, 100 releases, F = 100; rights give T = prefet / 10, agents / 10."""
    rights = [right("PREF", "A", False, prefet)]
    if agents:
        rights.append(right("AGENTS", "A", False, agents))
    return make_instance([segment("A", False, 1000, 100, epci="E")], [PREF, AGENTS], rights)


def test_prefet_cap_binds(make_instance):
    """T = 40 > 30 % of 100: X = 30, relative departure 10 / 40."""
    res = fluxopt.solve(_caps_instance(make_instance, 400, 0))
    assert shares_of(res)["PREF"]["logements"] == pytest.approx(30, abs=ABS)
    assert res.objectives["ecart_max"] == pytest.approx(0.25, abs=OBJ)
    assert res.bailleurs.loc[0, "prefet_pct"] == pytest.approx(30, abs=1e-3)


def test_prefet_and_agents_caps_bind(make_instance):
    """T = 40 and 8: agents <= 5 gives e >= 3/8; together <= 30 gives 48 (1 - e) <= 30, e >= 3/8.
    Minimax e = 0.375: X = 25 and 5; then each departure is at least 0.375, total 0.75."""
    res = fluxopt.solve(_caps_instance(make_instance, 400, 80))
    s = shares_of(res)
    assert s["PREF"]["logements"] == pytest.approx(25, abs=ABS)
    assert s["AGENTS"]["logements"] == pytest.approx(5, abs=ABS)
    assert res.objectives["ecart_max"] == pytest.approx(0.375, abs=OBJ)
    assert res.objectives["ecart_total"] == pytest.approx(0.75, abs=OBJ)


def test_stage_order_changes_the_proposal(make_instance):
    """T = 28 and 5, together 33 > 30. Minimax first: both lose 3/33: X = 25.4545, 4.5455.
    Total first: a dwelling costs 1/T, cheaper from the préfet: X = 25 and 5, total 3/28."""
    path = _caps_instance(make_instance, 280, 50)
    default = fluxopt.solve(path)
    assert default.objectives["ecart_max"] == pytest.approx(3 / 33, abs=OBJ)
    assert default.objectives["ecart_total"] == pytest.approx(6 / 33, abs=OBJ)
    assert shares_of(default)["PREF"]["logements"] == pytest.approx(28 * 30 / 33, abs=ABS)
    total_first = fluxopt.solve(path, overrides={"objectif.ordre": ["ecart_total", "ecart_max", "regularite"]})
    assert total_first.objectives["ecart_total"] == pytest.approx(3 / 28, abs=OBJ)
    assert total_first.objectives["ecart_max"] == pytest.approx(3 / 28, abs=OBJ)
    assert shares_of(total_first)["AGENTS"]["logements"] == pytest.approx(5, abs=ABS)
    assert [s.name for s in total_first.summary.stages] == ["ecart_total", "ecart_max", "regularite"]


def _uniform_instance(make_instance, surcharges: str = ""):
    """A: 600 dwellings, F = 60; B: 400, F = 40. PREF: 60 reserved in A releasing 12 a year (observed):
    E = 12, T = 12 (p0 = 0.12). Commune C (perimeter A): 500 reserved releasing 55, T = 55 on F_bC = 60."""
    return make_instance(
        [segment("A", False, 600, 60, epci="E"), segment("B", False, 400, 40, epci="E")],
        [PREF, {"reservataire": "C", "type": "commune", "perimetre": "A"}],
        [right("PREF", "A", False, 60, liberations=12), right("C", "A", False, 500, liberations=55)],
        surcharges=surcharges,
    )


def test_uniform_prefet_rate(make_instance):
    """Uniform: x_A = 60 rho; 60 rho + X_C <= 60 with rho = 0.12 (1 - e), X_C = 55 (1 - e):
    62.2 (1 - e) <= 60, e = 2.2 / 62.2. Both segments get the same rate."""
    res = fluxopt.solve(_uniform_instance(make_instance))
    assert res.objectives["ecart_max"] == pytest.approx(2.2 / 62.2, abs=OBJ)
    x = x_of(res, "PREF")
    assert x["A"] / 60 == pytest.approx(x["B"] / 40, abs=OBJ)
    assert x["A"] + x["B"] == pytest.approx(12 * 60 / 62.2, abs=ABS)


def test_non_uniform_prefet_moves_to_free_segments(make_instance):
    """Without prefet.uniforme the préfet takes its 12 where C leaves room: no departure."""
    res = fluxopt.solve(_uniform_instance(make_instance, "prefet.uniforme = false"))
    assert res.objectives["ecart_max"] == pytest.approx(0, abs=OBJ)
    x = x_of(res, "PREF")
    assert x["A"] == pytest.approx(5, abs=ABS) and x["B"] == pytest.approx(7, abs=ABS)


def test_commune_reservataire_stays_in_its_perimeter(make_instance):
    res = fluxopt.solve(_uniform_instance(make_instance))
    assert set(x_of(res, "C")) == {"A"}
    assert shares_of(res)["C"]["flux_base"] == pytest.approx(60)


def _balance_instance(make_instance, tolerance: float):
    """A (QPV): F = 50; B: F = 50. AL: 500 reserved in A, E = 50, T = 50 of 100; theta = 0.5.
    Commune C (perimeter B): 400 reserved, E = 40, T = 40 of 50."""
    return make_instance(
        [segment("A", True, 500, 50, epci="E"), segment("B", False, 500, 50, epci="E")],
        [AL, {"reservataire": "C", "type": "commune", "perimetre": "B"}],
        [right("AL", "A", True, 500), right("C", "B", False, 400)],
        surcharges=f"equilibre.tolerance_qpv = {tolerance}",
    )


def test_qpv_balance_binds(make_instance):
    """AL keeps >= 40 % outside QPV: x_B >= 0.4 * 50 (1 - e); C takes 40 (1 - e) of B's 50:
    60 (1 - e) <= 50, e = 1/6 for both; X_AL = 41.667 of which 25 in QPV (60 %)."""
    res = fluxopt.solve(_balance_instance(make_instance, 0.1))
    assert res.objectives["ecart_max"] == pytest.approx(1 / 6, abs=OBJ)
    assert res.objectives["ecart_total"] == pytest.approx(1 / 3, abs=OBJ)
    x = x_of(res, "AL")
    assert x["AQ"] == pytest.approx(25, abs=ABS)
    assert x["AQ"] + x["B"] == pytest.approx(50 * 5 / 6, abs=ABS)


def test_qpv_balance_released(make_instance):
    res = fluxopt.solve(_balance_instance(make_instance, 1.0))
    assert res.objectives["ecart_max"] == pytest.approx(0, abs=OBJ)


def _cil_instance(make_instance, bailleur_q1_max: float | None = None, surcharges: str = ""):
    """One segment outside QPV in a CIL EPCI: F = 100; AL: 900 reserved, T = 90; AL Q1 share <= 20 %."""
    return make_instance(
        [segment("A", False, 1000, 100)], [AL], [right("AL", "A", False, 900)],
        cil=[{"epci": "200000001"}],
        bailleurs=None if bailleur_q1_max is None else [{"bailleur": "B1", "part_q1_max": bailleur_q1_max}],
        surcharges=surcharges,
    )


def test_cil_target_met_by_moving_flux(make_instance):
    """Q1 <= 0.2 a + 0.5 (100 - a) must reach 25: a <= 83.333; departure 6.667 / 90."""
    res = fluxopt.solve(_cil_instance(make_instance))
    assert res.objectives["ecart_cil"] == pytest.approx(0, abs=OBJ)
    assert shares_of(res)["AL"]["logements"] == pytest.approx(250 / 3, abs=ABS)
    assert res.objectives["ecart_max"] == pytest.approx((90 - 250 / 3) / 90, abs=OBJ)
    row = res.cil.iloc[0]
    assert (row["objectif"], row["requis"]) == ("q1_hors_qpv", 25)
    assert row["deficit"] == pytest.approx(0, abs=OBJ)


def test_cil_shortfall_when_no_holder_can_reach_it(make_instance):
    """Every holder designates at most 20 % Q1: at most 20 of the 25 required, shortfall 5, equivalence kept."""
    res = fluxopt.solve(_cil_instance(make_instance, bailleur_q1_max=0.2))
    assert res.status == "optimal"
    assert res.objectives["ecart_cil"] == pytest.approx(5, abs=OBJ)
    assert res.objectives["ecart_max"] == pytest.approx(0, abs=OBJ)
    assert res.cil.iloc[0]["deficit"] == pytest.approx(5, abs=OBJ)


def test_strict_cil_infeasible(make_instance):
    res = fluxopt.solve(_cil_instance(make_instance, bailleur_q1_max=0.2, surcharges="cil.strict = true"))
    assert res.status == "infeasible"
    assert res.objectives == {}
    assert res.shares.empty
    stage = res.summary.stages[0]
    assert (stage.name, stage.status, stage.optimum) == ("ecart_cil", "infeasible", None)


def test_expired_rights_are_dropped_and_reported(make_instance):
    """AL: 100 reserved (live) + 200 expired in 2024 < 2025; T = 100 / 1000 * 100 = 10."""
    path = make_instance(
        [segment("A", False, 1000, 100, epci="E"), segment("B", False, 500, 0, epci="E")], [AL],
        [right("AL", "A", False, 100, fin_droits=2030), right("AL", "B", False, 200, fin_droits=2024)],
    )
    res = fluxopt.solve(path)
    assert shares_of(res)["AL"]["cible"] == pytest.approx(10)
    dropped = [w.to_dict() for w in res.summary.warnings if w.column == "fin_droits"]
    assert [(w["file"], w["row"]) for w in dropped] == [("stock.csv", 3)]
    assert "ended in 2024" in dropped[0]["message"]


def test_exemple_by_hand():
    """instances/exemple: F = 20 + 60 + 40; PREF E = 9 + 10 + 8 = 27 of 120 releases, T = 27;
    AL E = 15 + 16 = 31, T = 31 (its QPV right expired); BX E = 3 + 5 = 8 of 80 releases in
    Bordeaux, T = 8. Everything fits, the CIL targets are met. Regularity: the préfet designates
    at least 50 % Q1 (0.25 above alpha on its 22.5 outside QPV) and AL at most 20 % (0.05 below
    on its 25.833): 5.625 + 1.29167 = 6.91667."""
    res = fluxopt.solve("instances/exemple")
    assert res.objectives["ecart_cil"] == pytest.approx(0, abs=OBJ)
    assert res.objectives["ecart_max"] == pytest.approx(0, abs=OBJ)
    assert res.objectives["regularite"] == pytest.approx(5.625 + 0.05 * 31 * 100 / 120, abs=1e-4)
    assert {k: round(v["cible"], 6) for k, v in shares_of(res).items()} == {"PREF": 27, "AL": 31, "BX": 8}
