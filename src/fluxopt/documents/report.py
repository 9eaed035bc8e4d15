"""The report of one territory: HTML from a Jinja2 template (``rapport.html.j2``), PDF by Typst
from its twin template (``rapport.typ.j2``), both from the same context and charts. Why Typst
rather than WeasyPrint: benchmarks/RESULTS.md."""

from __future__ import annotations

import functools
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import jinja2
import matplotlib

from fluxopt.documents.charts import Chart, paired_bars
from fluxopt.documents.content import OBJECTIVE_LABELS, fr_number, fr_pct, report_context
from fluxopt.documents.dossier import Dossier, load_dossier
from fluxopt.i18n import _
from fluxopt.problems import UsageError
from fluxopt.result import Result

TEMPLATES = Path(__file__).with_name("templates")
FORMATS = (".html", ".pdf")
#: matplotlib's DejaVu fonts: the charts' and the PDFs' only fonts.
FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")
#: Characters Typst reads as markup somewhere in a line.
TYPST_SPECIAL = re.compile(r"([\\#\[\]*_`$<>@~\"/=+\-])")


@functools.cache
def environment() -> jinja2.Environment:
    """The templates, with the French number filters."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=jinja2.select_autoescape(["html.j2"]),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.filters["num"] = fr_number
    env.filters["pct"] = fr_pct
    env.filters["pct_frac"] = lambda v, digits=0: fr_pct(100 * float(v), digits)
    env.filters["t"] = typst_text
    env.filters["ts"] = typst_string
    return env


def charts(context: dict[str, Any]) -> dict[str, Chart]:
    """One chart per bailleur (shares before and after), one for the CIL targets."""
    out = {}
    for b in context["bailleurs"]:
        names = [p["nom"] for p in b["parts"]]
        out[b["id"]] = paired_bars(
            f"{b['nom']} : part de chaque réservataire, droits anciens et proposition",
            names, {"droits anciens (équivalence)": [float(p["equivalence_pct"]) for p in b["parts"]],
                    "proposition": [float(p["flux_pct"]) for p in b["parts"]]}, "% du flux annuel du bailleur")
    if context["cil"]:
        out["cil"] = paired_bars(
            "Objectifs des CIL : attributions requises et atteintes",
            [f"{c['nom']}, {OBJECTIVE_LABELS.get(c['objectif'], c['objectif'])}" for c in context["cil"]],
            {"requises": [float(c["requis"]) for c in context["cil"]],
             "atteintes": [float(c["atteint"]) for c in context["cil"]]}, "attributions par an")
    return out


def render_html(dossier: Dossier) -> str:
    """The report as one standalone HTML page (styles and charts inside)."""
    context = report_context(dossier)
    env = environment()
    css = (TEMPLATES / "rapport.css").read_text(encoding="utf-8")
    return env.get_template("rapport.html.j2").render(**context, charts=charts(context), css=css)


def one_line(value: object) -> str:
    """Text on one line: line and paragraph breaks become spaces."""
    return LINE_BREAKS.sub(" ", str(value))


def typst_text(value: object) -> str:
    """Text as Typst markup, on one line: every character Typst reads as markup is escaped."""
    return TYPST_SPECIAL.sub(r"\\\1", one_line(value))


def typst_string(value: object) -> str:
    """Text inside a Typst string literal ("..."), on one line."""
    return one_line(value).replace("\\", "\\\\").replace('"', '\\"')


@functools.cache
def markup_environment() -> jinja2.Environment:
    """The environment of the annexes' line markup: every value printed on one line and with no
    '|', so that a name can neither end a paragraph nor add a table cell."""
    return environment().overlay(finalize=lambda value: one_line(value).replace("|", "/"))


def typst_pdf(template: str, context: dict[str, Any], files: dict[str, str]) -> bytes:
    """Compile a Typst template of ours to PDF in a temporary folder holding ``files`` (name ->
    text, e.g. the charts' SVG). Only matplotlib's DejaVu fonts are used, never the system's, so
    that the same input gives the same bytes on every machine."""
    import typst

    source = environment().get_template(template).render(**context)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, text in files.items():
            (root / name).write_text(text, encoding="utf-8")
        (root / "main.typ").write_text(source, encoding="utf-8")
        return bytes(typst.compile(str(root / "main.typ"), root=str(root), font_paths=[str(FONTS)],
                                   ignore_system_fonts=True))


def render_pdf(dossier: Dossier) -> bytes:
    """The report as PDF, by Typst, from the same context and charts as the HTML."""
    context = report_context(dossier)
    drawn = charts(context)
    names = {key: f"graphique-{i}.svg" for i, key in enumerate(drawn, start=1)}
    return typst_pdf("rapport.typ.j2", {**context, "charts": drawn, "chart_files": names},
                     {names[key]: chart.svg for key, chart in drawn.items()})


def write_bytes(path: Path, data: bytes) -> None:
    """Write a file atomically (a temporary file next to it, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_report(source: Result | Dossier | str | Path, out: str | Path, *, instance: str | Path | None = None) -> Path:
    """Write the report of a result (a ``Result``, or a folder written by ``fluxopt solve``) to
    ``out``, an ``.html`` or ``.pdf`` file; ``instance``: the instance's path when a folder's
    instance is not found by its recorded name."""
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise UsageError(_("the report is written as .html or .pdf, not '{format}'").format(format=out.suffix or out.name))
    dossier = source if isinstance(source, Dossier) else load_dossier(source, instance=instance)
    if out.suffix.lower() == ".pdf":
        write_bytes(out, render_pdf(dossier))
    else:
        write_bytes(out, render_html(dossier).encode("utf-8"))
    return out
