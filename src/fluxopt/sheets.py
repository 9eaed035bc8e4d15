"""Data frames written as worksheets with xlsxwriter: headers, number and percent formats, widths.

A small tool for the workbooks that show tables as they are (the bilan's); the negotiators'
result workbook (:mod:`fluxopt.workbook`) lays out its own sheets.
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

#: Columns holding a percentage on a 0-100 scale in the CSV files.
PCT_COLUMNS = {"equivalence_pct", "flux_pct", "reserve_pct", "prefet_pct", "prefet_agents_pct"}
#: Columns holding a fraction (0-1) that reads best as a percentage.
FRACTION_COLUMNS = {"ecart_relatif", "taux", "ecart_relatif_max", "ecart_relatif_moyen"}
#: The date written in a document's properties (a fixed one: the bytes must not depend on the day).
DOCUMENT_DATE = dt.datetime(2020, 2, 20)


class FrameSheet:
    """A worksheet with its formats (keys ``bold``, ``title``, ``percent``, ``number``) and the
    width each column needs."""

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
        """Write a header and rows from ``first_row``, a column at a time; return the next free row.
        Columns of :data:`PCT_COLUMNS` (or ending in ``_pct``) are stored as fractions in a
        percent format, like those of :data:`FRACTION_COLUMNS`."""
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
        """Set each column's width to its widest cell (8 to 50 characters)."""
        for col, width in self.widths.items():
            self.ws.set_column(col, col, min(max(width + 2, 8), 50))


def write_table_workbook(frame: pd.DataFrame, path: str | Path, sheet: str) -> None:
    """One table as a workbook (bold header, frozen first row, percentages, fitted widths, fixed
    dates; missing values are empty cells): ``fluxopt batch``'s ``comparaison.xlsx``."""
    book = xlsxwriter.Workbook(str(path), {"nan_inf_to_errors": True, "in_memory": True})
    book.set_properties({"created": DOCUMENT_DATE})
    formats = {"bold": book.add_format({"bold": True}), "title": book.add_format({"bold": True, "font_size": 13}),
               "percent": book.add_format({"num_format": "0.00%"}), "number": book.add_format({"num_format": "0.00"})}
    table = FrameSheet(book, sheet, formats)
    table.frame(frame)
    table.ws.freeze_panes(1, 0)
    table.fit()
    book.close()
