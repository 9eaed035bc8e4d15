"""Explanations in domain words: binding caps, CIL shortfalls, and the IIS of a strict infeasible instance."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

import fluxopt
from cli_instances import EXEMPLE, prefet_over_cap
from fluxopt.cli import main
from fluxopt import explain
from fluxopt.i18n import using

CIL_OUTSIDE = "CIL target outside QPV in EPCI 243300316"


def test_nothing_to_explain_on_exemple(tmp_path: Path) -> None:
    expl = explain(fluxopt.solve(EXEMPLE, keep_duals=True))
    assert expl.is_empty()


def test_binding_cap_is_named(tmp_path: Path) -> None:
    expl = explain(fluxopt.solve(prefet_over_cap(tmp_path), keep_duals=True))
    (pair,) = expl.pairs
    assert (pair.bailleur, pair.reservataire) == ("B1", "PREF")
    assert pair.cible == 45.0 and abs(pair.logements - 36.0) < 1e-3
    cap = next(r for r in pair.reasons if r.code == "plafond_prefet")
    assert {k: cap.params[k] for k in ("bailleur", "taux", "logements", "sens", "relache")} == \
        {"bailleur": "B1", "taux": 0.3, "logements": 36.0, "sens": "retient", "relache": 0.35}
    assert cap.text.startswith("cap of the préfet (with its agents) at bailleur B1: 30 %")
    with using("fr"):
        assert cap.text == ("plafond du préfet (avec ses agents) chez le bailleur B1 : 30 % de son flux (36,00 "
                            "logements par an) — retient la part en dessous de sa cible : avec ce plafond à 35 %, "
                            "la part serait de 42,00 logements par an au lieu de 36,00")


def test_solve_writes_explication_md_when_a_cap_binds(tmp_path: Path) -> None:
    out = tmp_path / "r"
    res = CliRunner().invoke(main, ["solve", str(prefet_over_cap(tmp_path)), "-o", str(out), "-q", "--sensibilite"])
    assert res.exit_code == 0
    text = (out / "explication.md").read_text(encoding="utf-8")
    assert "**PREF at B1**: 36.00 dwellings/year instead of 45.00" in text
    assert "cap of the préfet (with its agents) at bailleur B1: 30 %" in text


def test_cil_target_moving_flux_is_named() -> None:
    expl = explain(fluxopt.solve(EXEMPLE, overrides={"cil.part_q1_hors_qpv": 0.6}, keep_duals=True))
    assert not expl.shortfalls
    by_holder = {p.reservataire: p for p in expl.pairs}
    assert by_holder["PREF"].ecart > 0 and by_holder["AL"].ecart < 0
    for pair in by_holder.values():
        assert any(r.code == "cil_hors_qpv" and (r.params["epci"], r.params["taux"]) == ("243300316", 0.6)
                   for r in pair.reasons)
        assert any(r.text.startswith(f"{CIL_OUTSIDE}: 60 %") for r in pair.reasons)


def test_cil_shortfall_names_the_target_and_the_q1_shares() -> None:
    expl = explain(fluxopt.solve(EXEMPLE, overrides={"cil.part_q1_hors_qpv": 0.9}, keep_duals=True))
    (short,) = expl.shortfalls
    assert short.objectif.code == "cil_hors_qpv" and short.objectif.text.startswith(f"{CIL_OUTSIDE}: 90 %")
    assert short.requis == 90.0 and short.atteint < 90.0
    assert {r.code for r in short.reasons} >= {"q1_reservataire_max", "q1_bailleur_max", "plafond_prefet"}
    text = "\n".join(r.text for r in short.reasons)
    assert "Q1 share of Préfet de la Gironde (PREF) at most 90 %" in text
    assert "Q1 share of bailleur B1 on its own share at most 50 %" in text
    assert "cap of the préfet (with its agents) at bailleur B1: 30 %" in text


def test_iis_of_strict_infeasible_names_target_and_q1_shares() -> None:
    result = fluxopt.solve(EXEMPLE, overrides={"cil.strict": True, "cil.part_q1_hors_qpv": 0.9}, keep_duals=True)
    assert result.status == "infeasible"
    reasons = explain(result).infeasible
    assert reasons is not None
    assert {r.code for r in reasons} >= {"cil_hors_qpv", "part_q1_max", "part_q1_max_bailleur", "plafond_prefet",
                                         "cil_strict_hors_qpv"}
    rows = [r.text for r in reasons]
    assert f"{CIL_OUTSIDE}: 90 % of attributions to Q1 households" in rows
    assert any(r.startswith("Q1 share of Action Logement Services (AL) at most 20 %") for r in rows)
    assert any(r.startswith("Q1 share of Préfet de la Gironde (PREF) at most 90 %") for r in rows)
    assert any(r.startswith("Q1 share of bailleur B1 on its own share at most 50 %") for r in rows)
    assert any(r.startswith("cap of the préfet (with its agents) at bailleur B1: 30 %") for r in rows)
    assert any(r.startswith("strict mode") for r in rows)


def test_explain_command_on_infeasible_exits_3_and_prints_the_iis() -> None:
    res = CliRunner().invoke(main, ["explain", str(EXEMPLE), "--set", "cil.strict=true",
                                    "--set", "cil.part_q1_hors_qpv=0.9"])
    assert res.exit_code == 3
    assert "irreducible infeasible subset" in res.stdout
    assert f"{CIL_OUTSIDE}: 90 %" in res.stdout
