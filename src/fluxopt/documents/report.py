"""The report of one territory: HTML from a Jinja2 template, PDF from the same HTML by WeasyPrint
(page numbers from the stylesheet's ``@page`` rules). See benchmarks/RESULTS.md for the engine."""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path
from typing import Any

import jinja2

from fluxopt.documents.charts import Chart, paired_bars
from fluxopt.documents.content import OBJECTIVE_LABELS, fr_number, fr_pct, report_context
from fluxopt.documents.dossier import Dossier, load_dossier
from fluxopt.problems import UsageError
from fluxopt.result import Result

TEMPLATES = Path(__file__).with_name("templates")
FORMATS = (".html", ".pdf")


@functools.cache
def environment() -> jinja2.Environment:
    """The templates, with the French number filters."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=jinja2.select_autoescape(["html.j2"]),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.filters["num"] = fr_number
    env.filters["pct"] = fr_pct
    env.filters["pct_frac"] = lambda v, digits=0: fr_pct(100 * float(v), digits)
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


def html_to_pdf(html: str) -> bytes:
    """A PDF of an HTML page of ours, by WeasyPrint (no network: everything is inside the page)."""
    import weasyprint

    fetcher = weasyprint.urls.URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
    return weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf(metadata={}, pdf_identifier=b"fluxopt",
                                                                          uncompressed_pdf=False)


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
        raise UsageError(f"the report is written as .html or .pdf, not '{out.suffix or out.name}'")
    dossier = source if isinstance(source, Dossier) else load_dossier(source, instance=instance)
    html = render_html(dossier)
    write_bytes(out, html_to_pdf(html) if out.suffix.lower() == ".pdf" else html.encode("utf-8"))
    return out
