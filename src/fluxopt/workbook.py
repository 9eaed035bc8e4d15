"""The result as an .xlsx workbook a negotiator can open as is (written with xlsxwriter).

Sheet ``synthese`` first (per bailleur, then per réservataire), then one sheet per
result table with the same columns and numbers as the CSV files, except that
percentages are stored as fractions (25.8 in ``flux_pct`` becomes 0.258) and shown
with Excel's percentage format. The document's dates are fixed, so that the same result
gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from fluxopt.result import Result
from fluxopt.tables import bailleur_synthesis, reservataire_synthesis

#: Columns holding a percentage on a 0-100 scale in the CSV files.
PCT_COLUMNS = {"equivalence_pct", "flux_pct", "reserve_pct", "prefet_pct", "prefet_agents_pct"}
#: Columns holding a fraction (0-1) that reads best as a percentage.
FRACTION_COLUMNS = {"ecart_relatif", "taux", "ecart_relatif_max", "ecart_relatif_moyen"}
PERCENT_FORMAT = "0.00%"
NUMBER_FORMAT = "0.00"
#: The date written in the document's properties (a fixed one: the bytes must not depend on the day).
DOCUMENT_DATE = dt.datetime(2020, 2, 20)


class _Sheet:
    """A worksheet with its formats and the width each column needs."""

    def __init__(self, book: xlsxwriter.Workbook, name: str, formats: dict[str, Format]):
        self.ws: Worksheet = book.add_worksheet(name)
        self.formats = formats
        self.widths: dict[int, int] = {}

    def write(self, row: int, col: int, value: Any, fmt: str | None = None) -> None:
        """Write a cell (rows and columns from 0); None and NaN stay empty."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return
        if hasattr(value, "item"):
            value = value.item()
        self.ws.write(row, col, value, self.formats[fmt] if fmt else None)
        text = f"{value:.2f}" if isinstance(value, float) else str(value)
        self.widths[col] = max(self.widths.get(col, 0), len(text))

    def frame(self, frame: pd.DataFrame, first_row: int = 0) -> int:
        """Write a header and rows from ``first_row``, a column at a time; return the next free row."""
        ws = self.ws
        for j, col in enumerate(frame.columns):
            self.write(first_row, j, col, "bold")
            series = frame[col]
            rows = range(first_row + 1, first_row + 1 + len(series))
            if pd.api.types.is_bool_dtype(series):
                for i, flag in zip(rows, series.tolist()):
                    ws.write_boolean(i, j, flag)
                width = 5
            elif pd.api.types.is_numeric_dtype(series):
                values = series.to_numpy(dtype=float)
                pct = col in PCT_COLUMNS or col.endswith("_pct")
                integral = pd.api.types.is_integer_dtype(series)
                fmt = self.formats["percent"] if pct or col in FRACTION_COLUMNS else \
                    None if integral else self.formats["number"]
                shown = values / 100 if pct else values
                for i, value in zip(rows, shown.tolist()):
                    if value == value:  # NaN stays empty
                        ws.write_number(i, j, value, fmt)
                finite = np.abs(values[np.isfinite(values)])
                width = len(f"{finite.max():.2f}") + 1 if len(finite) else 0
            else:
                texts = ["" if v is None or v != v else str(v) for v in series.tolist()]
                for i, text in zip(rows, texts):
                    if text:
                        ws.write_string(i, j, text)
                width = max(map(len, texts), default=0)
            self.widths[j] = max(self.widths.get(j, 0), width)
        return first_row + len(frame) + 1

    def fit(self) -> None:
        for col, width in self.widths.items():
            self.ws.set_column(col, col, min(max(width + 2, 8), 50))


def _book(path: Path) -> tuple[xlsxwriter.Workbook, dict[str, Format]]:
    book = xlsxwriter.Workbook(str(path), {"nan_inf_to_errors": True, "in_memory": True})
    book.set_properties({"created": DOCUMENT_DATE})
    formats = {
        "bold": book.add_format({"bold": True}), "title": book.add_format({"bold": True, "font_size": 13}),
        "percent": book.add_format({"num_format": PERCENT_FORMAT}),
        "number": book.add_format({"num_format": NUMBER_FORMAT}),
        "objective": book.add_format({"num_format": "0.000000"}),
    }
    return book, formats


def write_table_workbook(frame: pd.DataFrame, path: Path, sheet: str) -> None:
    """One table as a workbook formatted like ``resultats.xlsx`` (bold header, frozen first row,
    percentages, fitted widths, fixed dates; missing values are empty cells)."""
    book, formats = _book(path)
    table = _Sheet(book, sheet, formats)
    table.frame(frame)
    table.ws.freeze_panes(1, 0)
    table.fit()
    book.close()


def write_workbook(result: Result, path: Path) -> None:
    """Write ``resultats.xlsx``: a synthesis sheet, then parts, segments, cil, bailleurs."""
    book, formats = _book(path)
    ws = _Sheet(book, "synthese", formats)
    summary = result.summary
    ws.write(0, 0, f"fluxopt: {summary.instance.nom}", "title")
    ws.write(1, 0, "status")
    ws.write(1, 1, result.status.value)
    ws.write(2, 0, "politique")
    ws.write(2, 1, summary.politique.nom)
    row = 3
    for name, value in result.objectives.items():
        ws.write(row, 0, f"objectif {name}")
        ws.write(row, 1, value, "objective")
        row += 1
    ws.write(row + 1, 0, "Par bailleur (part du flux annuel)", "bold")
    row = ws.frame(bailleur_synthesis(result.shares, result.bailleurs), row + 2)
    ws.write(row + 1, 0, "Par réservataire (tous bailleurs)", "bold")
    ws.frame(reservataire_synthesis(result.shares), row + 2)
    ws.fit()
    for name, frame in result.tables.items():
        sheet = _Sheet(book, name, formats)
        sheet.frame(frame)
        sheet.ws.freeze_panes(1, 0)
        sheet.fit()
    book.close()
