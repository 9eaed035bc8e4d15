"""The report and the annexes (issue 13), read back as a reader gets them: text extracted from the
PDF (pypdf) and the docx (python-docx), the charts' data and titles, the HTML loaded in headless
Chromium with its network requests recorded.

instances/exemple by hand (see test_core.test_exemple_by_hand): one bailleur B1, flux base
F = 20 + 60 + 40 = 120 dwellings/year; PREF 27 (22,50 %), AL 31 (31/120 = 25,83 %), BX 8 of
the 80 of Bordeaux (10,00 %); own share 120 - 27 - 31 - 8 = 54 whole dwellings. AL's share by
segment is spread like F: 31 × 60/120 = 15,50 (Bordeaux outside QPV), 31 × 20/120 = 5,17 (QPV),
31 × 40/120 = 10,33 (Mérignac); its former rights 150 + 160 = 310, its 10 in QPV expired in 2020.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from html import unescape
from markupsafe import escape as html_escape
from xml.etree import ElementTree
import shutil
import subprocess
import zipfile
from pathlib import Path

import docx
import pypdf
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import fluxopt
from fluxopt.cli import main
from fluxopt.documents.dossier import load_dossier
from fluxopt.documents.report import charts, render_html
from fluxopt.documents.annexes import render_annex
from fluxopt.documents.content import AnnexBuilder, fr_number, report_context
from fluxopt.documents.markup import parse
from fluxopt.problems import UsageError

from conftest import EPCI, ROOT, write_instance

SVG_TEXT = "{http://www.w3.org/2000/svg}text"
EXEMPLE = ROOT / "instances" / "exemple"
GIRONDE = ROOT / "instances" / "gironde-33"


@pytest.fixture(scope="module")
def exemple(tmp_path_factory: pytest.TempPathFactory) -> tuple[fluxopt.Result, Path]:
    res = fluxopt.solve(EXEMPLE)
    folder = fluxopt.write_result(res, tmp_path_factory.mktemp("ex") / "resultat")
    return res, folder


@pytest.fixture(scope="module")
def gironde() -> fluxopt.Result:
    return fluxopt.solve(GIRONDE)


def pdf_text(path: Path) -> str:
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages)
    return re.sub(r"[\u202f\u00a0]", " ", text)


def docx_text(path: Path) -> str:
    doc = docx.Document(path)
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        parts += [" | ".join(cell.text for cell in row.cells) for row in table.rows]
    return re.sub(r"[\u202f\u00a0]", " ", "\n".join(parts))


def test_report_pdf_holds_the_figures(exemple, tmp_path):
    """The PDF says, in French: flux 120,0, the three shares, the whole dwellings (31, 8, 27 and
    54 of own share), the CIL target outside QPV (25 % of 100 = 25,0 required, 29,3 reached), the
    parameters (30 %, 5 %, 25 %), page numbers, and the input's SHA-256."""
    res, folder = exemple
    out = fluxopt.write_report(folder, tmp_path / "rapport.pdf", instance=EXEMPLE)
    text = pdf_text(out)
    flat = " ".join(text.split())
    assert "Proposition de conventions de réservation en flux" in flat
    assert "120,0 logements libérés par an" in flat
    for share in ("25,83 %", "22,50 %", "10,00 %"):
        assert share in flat
    assert re.search(r"Action Logement Services 25,83 % 31,0 31,0 25,83 % 31 0,0", flat)
    assert re.search(r"Ville de Bordeaux 10,00 % 8,0 8,0 10,00 % 8 0,0", flat)
    assert re.search(r"Part propre du bailleur 54,0 45,00 % 54", flat)
    assert "29,3 attributions pour 25,0 requises" in flat
    assert re.search(r"Plafond du préfet .*? 30 %", flat)
    assert re.search(r"dont agents de l'État plafonds.prefet_agents 5 %", flat)
    assert re.search(r"Part minimale des ménages prioritaires \(DALO\) prioritaires.part_min 25 %", flat)
    assert "Page 1 sur" in flat
    assert res.summary.instance.sha256 in flat.replace(" ", "")


def test_annex_docx_holds_the_figures(exemple, tmp_path):
    """AL's annex: the title, the parties, 25,83 % and 31 whole dwellings, the spread per commune
    (15,50 + 5,17 + 10,33 = 31,00), the former rights (150 + 160 = 310) and the expired 10,
    the 25 % priority commitment (0,25 × 31 = 7,8) and the Q1 range (0 to 20 % of the 25,8
    outside QPV: 0,0 to 5,2)."""
    res, folder = exemple
    paths = fluxopt.write_annexes(folder, tmp_path / "annexes", instance=EXEMPLE)
    assert sorted(p.relative_to(tmp_path / "annexes").as_posix() for p in paths) == \
        ["B1/AL.docx", "B1/BX.docx", "B1/PREF.docx"]
    text = docx_text(tmp_path / "annexes" / "B1" / "AL.docx")
    assert "Annexe à la convention de réservation en flux — année 2025" in text
    assert "Bailleur : Habitat Exemple (B1)" in text
    assert "Réservataire : Action Logement Services (AL)" in text
    assert "Flux annuel du bailleur | 120,0" in text
    assert "25,83 % du flux annuel" in text and "31 logements entiers par an" in text
    for row in ("Bordeaux (33063) | non | 60,0 | 15,50", "Bordeaux (33063) | oui | 20,0 | 5,17",
                "Mérignac (33281) | non | 40,0 | 10,33", "Total |  | 120,0 | 31,00"):
        assert row in text
    assert "Bordeaux (33063) | non | 150 | —" in text and "Total |  | 310 |" in text
    assert "10 logements à Bordeaux (33063) (QPV), droits échus en 2020" in text
    assert "au moins 7,8 logements par an" in text
    assert "soit de 0,0 à 5,2 ménages" in text
    assert "Avant le 28 février" in text and "revient au préfet" in text
    pref = docx_text(tmp_path / "annexes" / "B1" / "PREF.docx")
    assert "22,50 % du flux annuel" in pref and "27 logements entiers" in pref
    assert "entièrement destiné aux ménages prioritaires" in pref
    bx = docx_text(tmp_path / "annexes" / "B1" / "BX.docx")
    assert "10,00 % du flux annuel" in bx and "8 logements entiers" in bx and "Mérignac" not in bx


def test_annex_pdf_and_zip(exemple, tmp_path):
    """--pdf puts a PDF next to each docx with the same figures; --zip holds every file once."""
    _, folder = exemple
    out = tmp_path / "annexes"
    fluxopt.write_annexes(folder, out, pdf=True, archive=True, instance=EXEMPLE)
    text = " ".join(pdf_text(out / "B1" / "AL.pdf").split())
    assert "25,83 % du flux annuel" in text and "31 logements entiers" in text
    names = zipfile.ZipFile(out / "annexes.zip").namelist()
    assert sorted(names) == sorted(["annexes.csv"] + [f"B1/{r}.{e}" for r in ("AL", "BX", "PREF") for e in ("docx", "pdf")])


def decimals(text: str) -> Counter:
    """The decimal numbers a reader sees (thousands separators dropped), counted."""
    return Counter(re.findall(r"\d+,\d+", re.sub(r"[\u202f\u00a0]", "", text)))


def test_pdf_and_html_show_the_same_figures(gironde, tmp_path):
    """The PDF (Typst, its own template) and the HTML (Jinja2) of the Gironde report show the same
    decimal figures, as many times each: the two templates have not drifted apart."""
    dossier = load_dossier(gironde)
    html = render_html(dossier)
    body = unescape(re.sub(r"<[^>]+>", " ", re.sub(r"(?s)<(style|head)>.*?</\1>", " ", html)))
    pdf = fluxopt.write_report(dossier, tmp_path / "r.pdf")
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)
    assert decimals(text) == decimals(body)
    assert sum(decimals(body).values()) > 700  # every share, target, proposal, CIL figure


def test_same_from_result_and_folder(exemple):
    """The report made from the Result in memory and from the folder written by solve is the same page."""
    res, folder = exemple
    assert render_html(load_dossier(res)) == render_html(load_dossier(folder, instance=EXEMPLE))


def test_same_input_same_bytes(exemple, tmp_path):
    """Two PDFs and two annex zips of the same result are byte-identical (fixed dates)."""
    res, _ = exemple
    a, b = (fluxopt.write_report(res, tmp_path / f"{n}.pdf") for n in "ab")
    assert a.read_bytes() == b.read_bytes()
    za, zb = (fluxopt.write_annexes(res, tmp_path / n, archive=True)[-1] for n in "cd")
    assert za.read_bytes() == zb.read_bytes()


def test_every_chart_has_data_and_a_title(gironde):
    """Gironde: one chart per bailleur (9) and one for the CIL; each has a title drawn in its SVG,
    categories, and two series of the categories' length that are not all zero."""
    import matplotlib

    before = (matplotlib.get_backend(), dict(matplotlib.rcParams))
    context = report_context(load_dossier(gironde))
    drawn = charts(context)
    assert (matplotlib.get_backend(), dict(matplotlib.rcParams)) == before  # the caller's matplotlib untouched
    assert len(drawn) == len(gironde.bailleurs) + 1
    for chart in drawn.values():
        assert chart.title and chart.categories
        assert len(chart.series) == 2
        for values in chart.series.values():
            assert len(values) == len(chart.categories) and any(v > 0 for v in values)
        drawn_text = " ".join(t.text or "" for t in ElementTree.fromstring(chart.svg.encode()).iter(SVG_TEXT))
        assert chart.title in drawn_text
    html = render_html(load_dossier(gironde))
    images = re.findall(r'<img src="([^"]*)"', html)
    assert len(images) == len(drawn) and all(src.startswith("data:image/svg+xml;base64,") for src in images)
    assert len(re.findall(r"<figcaption>", html)) == len(drawn)


def test_gironde_report_explains_departures(gironde):
    """Gironde: the préfet's agents are cut at COOP, ESH-C and ESH-D by their 5 % cap; the report
    names that reason, in French, and shows each bailleur; ESH-C's annex for PREF-AG says it too
    (target 38,4, proposal 5 % of 679,3 = 34,0: -4,5, i.e. -11,6 %)."""
    html = render_html(load_dossier(gironde))
    assert html.count("le plafond des agents de l&#39;État (5\u00a0% du flux du bailleur) est atteint") == 3
    for name in gironde.bailleurs["nom"]:
        assert str(html_escape(name)) in html
    builder = AnnexBuilder(load_dossier(gironde))
    pair = gironde.shares[(gironde.shares["bailleur"] == "ESH-C") & (gironde.shares["reservataire"] == "PREF-AG")]
    text = render_annex(builder, pair.to_dict("records")[0])
    assert "cible de 38,4 logements par an" in text and "5,00\u00a0% du flux annuel" in text
    assert "s'écarte de cette cible de -4,5 logement(s) par an (-11,6 %), car le plafond des agents de l'État" in text


def test_missing_instance_and_bad_output(exemple, tmp_path, monkeypatch):
    """A folder whose instance is not found, or an instance changed since the solve, is refused
    with a sentence; so is a report that is neither .html nor .pdf. Nothing is written."""
    _, folder = exemple
    monkeypatch.chdir(tmp_path)
    copy = tmp_path / "elsewhere" / "r"
    shutil.copytree(folder, copy)
    summary = json.loads((copy / "summary.json").read_text(encoding="utf-8"))
    assert summary["instance"]["chemin"] == str(EXEMPLE.resolve())  # found from anywhere while it stays there
    summary["instance"]["chemin"] = str(tmp_path / "moved")  # ... but not once the instance has moved
    (copy / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    with pytest.raises(UsageError, match="not found with the same content"):
        fluxopt.write_report(copy, tmp_path / "r.html")
    changed = tmp_path / "changed"
    shutil.copytree(EXEMPLE, changed)
    (changed / "bailleurs.csv").write_text("bailleur,nom,type\nB1,Autre nom,oph\n", encoding="utf-8")
    with pytest.raises(UsageError, match="changed since the solve"):
        fluxopt.write_report(copy, tmp_path / "r.html", instance=changed)
    with pytest.raises(UsageError, match=r"\.html or \.pdf"):
        fluxopt.write_report(folder, tmp_path / "r.docx", instance=EXEMPLE)
    assert not (tmp_path / "r.html").exists() and not (tmp_path / "r.docx").exists()


def test_cli(exemple, tmp_path, monkeypatch):
    """``fluxopt rapport`` and ``fluxopt annexes`` write their files (exit 0); an unknown result
    folder exits 2 with no traceback and writes nothing."""
    from click.testing import CliRunner

    _, folder = exemple
    monkeypatch.chdir(ROOT)
    runner = CliRunner()
    ok = runner.invoke(main, ["rapport", str(folder), "--out", str(tmp_path / "r.html"), "--instance", str(EXEMPLE)])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "r.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    ok = runner.invoke(main, ["annexes", str(folder), "--out", str(tmp_path / "a"), "--zip"])  # found in ./instances
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "a" / "annexes.zip").is_file()
    bad = runner.invoke(main, ["rapport", str(tmp_path), "--out", str(tmp_path / "x.pdf")])
    assert bad.exit_code == 2 and "summary.json is missing" in bad.output and "Traceback" not in bad.output
    assert not (tmp_path / "x.pdf").exists()
    bad = runner.invoke(main, ["annexes", str(folder), "--out", str(folder)])
    assert bad.exit_code == 2 and "not an earlier annexes folder" in bad.output
    unsolved = tmp_path / "infeasible"
    shutil.copytree(folder, unsolved)
    summary = json.loads((unsolved / "summary.json").read_text(encoding="utf-8"))
    summary.update(status="infeasible", has_solution=False)
    (unsolved / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    bad = runner.invoke(main, ["rapport", str(unsolved), "--out", str(tmp_path / "i.pdf")])
    assert bad.exit_code == 2 and "has no solution (status infeasible)" in bad.output
    assert not (tmp_path / "i.pdf").exists()


def test_annex_file_names(tmp_path):
    """Ids with characters unsafe in file names get '_', and two ids that would then collide
    (or differ only by case) get distinct files: 'R/1' -> R_1.docx, 'R_1' -> R_1-2.docx."""
    write_instance(
        tmp_path / "inst",
        patrimoine=[{"bailleur": "B/1", "commune": "33063", "epci": EPCI, "qpv": "non", "logements": 100,
                     "liberations": 10}],
        reservataires=[{"reservataire": "R/1", "type": "autre"}, {"reservataire": "R_1", "type": "autre"}],
        stock=[{"bailleur": "B/1", "reservataire": "R/1", "commune": "33063", "qpv": "non", "logements_reserves": 20},
               {"bailleur": "B/1", "reservataire": "R_1", "commune": "33063", "qpv": "non", "logements_reserves": 10}],
    )
    paths = fluxopt.write_annexes(fluxopt.solve(tmp_path / "inst"), tmp_path / "a")
    assert sorted(p.relative_to(tmp_path / "a").as_posix() for p in paths) == ["B_1/R_1-2.docx", "B_1/R_1.docx"]
    assert (tmp_path / "a" / "annexes.csv").read_text(encoding="utf-8").splitlines()[1:] == [
        "B/1,R/1,20.000000,2,B_1/R_1.docx", "B/1,R_1,10.000000,1,B_1/R_1-2.docx"]


# Headless Chromium (Debian's chromium and chromium-driver): the report loads with no request
# but its own file and its data: images.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _requests(page: Path) -> list[str]:
    """The URLs Chromium requested while loading ``page`` (from its performance log)."""
    import json

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in CHROMIUM_ARGS:
        options.add_argument(arg)
    options.binary_location = shutil.which("chromium") or ""
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver") or ""))
    try:
        driver.get(page.as_uri())
        driver.execute_script("return document.readyState")
        urls = []
        for entry in driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                urls.append(message["params"]["request"]["url"])
        return urls
    finally:
        driver.quit()


def require(*programs: str) -> None:
    """Fail, with what to run, when a Debian program is missing (never skip)."""
    missing = [p for p in programs if not shutil.which(p)]
    if missing:
        pytest.fail(f"not installed: {', '.join(missing)} (bash scripts/install-debian-tools.sh installs them)")


def test_html_loads_with_no_external_request(gironde, tmp_path):
    """The Gironde report requests nothing but itself and its data: URIs; a control page with one
    external image shows that such a request would be recorded."""
    require("chromium", "chromedriver")
    page = fluxopt.write_report(gironde, tmp_path / "rapport.html")
    urls = _requests(page)
    assert urls and urls[0] == page.as_uri()
    assert [u for u in urls if not u.startswith(("data:", "file:"))] == []
    control = tmp_path / "controle.html"
    control.write_text('<html><body><img src="http://127.0.0.1:9/x.png"></body></html>', encoding="utf-8")
    assert "http://127.0.0.1:9/x.png" in _requests(control)


def test_pdftoppm_renders_the_first_page(exemple, tmp_path):
    """The PDF is a valid document poppler renders (when installed): page 1 as a PNG."""
    require("pdftoppm")
    res, _ = exemple
    pdf = fluxopt.write_report(res, tmp_path / "r.pdf")
    subprocess.run(["pdftoppm", "-r", "30", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "p")], check=True)
    png = next(tmp_path.glob("p-*.png")).read_bytes()
    assert png.startswith(b"\x89PNG") and len(io.BytesIO(png).getvalue()) > 1000


def test_annex_text_golden(exemple):
    """The annexes' French text for instances/exemple equals the golden files
    (tests/golden/exemple/annexes; `python tests/golden.py` rewrites them after a deliberate change)."""
    from golden import GOLDEN, annex_texts

    res, _ = exemple
    texts = annex_texts(res)
    assert sorted(texts) == sorted(p.name for p in (GOLDEN / "exemple" / "annexes").iterdir())
    for name, text in texts.items():
        assert text == (GOLDEN / "exemple" / "annexes" / name).read_text(encoding="utf-8"), name


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), st.integers(0, 4))
def test_french_numbers_read_back(value, digits):
    """A number written in French reads back as the number rounded to its digits."""
    text = fr_number(value, digits)
    assert "." not in text and not re.fullmatch(r"-0(,0*)?", text)  # no "-0,0"
    assert float(text.replace("\u202f", "").replace(",", ".")) == pytest.approx(round(value, digits), abs=10 ** -digits)


cell = st.text(st.characters(blacklist_characters="|\n\r", blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=12)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(cell.map(str.strip), min_size=2, max_size=2), min_size=1, max_size=5), st.text(
    st.characters(whitelist_categories=("L", "N")), min_size=1, max_size=30))
def test_markup_tables_and_paragraphs_read_back(rows, word):
    """Table rows written in the annexes' markup parse back to the same cells, and a paragraph
    after a blank line stays one paragraph."""
    text = "\n".join("| " + " | ".join(r) + " |" for r in rows) + f"\n\n{word}\n"
    blocks = parse(text)
    assert [b.kind for b in blocks] == ["table", "paragraph"]
    assert blocks[0].rows == rows and blocks[1].text == word


MARKUP = list("|#*[]_$@<>/\\=+-`~\"'{}%&;\n") + ["//", "/*", "- ", "# ", "| a |", "\u2028", "{{", "{%"]
names = st.lists(st.one_of(st.sampled_from(MARKUP), st.text(st.characters(blacklist_categories=("Cs", "Cc", "Co", "Cn")),
                                                               max_size=6)), min_size=1, max_size=6).map("".join) \
    .filter(lambda n: n.strip() and "\x00" not in n)


HOSTILE = 'Ville | Sud\n# 1 [x] *y* _z_ $w$ "q" \\ // - + = @a <b> `c` ~ {{ d }} {% e %}'


@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")
@settings(max_examples=12, deadline=None)
@given(bailleur=names, reservataire=names)
@example(bailleur=HOSTILE, reservataire=HOSTILE)
def test_any_name_renders(tmp_path_factory, bailleur, reservataire):
    """Names full of markup characters (Typst, the annexes' markup, HTML, Jinja2), line breaks
    included: the annex keeps its structure (every table row as wide as its header, one line per
    name), the HTML escapes them, and Typst compiles the report and the annex PDFs."""
    folder = tmp_path_factory.mktemp("noms")
    write_instance(
        folder / "inst",
        patrimoine=[{"bailleur": "B1", "commune": "33063", "epci": EPCI, "qpv": "non", "logements": 100, "liberations": 10}],
        reservataires=[{"reservataire": "R1", "nom": reservataire, "type": "autre"}],
        stock=[{"bailleur": "B1", "reservataire": "R1", "commune": "33063", "qpv": "non", "logements_reserves": 20}],
        bailleurs=[{"bailleur": "B1", "nom": bailleur, "type": "oph"}],
    )
    try:
        res = fluxopt.solve(folder / "inst")
    except fluxopt.InstanceError:
        return  # a name the instance reader refuses (its own tests cover that)
    shown = res.instance.reservataires["nom"].iloc[0]
    builder = AnnexBuilder(load_dossier(res))
    blocks = parse(render_annex(builder, res.shares.to_dict("records")[0]))
    for table in (b for b in blocks if b.kind == "table"):
        assert len({len(row) for row in table.rows}) == 1
    one_line = " ".join(re.split(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+", shown)).replace("|", "/").strip()
    assert any(one_line in b.text for b in blocks if b.kind == "bullet")
    assert str(html_escape(shown)) in render_html(load_dossier(res)) or "\u2028" in shown or "\n" in shown
    fluxopt.write_report(res, folder / "r.pdf")
    fluxopt.write_annexes(res, folder / "a", pdf=True)
    assert (folder / "r.pdf").read_bytes().startswith(b"%PDF") and (folder / "a" / "B1" / "R1.pdf").is_file()


def test_unfinished_solve_is_flagged(exemple, tmp_path):
    """A result stopped by the time limit (with a solution) says so on page 1, in HTML and PDF;
    an optimal one does not."""
    import dataclasses

    res, _ = exemple
    dossier = load_dossier(res)
    stopped = dataclasses.replace(dossier, summary={**dossier.summary, "status": "time_limit"})
    warning = "le calcul s'est arrêté avant la fin (statut time_limit)"
    assert warning in unescape(render_html(stopped)) and warning not in unescape(render_html(dossier))
    pdf = fluxopt.write_report(stopped, tmp_path / "r.pdf")
    assert warning in " ".join(pypdf.PdfReader(pdf).pages[0].extract_text().split())
