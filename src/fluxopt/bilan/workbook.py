"""``bilan.xlsx``: the bilan in French for people, with native charts (xlsxwriter): objective
against realised per réservataire, priority and Q1 shares against their targets."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import xlsxwriter

from fluxopt.bilan.compute import Bilan
from fluxopt.sheets import DOCUMENT_DATE, FrameSheet


def _chart_frames(bilan: Bilan) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Per réservataire (all bailleurs): objective and proposed; per holder: priority share and
    target; per CIL EPCI and target: share and rate."""
    per_r = bilan.parts.groupby("reservataire", sort=True)[["objectif", "proposes"]].sum().reset_index()
    prio = bilan.prioritaires
    if len(prio):
        prio = prio.groupby("titulaire", sort=True).agg(attribues=("attribues", "sum"), prioritaires=("prioritaires", "sum"),
                                                         cible=("cible", "first")).reset_index()
        prio["part"] = prio["prioritaires"] / prio["attribues"].where(prio["attribues"] > 0)
        prio = prio[["titulaire", "part", "cible"]]
    cil = bilan.cil
    if len(cil):
        cil = cil.copy()
        cil["cible"] = [f"{e} {'Q1 hors QPV' if o == 'q1_hors_qpv' else 'autres en QPV'}"
                        for e, o in zip(cil["epci"], cil["objectif"])]
        cil = cil[["cible", "part", "taux"]]
    return per_r, prio, cil


def _chart(book: xlsxwriter.Workbook, sheet: str, kind: str, title: str, first: int, n: int,
           series: list[tuple[int, str, str | None]], percent: bool) -> Any:
    """A column chart of the rows first+1..first+n of ``sheet`` (categories in column A); a
    series with kind 'line' is drawn as a line over the columns (a target)."""
    chart = book.add_chart({"type": "column"})
    line = None
    for col, name, style in series:
        spec = {"name": name, "categories": [sheet, first + 1, 0, first + n, 0],
                "values": [sheet, first + 1, col, first + n, col]}
        if style == "line":
            line = line or book.add_chart({"type": "line"})
            line.add_series({**spec, "marker": {"type": "diamond"}, "line": {"dash_type": "dash"}})
        else:
            chart.add_series(spec)
    if line is not None:
        chart.combine(line)
    chart.set_title({"name": title})
    chart.set_y_axis({"num_format": "0%" if percent else "0", "min": 0})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": max(640, 40 * n + 200), "height": 360})
    return chart


def write_bilan_workbook(bilan: Bilan, path: Path, date: dt.date) -> None:
    """Write ``bilan.xlsx``: synthèse, graphiques, then one sheet per table."""
    book = xlsxwriter.Workbook(str(path), {"nan_inf_to_errors": True, "in_memory": True})
    book.set_properties({"created": DOCUMENT_DATE, "title": f"Bilan annuel des attributions — année {bilan.annee}"})
    formats = {"bold": book.add_format({"bold": True}), "title": book.add_format({"bold": True, "font_size": 13}),
               "percent": book.add_format({"num_format": "0.0%"}), "number": book.add_format({"num_format": "0.00"})}
    conv = bilan.conventions
    ws = FrameSheet(book, "Synthèse", formats)
    ws.write(0, 0, f"Bilan annuel des attributions — année {bilan.annee}", "title")
    lines = [("Territoire", f"{conv.nom} ({conv.territoire})"), ("Date du bilan", date.isoformat()),
             ("Part de l'écart reportée", float(conv.policy.values["report.part"])),
             ("Plafond du report (part de l'objectif)", float(conv.policy.values["report.plafond"]))]
    labels = {"base_realisee": "Flux réalisé (hors mutations et relogements)",
              "proposes_reservataires": "Proposés aux réservataires (dans leurs conventions)",
              "proposes_bailleur": "Attribués par le bailleur sur son contingent propre",
              "proposes_hors_convention": "Proposés hors convention", "mutations": "Mutations internes",
              "relogements": "Relogements (NPNRU, ORCOD, …)", "attribues": "Attributions",
              "report_du": "Report dû aux réservataires en N+1", "report_repris": "Reprise sur les réservataires en N+1",
              "paires_en_deficit": "Conventions en déficit", "paires_en_exces": "Conventions en excès",
              "reports_plafonnes": "Reports plafonnés"}
    lines += [(label, bilan.totaux[key]) for key, label in labels.items()]
    for i, (label, value) in enumerate(lines, start=2):
        ws.write(i, 0, label)
        ws.write(i, 1, value, "percent" if "report." in label or label.startswith(("Part", "Plafond")) else None)
    row = len(lines) + 3
    ws.write(row, 0, "Par bailleur", "bold")
    ws.frame(bilan.par_bailleur, row + 1)
    ws.fit()

    per_r, prio, cil = _chart_frames(bilan)
    charts = FrameSheet(book, "Graphiques", formats)
    row, place = 0, 0
    plots: tuple[tuple[pd.DataFrame, str, list[tuple[int, str, str | None]], bool], ...] = (
        (per_r, "Objectif et réalisé par réservataire (logements)",
         [(1, "Objectif", None), (2, "Proposés", None)], False),
        (prio, "Part de ménages prioritaires et objectif", [(1, "Part réalisée", None), (2, "Objectif", "line")], True),
        (cil, "Objectifs CIL : part réalisée et taux cible", [(1, "Part réalisée", None), (2, "Taux cible", "line")], True),
    )
    for frame, title, series, percent in plots:
        if not len(frame):
            continue
        charts.frame(frame.rename(columns={"part": "part réalisée"}), row)
        chart = _chart(book, "Graphiques", "column", title, row, len(frame), series, percent)
        charts.ws.insert_chart(place, 5, chart)
        place += 20
        row += len(frame) + 3
    charts.fit()

    for name, frame in (("Par convention", bilan.parts), ("Report N+1", bilan.report),
                        ("Prioritaires", bilan.prioritaires), ("CIL", bilan.cil), ("R441-5-1", bilan.r441)):
        sheet = FrameSheet(book, name, formats)
        sheet.frame(frame)
        sheet.ws.freeze_panes(1, 0)
        sheet.fit()
    book.close()
