"""French for people, codes for programs: the catalogues, the language choice, the codes."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from click.testing import CliRunner

import fluxopt
from cli_instances import prefet_over_cap
from fluxopt.cli import main
from fluxopt.i18n import LOCALE_DIR, _, resolve, using
from fluxopt.problems import Problem

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER = re.compile(r"\{[a-z_]*\}")


def _catalog(langue: str):
    with (LOCALE_DIR / langue / "LC_MESSAGES" / "fluxopt.po").open("rb") as fh:
        return read_po(fh, locale=langue)


@pytest.mark.parametrize("langue", ["fr", "en"])
def test_compiled_catalogues_are_up_to_date(langue: str) -> None:
    """The .mo files are committed (no build step; Babel is needed only to edit the catalogues):
    each must be exactly what `pybabel compile` makes of its .po."""
    buffer = io.BytesIO()
    write_mo(buffer, _catalog(langue))
    assert (LOCALE_DIR / langue / "LC_MESSAGES" / "fluxopt.mo").read_bytes() == buffer.getvalue(), \
        "run the recipe of docs/i18n.md (pybabel extract, update, compile)"


def test_every_message_of_the_code_has_a_french_translation_with_the_same_placeholders() -> None:
    extracted = {m[2] for m in extract_from_dir(str(ROOT / "src"), method_map=[("**.py", "python")])
                 if isinstance(m[2], str)}
    catalog = {m.id: m.string for m in _catalog("fr") if m.id}  # iterating skips obsolete entries
    assert extracted - set(catalog) == set(), "messages missing from the catalogue: run pybabel extract and update"
    for msgid in extracted:
        assert catalog[msgid], f"no French for {msgid!r}"
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(catalog[msgid])), msgid


def test_language_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLUXOPT_LANGUE", raising=False)
    assert resolve() == "fr" and _("results in {path}") == "résultats dans {path}"
    monkeypatch.setenv("FLUXOPT_LANGUE", "en")
    assert resolve() == "en" and resolve("fr") == "fr"
    with using("fr"):
        assert _("results in {path}") == "résultats dans {path}"
    with pytest.raises(fluxopt.UsageError, match="unknown language"):
        fluxopt.solve(ROOT / "instances" / "exemple", langue="de")


def test_explication_is_french_by_default_and_english_on_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The préfet's target 45 at B1 is capped at 30 % of 120 = 36 dwellings: 36,00 instead of 45,00 (−9,00, −20,0 %)."""
    monkeypatch.delenv("FLUXOPT_LANGUE", raising=False)
    inst = prefet_over_cap(tmp_path)
    res = fluxopt.solve(inst, keep_duals=True)
    assert res.langue == "fr"
    text = (fluxopt.write_result(res, tmp_path / "fr") / "explication.md").read_text(encoding="utf-8")
    assert "# Explication de la proposition" in text
    assert "**PREF chez B1** : 36,00 logements par an au lieu de 45,00 (−9,00, −20,0 %)" in text
    assert "plafond du préfet (avec ses agents) chez le bailleur B1 : 30 % de son flux" in text
    english = fluxopt.write_result(fluxopt.solve(inst, keep_duals=True, langue="en"), tmp_path / "en")
    assert "**PREF at B1**: 36.00 dwellings/year instead of 45.00" in (english / "explication.md").read_text()


def test_cli_langue_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLUXOPT_LANGUE", raising=False)
    runner = CliRunner()
    fr = runner.invoke(main, ["solve", str(ROOT / "instances" / "exemple"), "-o", str(tmp_path / "a")])
    assert fr.exit_code == 0 and "résultats dans" in fr.stdout and "étape ecart_cil" in fr.stderr
    en = runner.invoke(main, ["--langue", "en", "solve", str(ROOT / "instances" / "exemple"), "-o", str(tmp_path / "b")])
    assert en.exit_code == 0 and "results in" in en.stdout


def test_problem_carries_code_and_params() -> None:
    p = Problem("reservataires.csv", 3, "perimetre", "unknown", "warning", "perimetre_inconnu", {"code": "99999"})
    assert p.to_dict() == {"file": "reservataires.csv", "row": 3, "column": "perimetre", "message": "unknown",
                           "severity": "warning", "code": "perimetre_inconnu", "params": {"code": "99999"}}
    assert Problem("f", None, None, "m").to_dict()["code"] is None
