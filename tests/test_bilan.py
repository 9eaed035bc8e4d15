"""The annual bilan (SPEC §6): hand-computed bilans, the input contract, property tests, the CLI,
the round trip year N → bilan → year N+1 on the bundled Gironde instance."""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings

import fluxopt
from fluxopt.bilan import compute_bilan, load_conventions, read_realise
from fluxopt.bilan.conventions import Conventions
from fluxopt.cli import main
from fluxopt.policy import load_policy
from fluxopt.problems import InstanceError

from conftest import ROOT

GIRONDE = ROOT / "instances" / "gironde-33"
COLUMNS = ["bailleur", "commune", "qpv", "titulaire", "proposes", "attribues", "q1", "prioritaires"]


def conventions(**overrides: Any) -> Conventions:
    """Bailleur B: segment 33001 outside QPV and 33002 inside, both in the CIL EPCI E. PREF (préfet)
    holds 30 % and AL (Action Logement) 40 % on both; COM (a commune, perimeter 33001) 20 % on 33001."""
    policy = load_policy("elan-2020").with_overrides(overrides)
    seg = pd.DataFrame({"bailleur": ["B", "B"], "commune": ["33001", "33002"], "epci": ["E", "E"], "qpv": [False, True]})
    links = pd.DataFrame({"bailleur": "B", "reservataire": ["PREF", "PREF", "AL", "AL", "COM"],
                          "commune": ["33001", "33002", "33001", "33002", "33001"],
                          "qpv": [False, True, False, True, False]})
    parts = pd.DataFrame({"bailleur": "B", "reservataire": ["PREF", "AL", "COM"],
                          "type": ["prefet", "action_logement", "commune"], "flux_pct": [30.0, 40.0, 20.0]})
    res = pd.DataFrame({"reservataire": ["AL", "COM", "PREF"], "type": ["action_logement", "commune", "prefet"],
                        "nom": ["Action Logement", "Commune 1", "Préfet"]})
    cil = pd.DataFrame({"epci": ["E", "E"], "objectif": ["q1_hors_qpv", "autres_qpv"], "taux": [0.25, 0.5]})
    return Conventions("test", "33", 2025, "", policy, parts, seg, links, cil, res,
                       pd.DataFrame({"bailleur": ["B"], "nom": ["Bailleur B"]}))


#: (commune, qpv, titulaire, proposes, attribues, q1, prioritaires)
HAND = [
    ("33001", "non", "PREF", 6, 6, 4, 6), ("33001", "non", "COM", 1, 1, 0, 0), ("33001", "non", "AL", 10, 8, 1, 2),
    ("33001", "non", "bailleur", 3, 3, 1, 1), ("33001", "non", "mutation", 5, 5, 0, 0),
    ("33001", "non", "relogement", 2, 2, 0, 0),
    ("33002", "oui", "PREF", 3, 3, 2, 3), ("33002", "oui", "AL", 5, 5, 1, 1), ("33002", "oui", "bailleur", 2, 2, 1, 0),
    ("33002", "oui", "relogement", 4, 4, 0, 0),
]


def write_realise(path: Path, rows: list[tuple], columns: list[str] = COLUMNS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        writer.writerows([("B", *r) for r in rows])
    return path


def by_pair(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    return {r["reservataire"]: r for r in frame.to_dict("records")}


def test_hand_bilan(tmp_path: Path) -> None:
    """Realised base per segment (mutation and relogement left out): 33001: 6 + 1 + 10 + 3 = 20;
    33002: 3 + 5 + 2 = 10.

    - PREF on both: B = 30, O = 0.30 × 30 = 9, P = 6 + 3 = 9, gap 0, carry-over 0;
    - COM on 33001 only: B = 20, O = 0.20 × 20 = 4, P = 1, gap −3; −1 × (−3) = +3 is clipped
      to report.plafond × O = 0.5 × 4 = 2: COM is owed 2 dwellings;
    - AL on both: B = 30, O = 0.40 × 30 = 12, P = 15, gap +3, carry-over −3 (within ±6).
    Priority households: AL 3 of 13 lettings = 3/13 < 0.25 (missed); PREF 9 of 9 against 100 %;
    the bailleur 1 of 5 = 0.2. CIL outside QPV: lettings 6 + 1 + 8 + 3 = 18, Q1 4 + 0 + 1 + 1 = 6,
    plus 2 rehousings counted as Q1 on both sides: 8 / 20 = 0.4 ≥ 0.25 (required 5). Inside QPV:
    10 lettings, 4 of them Q1: 6 / 10 = 0.6 of other quartiles ≥ 0.5 (the 4 rehousings in QPV
    do not count)."""
    conv = conventions()
    done = compute_bilan(conv, read_realise(write_realise(tmp_path / "realise.csv", HAND), conv))
    parts = by_pair(done.parts)
    assert {r: (p["base_realisee"], p["objectif"], p["proposes"], p["ecart"], p["report_brut"], p["report"], p["plafonne"])
            for r, p in parts.items()} == {
        "PREF": (30, 9, 9, 0, 0, 0, False), "AL": (30, 12, 15, 3, -3, -3, False), "COM": (20, 4, 1, -3, 3, 2, True)}
    assert parts["AL"]["attribues"] == 13 and parts["COM"]["ecart_relatif"] == -0.75
    assert done.report.to_dict("records") == [{"bailleur": "B", "reservataire": "AL", "logements": -3.0},
                                              {"bailleur": "B", "reservataire": "COM", "logements": 2.0}]
    prio = {r["titulaire"]: (r["attribues"], r["prioritaires"], r["cible"], r["atteint"]) for r in done.prioritaires.to_dict("records")}
    assert prio == {"AL": (13, 3, 0.25, False), "COM": (1, 0, 0.25, False), "PREF": (9, 9, 1.0, True),
                    "bailleur": (5, 1, 0.25, False)}
    assert done.prioritaires.set_index("titulaire").loc["AL", "part"] == round(3 / 13, 6)
    cil = {r["objectif"]: (r["attributions"], r["relogements"], r["requis"], r["atteint"], r["part"], r["deficit"])
           for r in done.cil.to_dict("records")}
    assert cil == {"q1_hors_qpv": (18, 2, 5, 8, 0.4, 0), "autres_qpv": (10, 0, 5, 6, 0.6, 0)}
    t = done.totaux
    assert (t["base_realisee"], t["proposes_reservataires"], t["proposes_bailleur"], t["mutations"], t["relogements"]) == \
        (30, 25, 5, 5, 6)
    assert (t["paires_en_deficit"], t["paires_en_exces"], t["reports_plafonnes"]) == (1, 1, 1)


def test_hand_bilan_policy_and_rehousing_rule(tmp_path: Path) -> None:
    """report.part = 0.5: COM's carry-over is 0.5 × 3 = 1.5, under the cap 2; AL's −1.5. Without
    cil.relogements_q1 the rehousings leave the Q1 target: 6 / 18 outside QPV, required 4.5."""
    conv = conventions(**{"report.part": 0.5, "cil.relogements_q1": False})
    done = compute_bilan(conv, read_realise(write_realise(tmp_path / "realise.csv", HAND), conv))
    assert {r: p["report"] for r, p in by_pair(done.parts).items()} == {"PREF": 0, "AL": -1.5, "COM": 1.5}
    out = done.cil.set_index("objectif").loc["q1_hors_qpv"]
    assert (out["attributions"], out["relogements"], out["requis"], out["atteint"]) == (18, 0, 4.5, 6)


def test_outside_convention_is_a_warning(tmp_path: Path) -> None:
    """COM proposed 4 dwellings in 33002, outside its perimeter: a warning; they count in the base of
    PREF and AL (B = 30 + 4 = 34) and in no gap of COM (P = 1 still)."""
    conv = conventions()
    rows = [*HAND, ("33002", "oui", "COM", 4, 4, 0, 0)]
    done = compute_bilan(conv, read_realise(write_realise(tmp_path / "realise.csv", rows), conv))
    parts = by_pair(done.parts)
    assert (parts["PREF"]["base_realisee"], parts["COM"]["proposes"]) == (34, 1)
    assert done.totaux["proposes_hors_convention"] == 4
    [warning] = done.warnings
    assert (warning.row, warning.column, warning.severity) == (12, "titulaire", "warning")


def test_bad_realise_every_problem_at_once(tmp_path: Path) -> None:
    """Unknown segment and holder, attribues > proposes, q1 and prioritaires > attribues, a
    negative count: six errors, each with its row and column."""
    conv = conventions()
    rows = [("33009", "non", "PREF", 1, 1, 0, 0), ("33001", "oui", "PREF", 1, 1, 0, 0),
            ("33001", "non", "XX", 1, 1, 0, 0), ("33001", "non", "AL", 2, 3, 0, 0),
            ("33001", "non", "AL", 3, 2, 3, 0), ("33001", "non", "AL", 3, 2, 0, 3), ("33001", "non", "AL", -1, 0, 0, 0)]
    with pytest.raises(InstanceError) as err:
        read_realise(write_realise(tmp_path / "realise.csv", rows), conv)
    found = [(p.row, p.column) for p in err.value.problems if p.severity == "error"]
    assert found == [(2, "commune"), (3, "commune"), (4, "titulaire"), (5, "attribues"), (6, "q1"),
                     (7, "prioritaires"), (8, "proposes")]


def test_missing_optional_columns_are_warnings(tmp_path: Path) -> None:
    conv = conventions()
    rows = [r[:5] for r in HAND]
    done = compute_bilan(conv, read_realise(write_realise(tmp_path / "r.csv", rows, COLUMNS[:6]), conv))
    assert done.cil.empty and done.prioritaires.empty
    assert {p.column for p in done.warnings} == {"q1", "prioritaires"}
    assert by_pair(done.parts)["COM"]["report"] == 2


@st.composite
def realised(draw: st.DrawFn) -> list[tuple]:
    holders = ["PREF", "AL", "COM", "bailleur", "mutation", "relogement"]
    rows = []
    for commune, qpv in (("33001", "non"), ("33002", "oui")):
        for h in holders:
            if h == "COM" and commune == "33002":
                continue
            proposes = draw(st.integers(0, 40))
            attribues = draw(st.integers(0, proposes))
            rows.append((commune, qpv, h, proposes, attribues, draw(st.integers(0, attribues)),
                         draw(st.integers(0, attribues))))
    return rows


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=realised(), part=st.sampled_from([1.0, 0.5, 0.0]), plafond=st.sampled_from([0.5, 0.2, 1.0]))
def test_properties(tmp_path: Path, rows: list[tuple], part: float, plafond: float) -> None:
    """The proposes of all flux holders add up to the realised base (per bailleur); every carry-over
    lies within ±plafond × objective; where none is clipped, the carry-overs sum to −part × the gaps."""
    conv = conventions(**{"report.part": part, "report.plafond": plafond})
    done = compute_bilan(conv, read_realise(write_realise(tmp_path / "p.csv", rows), conv))
    b = done.par_bailleur.iloc[0]
    assert b["base_realisee"] == b["proposes_reservataires"] + b["proposes_bailleur"] + b["proposes_hors_convention"]
    assert b["base_realisee"] == sum(r[3] for r in rows if r[2] not in ("mutation", "relogement"))
    p = done.parts
    assert ((p["report"].abs() <= plafond * p["objectif"] + 1e-6)).all()
    free = p[~p["plafonne"]]
    assert abs(free["report"].sum() + part * free["ecart"].sum()) < 1e-5
    assert done.report["logements"].sum() == pytest.approx(p["report"].sum(), abs=1e-5)


def test_round_trip_gironde(tmp_path: Path) -> None:
    """Year 2025 solved, its bilan from realise-2025.csv, then 2026 solved with report.csv: each
    pair's 2026 target is max(0, its 2025 target + carry-over), and the carry-overs are listed."""
    runner = CliRunner()
    r2025, bilan_dir, r2026 = tmp_path / "r2025", tmp_path / "bilan", tmp_path / "r2026"
    assert runner.invoke(main, ["solve", str(GIRONDE), "-o", str(r2025), "-q"]).exit_code == 0
    out = runner.invoke(main, ["bilan", str(r2025), "--realise", str(GIRONDE / "realise-2025.csv"), "--out", str(bilan_dir),
                               "--instance", str(GIRONDE)])
    assert out.exit_code == 0, out.output
    files = {p.name for p in bilan_dir.iterdir()}
    assert {"bilan.json", "bilan_parts.csv", "report.csv", "bilan_cil.csv", "bilan_prioritaires.csv",
            "bilan_r441-5-1.csv", "bilan.xlsx", "lettres"} <= files
    doc = json.loads((bilan_dir / "bilan.json").read_text(encoding="utf-8"))
    t = doc["totaux"]  # the figures of docs/bilan.md
    assert (doc["annee"], t["base_realisee"], t["mutations"], t["relogements"], t["lignes"]) == (2025, 9537, 307, 131, 2558)
    assert (t["paires"], t["paires_en_deficit"], t["paires_en_exces"], t["reports_plafonnes"]) == (103, 57, 46, 22)
    parts = pd.read_csv(bilan_dir / "bilan_parts.csv")
    oph_al = parts[(parts["bailleur"] == "OPH") & (parts["reservataire"] == "AL")].iloc[0]
    assert (oph_al["base_realisee"], oph_al["proposes"]) == (4653, 1419)
    assert oph_al["objectif"] == pytest.approx(0.35827357 * 4653, abs=1e-3)
    assert oph_al["report"] == pytest.approx(oph_al["objectif"] - 1419, abs=1e-6)
    assert len(list((bilan_dir / "lettres").iterdir())) == len(parts)
    assert "**À :** Action Logement Services (AL)" in (bilan_dir / "lettres" / "OPH_AL.md").read_text(encoding="utf-8")
    with zipfile.ZipFile(bilan_dir / "bilan.xlsx") as book:  # three native charts
        assert sorted(n for n in book.namelist() if n.startswith("xl/charts/")) == \
            [f"xl/charts/chart{i}.xml" for i in (1, 2, 3)]
    assert runner.invoke(main, ["solve", str(GIRONDE), "-o", str(r2026), "-q", "--report",
                                str(bilan_dir / "report.csv")]).exit_code == 0
    before = pd.read_csv(r2025 / "parts.csv").set_index(["bailleur", "reservataire"])["cible"]
    after = pd.read_csv(r2026 / "parts.csv").set_index(["bailleur", "reservataire"])["cible"]
    carry = pd.read_csv(bilan_dir / "report.csv").set_index(["bailleur", "reservataire"])["logements"]
    expected = (before + carry.reindex(before.index, fill_value=0)).clip(lower=0)
    assert (after.reindex(expected.index, fill_value=0) - expected).abs().max() < 1e-5
    summary = json.loads((r2026 / "summary.json").read_text(encoding="utf-8"))
    assert sum(a["regle"] == "report" for a in summary["ajustements"]) == len(carry)
    # Same input, same bytes (the dates printed are fixed).
    again = tmp_path / "again"
    runner.invoke(main, ["bilan", str(r2025), "--realise", str(GIRONDE / "realise-2025.csv"), "--out", str(again),
                         "--instance", str(GIRONDE)])
    for name in ("bilan.json", "bilan_parts.csv", "report.csv", "bilan.xlsx", "lettres/OPH_AL.md"):
        assert (again / name).read_bytes() == (bilan_dir / name).read_bytes(), name


def test_cli_bad_input_exit_2_nothing_written(tmp_path: Path) -> None:
    result_dir = tmp_path / "r"
    fluxopt.write_result(fluxopt.solve(ROOT / "instances" / "exemple"), result_dir, workbook=False, explanation=False)
    bad = tmp_path / "realise.csv"
    bad.write_text("bailleur,commune,qpv,titulaire,proposes,attribues\nNOPE,00000,non,X,1,2\n", encoding="utf-8")
    out = CliRunner().invoke(main, ["bilan", str(result_dir), "--realise", str(bad), "--out", str(tmp_path / "b")])
    assert out.exit_code == 2
    assert "realise.csv, row 2, column 'bailleur'" in out.output and "Traceback" not in out.output
    assert not (tmp_path / "b").exists()


def test_api_with_result_and_xlsx(tmp_path: Path) -> None:
    """fluxopt.bilan takes a Result (names from its instance) and a workbook with a sheet 'realise'."""
    res = fluxopt.solve(ROOT / "instances" / "exemple")
    seg = res.segments
    rows = seg.assign(proposes=2, attribues=1, q1=0, prioritaires=1, qpv=seg["qpv"].map({True: "oui", False: "non"}))
    book = tmp_path / "realise.xlsx"
    rows[["bailleur", "commune", "qpv", "titulaire", "proposes", "attribues", "q1", "prioritaires"]] \
        .to_excel(book, sheet_name="realise", index=False)
    done = fluxopt.bilan(res, book, out=tmp_path / "b")
    assert isinstance(done, fluxopt.Bilan) and len(done.parts) == len(res.shares)
    pair = done.parts.iloc[0]
    members = seg[(seg["bailleur"] == pair["bailleur"]) & (seg["titulaire"] == pair["reservataire"])]
    assert pair["proposes"] == 2 * len(members)
    letter = (tmp_path / "b" / "lettres").iterdir().__next__().read_text(encoding="utf-8")
    assert letter.startswith("# Bilan annuel des attributions — année")
    assert load_conventions(res).nom_reservataire(pair["reservataire"]) != ""


def test_generate_realise_runs_a_bilan(tmp_path: Path) -> None:
    """fluxopt generate --realise writes a realise.csv that a solve of the same folder accepts whole."""
    runner = CliRunner()
    assert runner.invoke(main, ["generate", "-n", "1", "--seed", "3", "--scale", "0.02", "--out", str(tmp_path / "g"),
                                "--realise"]).exit_code == 0
    folder = next((tmp_path / "g").iterdir())
    assert runner.invoke(main, ["solve", str(folder), "-o", str(tmp_path / "r"), "-q"]).exit_code == 0
    done = fluxopt.bilan(tmp_path / "r", folder / "realise.csv")
    assert done.totaux["base_realisee"] > 0 and not [w for w in done.warnings if w.column == "titulaire"]


def test_solve_report_refuses_a_second_carry_over(tmp_path: Path) -> None:
    """An instance that already has report.csv and --report: which one holds is not guessed (exit 2)."""
    folder = tmp_path / "inst"
    folder.mkdir()
    for f in (ROOT / "instances" / "exemple").iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    report = tmp_path / "report.csv"
    report.write_text("bailleur,reservataire,logements\n", encoding="utf-8")
    (folder / "report.csv").write_text("bailleur,reservataire,logements\n", encoding="utf-8")
    out = CliRunner().invoke(main, ["solve", str(folder), "-o", str(tmp_path / "r"), "--report", str(report)])
    assert out.exit_code == 2 and "already has a 'report' table" in out.output
    assert not (tmp_path / "r").exists()


def test_realise_file_in_an_instance_folder_is_no_warning() -> None:
    """instances/gironde-33 holds realise-2025.csv: the instance reader skips it silently."""
    inst = fluxopt.load_instance(GIRONDE)
    assert not [w for w in inst.warnings if "realise" in w.file]


def test_hand_letters(tmp_path: Path) -> None:
    """The letters of the hand bilan say what is owed and what is taken back, and the cap."""
    from fluxopt.bilan.letters import render_letters

    conv = conventions()
    letters = render_letters(compute_bilan(conv, read_realise(write_realise(tmp_path / "r.csv", HAND), conv)), "31/01/2026")
    assert sorted(letters) == ["B_AL.md", "B_COM.md", "B_PREF.md"]
    com, al, pref = letters["B_COM.md"], letters["B_AL.md"], letters["B_PREF.md"]
    assert "**À :** Commune 1 (COM)" in com and "| Objectif : part × flux réalisé | 4,0 |" in com
    assert "**3,0 logement(s) de moins**" in com and "**2,0 logement(s)** s'ajoutent à votre objectif de 2026 " \
        "(le report est plafonné à 50,0 % de votre objectif annuel)" in com
    assert "**3,0 logement(s) de plus**" in al and "**3,0 logement(s)** sont déduits de votre objectif de 2026." in al
    assert "soit 23,1 %, pour un objectif de 25,0 % : objectif **non atteint**" in al
    assert "aucun report sur 2026" in pref and "pour un objectif de 100,0 % : objectif atteint" in pref
    assert "| hors QPV | 6 | 6 |" in pref and "| QPV | 3 | 3 |" in pref


def test_workbook_without_the_sheet(tmp_path: Path) -> None:
    """A workbook of several sheets none of which is 'realise': one problem naming the file."""
    book = tmp_path / "realise.xlsx"
    with pd.ExcelWriter(book) as writer:
        pd.DataFrame({"a": [1]}).to_excel(writer, sheet_name="autre", index=False)
        pd.DataFrame({"a": [1]}).to_excel(writer, sheet_name="realises", index=False)
    with pytest.raises(InstanceError) as err:
        read_realise(book, conventions())
    [problem] = err.value.problems
    assert problem.file == "realise.xlsx" and "no sheet 'realise'" in problem.message and "realises" in problem.message
