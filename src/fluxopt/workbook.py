"""The result as an .xlsx workbook a negotiator can open as is (openpyxl).

Sheet ``synthese`` first (per bailleur, then per réservataire), then one sheet per
result table with the same columns and numbers as the CSV files, except that
percentages are stored as fractions (25.8 in ``flux_pct`` becomes 0.258) and shown
with Excel's percentage format.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from fluxopt.policy import TYPES

if TYPE_CHECKING:
    from fluxopt.solve import Result

#: Columns holding a percentage on a 0-100 scale in the CSV files.
PCT_COLUMNS = {"equivalence_pct", "flux_pct", "reserve_pct", "prefet_pct", "prefet_agents_pct"}
#: Columns holding a fraction (0-1) that reads best as a percentage.
FRACTION_COLUMNS = {"ecart_relatif", "taux"}
PERCENT_FORMAT = "0.00%"
NUMBER_FORMAT = "0.00"
BOLD = Font(bold=True)


def bailleur_synthesis(result: "Result") -> pd.DataFrame:
    """Per bailleur: flux base, share of each réservataire type (%), own share (%), whole dwellings.

    The percentages are of the bailleur's flux base; ``propre_arrondi`` is the own share in
    whole dwellings, i.e. the rounded flux base minus the réservataires' rounded dwellings.
    """
    parts, bailleurs = result.shares, result.bailleurs
    types = [t for t in TYPES if t in set(parts["type"])]
    rows = []
    for _, b in bailleurs.iterrows():
        held = parts[parts["bailleur"] == b["bailleur"]]
        flux = float(b["flux_base"])
        row = {"bailleur": b["bailleur"], "nom": b["nom"], "flux_base": flux}
        for t in types:
            row[f"{t}_pct"] = 100 * float(held.loc[held["type"] == t, "logements"].sum()) / flux if flux else 0.0
        row["propre_pct"] = 100 * float(b["part_propre"]) / flux if flux else 0.0
        row["flux_base_arrondi"] = int(round(flux))
        row["propre_arrondi"] = int(round(flux)) - int(held["logements_arrondis"].sum())
        rows.append(row)
    return pd.DataFrame(rows)


def reservataire_synthesis(result: "Result") -> pd.DataFrame:
    """Per réservataire, over all bailleurs: target, proposal, deviation and whole dwellings."""
    parts = result.shares
    grouped = parts.groupby(["reservataire", "type"], sort=True).agg(
        bailleurs=("bailleur", "nunique"), cible=("cible", "sum"), logements=("logements", "sum"),
        logements_arrondis=("logements_arrondis", "sum"),
    ).reset_index()
    grouped["ecart"] = grouped["logements"] - grouped["cible"]
    grouped["ecart_relatif"] = grouped["ecart"] / grouped["cible"]
    return grouped.round(6)


def _write_frame(ws: Worksheet, frame: pd.DataFrame, first_row: int = 1) -> int:
    """Write a header and rows from ``first_row``; return the next free row."""
    for j, col in enumerate(frame.columns, start=1):
        ws.cell(first_row, j, col).font = BOLD
    for i, values in enumerate(frame.itertuples(index=False), start=first_row + 1):
        for j, (col, value) in enumerate(zip(frame.columns, values), start=1):
            if pd.isna(value):
                continue
            if hasattr(value, "item"):
                value = value.item()
            if col in PCT_COLUMNS or col.endswith("_pct"):
                cell = ws.cell(i, j, value / 100)
                cell.number_format = PERCENT_FORMAT
            else:
                cell = ws.cell(i, j, value)
                if col in FRACTION_COLUMNS:
                    cell.number_format = PERCENT_FORMAT
                elif isinstance(value, float):
                    cell.number_format = NUMBER_FORMAT
    return first_row + len(frame) + 1


def _fit_widths(ws: Worksheet) -> None:
    widths: dict[int, int] = {}
    for row in ws.iter_rows():
        for cell in row:
            if cell.value is None:
                continue
            text = f"{cell.value:.2f}" if isinstance(cell.value, float) else str(cell.value)
            widths[cell.column] = max(widths.get(cell.column, 0), len(text))
    for col, width in widths.items():
        ws.column_dimensions[get_column_letter(col)].width = min(max(width + 2, 8), 50)


def write_workbook(result: "Result", path: Path) -> None:
    """Write ``resultats.xlsx``: a synthesis sheet, then parts, segments, cil, bailleurs."""
    wb = Workbook()
    ws = wb.active
    ws.title = "synthese"
    summary = result.summary
    ws.cell(1, 1, f"fluxopt: {summary['instance']['nom']}").font = Font(bold=True, size=13)
    ws.cell(2, 1, "status")
    ws.cell(2, 2, result.status)
    ws.cell(3, 1, "politique")
    ws.cell(3, 2, summary["politique"]["nom"])
    row = 4
    for name, value in result.objectives.items():
        ws.cell(row, 1, f"objectif {name}")
        ws.cell(row, 2, value).number_format = "0.000000"
        row += 1
    ws.cell(row + 1, 1, "Par bailleur (part du flux annuel)").font = BOLD
    row = _write_frame(ws, bailleur_synthesis(result), row + 2)
    ws.cell(row + 1, 1, "Par réservataire (tous bailleurs)").font = BOLD
    _write_frame(ws, reservataire_synthesis(result), row + 2)
    _fit_widths(ws)
    for name, frame in result.tables.items():
        sheet = wb.create_sheet(name)
        _write_frame(sheet, frame)
        sheet.freeze_panes = "A2"
        _fit_widths(sheet)
    wb.save(path)
