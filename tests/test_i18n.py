"""French for people, codes for programs: the catalogues, the language choice, the codes."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any, Callable

import click
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from click.testing import CliRunner

import fluxopt
from cli_instances import prefet_over_cap
from inputs_support import EXEMPLE, copy_folder
from fluxopt.cli import main
from fluxopt.i18n import LOCALE_DIR, _, resolve, using
from fluxopt.problems import InstanceError, Problem
from fluxopt.validate import format_problems, validate

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
    folder = fluxopt.write_result(res, tmp_path / "fr", explanation=fluxopt.explain(res))  # reasons checked
    text = (folder / "explication.md").read_text(encoding="utf-8")
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


# --- the instance checks: French sentences, a code and params on every problem ----------------------


def _broken_folder(tmp_path: Path) -> Path:
    """The example with a fractional dwelling count, a bad yes/no cell, a misspelt column and a
    right held by a réservataire that does not exist."""
    folder = copy_folder(EXEMPLE, tmp_path / "casse")
    patrimoine = folder / "patrimoine.csv"
    lines = patrimoine.read_text(encoding="utf-8").splitlines()
    lines[0] += ",liberation"
    lines[1] = lines[1].replace(",300,", ",12.5,")
    lines[2] = lines[2].replace(",non,", ",peut-être,")
    patrimoine.write_text("\n".join(lines) + "\n", encoding="utf-8")
    stock = folder / "stock.csv"
    stock.write_text(stock.read_text(encoding="utf-8") + "B1,PRFE,33063,oui,5,,\n", encoding="utf-8")
    return folder


def test_a_bad_instance_is_reported_in_french_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLUXOPT_LANGUE", raising=False)
    problems, instance = validate(_broken_folder(tmp_path))
    assert instance is None
    text = format_problems(problems).splitlines()
    assert "erreur : patrimoine.csv, ligne 2, colonne 'logements' : doit être un nombre entier de logements, " \
           "pas '12.5'" in text
    assert "erreur : patrimoine.csv, ligne 3, colonne 'qpv' : 'peut-être' n'est pas une valeur oui/non " \
           "(écrivez 1/0, oui/non, vrai/faux ou true/false)" in text
    assert "erreur : stock.csv, ligne 10, colonne 'reservataire' : 'PRFE' ne figure pas dans reservataires " \
           "(vouliez-vous dire 'PREF' ?)" in text
    assert "avertissement : patrimoine.csv, ligne 1, colonne 'liberation' : la colonne inconnue 'liberation' " \
           "est ignorée (vouliez-vous dire 'liberations' ?)" in text
    assert text[-1] == "3 erreurs, 2 avertissements"
    codes = {(p.code, p.row) for p in problems}
    assert {("nombre_non_entier", 2), ("booleen_invalide", 3), ("reservataire_inconnu", 10),
            ("colonne_inconnue", 1), ("droits_expires", 9)} == codes
    whole = next(p for p in problems if p.code == "nombre_non_entier")
    assert whole.params == {"colonne": "logements", "valeur": "12.5"}
    # The same instance in English (the language active when it is loaded decides).
    with using("en"):
        english = format_problems(validate(_broken_folder(tmp_path / "en"))[0])
    assert "error: patrimoine.csv, row 2, column 'logements': 12.5 is not a whole number of dwellings" in english


def _broken_instances(tmp_path: Path) -> list[Any]:
    """Sources that break most checks: files, sheets, keys, cells, cross-table checks, policy."""
    def folder(name: str, edit: dict[str, Callable[[str], str]]) -> Path:
        target = copy_folder(EXEMPLE, tmp_path / name)
        for file, change in edit.items():
            path = target / file
            path.write_text(change(path.read_text(encoding="utf-8") if path.exists() else ""), encoding="utf-8")
        return target

    def rows(*extra: str) -> Callable[[str], str]:
        return lambda text: text + "".join(f"{row}\n" for row in extra)

    sources: list[Any] = [
        folder("cells", {"patrimoine.csv": rows("B1,33063,243300316,oui,300,0,30,,0,2,8",
                                                "B2,33064,243300316,x,-3,abc,inf,1.5,,,",
                                                "B3,33065,,non,5,9,,,,,",
                                                "B4,33066,243300316,non,100,0,1e99,,0,0,0,extra"),
                         "reservataires.csv": rows("PREF,Autre,prefet,", "LOC,Commune,commune,", "X,Y,inconnu,",
                                                   "Z,Z,epci,123", "W,W,epci,99999"),
                         "stock.csv": rows("B1,PREF,33063,oui,60,9,", "B9,PREF,33063,oui,1,,",
                                           "B1,PREF,33999,oui,1,,", "B1,BX,33281,non,1,,",
                                           "B1,AL,33063,oui,10000,,1800"),
                         "cil.csv": rows("243300316,,", "999999999,2,"),
                         "bailleurs.csv": rows("B1,Habitat,oph", "B8,Autre,xyz"),
                         "report.csv": lambda _text: "bailleur,reservataire,logements\nB1,PREF,1\nB1,PREF,2\nB7,QQ,1\n",
                         "accords.csv": lambda _text: ("bailleur,reservataire,logements,flux_pct\nB1,AL,1,5\n"
                                                       "B1,AL,2,\nB7,QQ,,\n"),
                         "divers.csv": lambda _text: "a,b\n1,2\n"}),
        folder("meta", {"instance.toml": lambda _text: ('nom = 3\nterritoire = "xyz"\nannee = 12\n'
                                                        'politique = "elan-2021"\ninconnue = 1\nsurcharges = 4\n')}),
        folder("policy", {"instance.toml": lambda text: text + "[surcharges]\nplafonds.prefet = 2\ncil.strikt = true\n"}),
        folder("empty", {"patrimoine.csv": lambda _text: "", "reservataires.csv": lambda _text: "a,b\n1,2\n",
                         "stock.csv": lambda _text: "bailleur,bailleur,reservataire\n"}),
        folder("notoml", {"instance.toml": lambda _text: "nom = = 3\n"}),
        tmp_path / "nowhere",
        {"instance": [], "patrimoine": 3, "stock": [1], "autre": []},
        {"patrimoine": [{"bailleur": {"a": 1}}]},
        [1, 2],
    ]
    json_path = tmp_path / "bad.json"
    json_path.write_text("{", encoding="utf-8")
    utf16 = folder("utf16", {})
    (utf16 / "stock.csv").write_bytes("bailleur\n".encode("utf-16"))
    latin = folder("latin", {})
    (latin / "reservataires.csv").write_bytes("reservataire,nom,type\nPREF,Préfet,prefet\n".encode("latin-1"))
    missing = folder("missing", {"reservataires.csv": rows("LOC,Ville,commune,99999")})
    (missing / "bailleurs.csv").write_text("bailleur,nom,type,typ\nB1,Habitat,oph,x\n", encoding="utf-8")
    (missing / "cil.csv").unlink()
    (missing / "instance.toml").unlink()
    return [*sources, json_path, utf16, latin, missing]


def test_every_problem_of_broken_instances_has_a_code(tmp_path: Path) -> None:
    found: list[Problem] = []
    for source in _broken_instances(tmp_path):
        try:
            found += validate(source)[0]
        except InstanceError as exc:  # validate raises nothing, but a reader's error is an InstanceError
            found += exc.problems
    assert len(found) > 40
    uncoded = [str(p) for p in found if not p.code or p.params is None]
    assert uncoded == [], "problems without a code:\n" + "\n".join(uncoded)
    assert all(re.fullmatch(r"[a-z0-9_]+", p.code or "") for p in found)
    assert {"nombre_invalide", "nombre_negatif", "colonne_inconnue", "droits_expires", "perimetre_inconnu",
            "report_doublon", "fichier_manquant", "politique_inconnue", "valeur_politique_invalide"} <= {
        p.code for p in found}


def test_solve_langue_applies_to_the_warnings_of_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLUXOPT_LANGUE", raising=False)
    expired = "rights of AL on 10 dwellings of bailleur B1 in commune 33063 ended in 2020, before 2025: they are dropped"
    assert expired in [w.message for w in fluxopt.solve(EXEMPLE, langue="en").summary.warnings]
    french = [w.message for w in fluxopt.solve(EXEMPLE).summary.warnings]
    assert "les droits de AL sur 10 logements du bailleur B1 dans la commune 33063 ont pris fin en 2020, " \
           "avant 2025 : ils sont écartés" in french


def test_summary_warnings_carry_code_and_params(tmp_path: Path) -> None:
    out = fluxopt.write_result(fluxopt.solve(EXEMPLE), tmp_path / "r")
    warnings = json.loads((out / "summary.json").read_text(encoding="utf-8"))["warnings"]
    assert warnings and all(w["code"] and isinstance(w["params"], dict) for w in warnings)
    expired = next(w for w in warnings if w["code"] == "droits_expires")
    assert expired["params"] == {"reservataire": "AL", "logements": 10, "bailleur": "B1", "commune": "33063",
                                 "fin_droits": 2020, "annee": 2025}


def test_refusals_of_the_documents_and_of_the_options_are_french_by_default(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLUXOPT_LANGUE", raising=False)
    runner = CliRunner()
    empty = tmp_path / "vide"
    empty.mkdir()
    rapport = runner.invoke(main, ["rapport", str(empty), "-o", str(tmp_path / "r.pdf")])
    assert rapport.exit_code == 2 and "Traceback" not in rapport.output
    assert "ce n'est pas un dossier de résultats de fluxopt : summary.json manque" in rapport.output
    with using("fr"), pytest.raises(fluxopt.UsageError, match="time_limit doit être un nombre positif de secondes"):
        fluxopt.solve(ROOT / "instances" / "exemple", time_limit=-1)
    with using("en"), pytest.raises(fluxopt.UsageError, match="time_limit must be a positive number of seconds"):
        fluxopt.solve(ROOT / "instances" / "exemple", time_limit=-1)


def _words(text: str) -> str:
    """Text as click wraps it, compared word by word."""
    return " ".join(text.split())


def test_help_is_french_by_default_and_english_with_langue_en(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLUXOPT_LANGUE", raising=False)
    runner = CliRunner()
    group = runner.invoke(main, prog_name="fluxopt", args=["--help"])
    assert group.exit_code == 0
    assert group.stdout.startswith("Usage : fluxopt [OPTIONS] COMMAND [ARGS]...")
    text = _words(group.stdout)
    assert "fluxopt : convertit les droits de réservation en stock des réservataires en parts annuelles de flux" in text
    assert "Options : -V, --version Affiche la version et quitte." in text
    assert "[défaut : fr]. [variable d'environnement : FLUXOPT_LANGUE]" in text
    assert "-h, --help Affiche cette aide et quitte." in text
    assert "Commandes : annexes Écrit une annexe par convention" in text  # the short helps, lazy commands too
    assert "solve Résout INSTANCE (un dossier CSV, un .xlsx ou un .json) et..." in text
    assert "\n    eval \"$(_FLUXOPT_COMPLETE=bash_source fluxopt)\"\n" in group.stdout  # \b paragraph kept
    solve = runner.invoke(main, prog_name="fluxopt", args=["solve", "--help"])
    assert solve.exit_code == 0 and solve.stdout.startswith("Usage : fluxopt solve [OPTIONS] INSTANCE")
    assert "\n  Exemples :\n    fluxopt solve instances/exemple\n" in solve.stdout
    text = _words(solve.stdout)
    assert "Codes de sortie : 0 résolu, 2 entrée ou usage invalide, 3 infaisable" in text
    assert "--set KEY=VALUE Surcharge une clé de la politique, p. ex. --set plafonds.prefet=0.25 (répétable)." in text
    assert "installé que Pyomo sait piloter (glpk, cbc). [défaut : highs]" in text
    assert "-j, --jobs INTEGER RANGE Processus pour les résolutions contrefactuelles" in text
    assert "[défaut : 1; 1<=x<=256]" in text  # the range as click writes it

    english = runner.invoke(main, prog_name="fluxopt", args=["--langue", "en", "--help"])
    assert english.exit_code == 0 and english.stdout.startswith("Usage: fluxopt [OPTIONS] COMMAND [ARGS]...")
    text = _words(english.stdout)
    assert "fluxopt: convert réservataires' stock rights into annual flux shares" in text
    assert "[default: fr]. [env var: FLUXOPT_LANGUE]" in text and "Show this message and exit." in text
    assert "Commands: annexes Write one annex per convention" in text
    assert "solve Solve INSTANCE (a CSV folder, .xlsx or .json) and write the..." in text
    solve = runner.invoke(main, prog_name="fluxopt", args=["--langue", "en", "solve", "--help"])
    assert "\n  Examples:\n    fluxopt solve instances/exemple\n" in solve.stdout
    assert "--set KEY=VALUE Override a policy key, e.g. --set plafonds.prefet=0.25 (repeatable)." in _words(solve.stdout)
    assert "(glpk, cbc). [default: highs]" in _words(solve.stdout)
    monkeypatch.setenv("FLUXOPT_LANGUE", "en")
    assert "Override a policy key" in runner.invoke(main, prog_name="fluxopt", args=["solve", "--help"]).stdout
    assert "Surcharge une clé" in runner.invoke(main, prog_name="fluxopt", args=["--langue", "fr", "solve", "--help"]).stdout
    # click's behaviour otherwise: usage errors still exit 2, --version is as it was
    assert runner.invoke(main, prog_name="fluxopt", args=["solve", "--nope"]).exit_code == 2
    assert runner.invoke(main, prog_name="fluxopt", args=["--langue", "de", "--help"]).exit_code == 2


def test_every_command_help_is_french(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each command (those of cli_batch and cli_documents, loaded when asked for, too): its help and
    each option's help are in the French catalogue and shown in French, never in English."""
    from fluxopt.cli_help import HelpCommand
    from fluxopt.i18n import translations
    from fluxopt.territoires import DEPARTEMENTS

    assert len(DEPARTEMENTS) == 101  # written in the help of generate --departements
    monkeypatch.delenv("FLUXOPT_LANGUE", raising=False)
    french = translations("fr")
    runner = CliRunner()
    with main.make_context("fluxopt", [], resilient_parsing=True) as ctx:
        names = main.list_commands(ctx)
        commands = {name: main.get_command(ctx, name) for name in names}
    assert {"solve", "batch", "compare", "rapport", "annexes", "serve"} <= set(names)
    for name, command in commands.items():
        assert isinstance(command, HelpCommand) and command.help, name
        shown = runner.invoke(main, prog_name="fluxopt", args=[name, "--help"])
        assert shown.exit_code == 0 and shown.stdout.startswith(f"Usage : fluxopt {name} "), name
        text = _words(shown.stdout)
        translated = french.gettext(command.help)
        assert translated != command.help and _words(translated.replace("\b", "")) in text, name
        for param in command.params:
            if isinstance(param, click.Option) and param.help:
                assert french.gettext(param.help) != param.help, (name, param.name)
                assert _words(french.gettext(param.help)) in text and _words(param.help) not in text, (name, param.name)


def test_langue_of_a_help_lasts_for_that_call_only() -> None:
    """The language that --langue sets (an eager option, as a resource of the command's context)
    must not outlive the call, --help and usage errors included."""
    runner = CliRunner()
    before = _("error")
    for args in (["--langue", "fr", "--help"], ["--langue", "fr", "solve", "--help"], ["--langue", "fr", "nope"]):
        runner.invoke(main, args)
        assert _("error") == before, args
