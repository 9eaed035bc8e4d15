"""xlsxwriter against openpyxl for resultats.xlsx (issue 12), on one result, in one run.

    python benchmarks/workbook_writers.py [INSTANCE] [--repeat 5] [--scale N]

Both libraries write the same cells: the four result tables (parts, segments, cil, bailleurs),
one sheet each, a header row, every value with a number format (as the workbook does), in
memory to a file. ``--scale N`` repeats the segments table N times (a larger département).
Also timed: ``fluxopt.write_workbook`` as shipped (xlsxwriter, charts, every sheet). Reports
the median of ``--repeat`` alternating runs and the ratio openpyxl / xlsxwriter.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import openpyxl
import pandas as pd
import xlsxwriter

import fluxopt
from fluxopt.workbook import write_workbook

ROOT = Path(__file__).resolve().parents[1]


def with_xlsxwriter(tables: dict[str, pd.DataFrame], path: Path) -> None:
    book = xlsxwriter.Workbook(str(path), {"in_memory": True, "nan_inf_to_errors": True})
    number = book.add_format({"num_format": "#,##0.00"})
    bold = book.add_format({"bold": True})
    for name, frame in tables.items():
        ws = book.add_worksheet(name)
        for j, col in enumerate(frame.columns):
            ws.write_string(0, j, col, bold)
        for i, row in enumerate(frame.itertuples(index=False), start=1):
            for j, value in enumerate(row):
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    ws.write_number(i, j, float(value), number)
                else:
                    ws.write_string(i, j, str(value))
    book.close()


def with_openpyxl(tables: dict[str, pd.DataFrame], path: Path) -> None:
    book = openpyxl.Workbook(write_only=False)
    book.remove(book.active)
    for name, frame in tables.items():
        ws = book.create_sheet(name)
        ws.append(list(frame.columns))
        for cell in ws[1]:
            cell.font = openpyxl.styles.Font(bold=True)
        for i, row in enumerate(frame.itertuples(index=False), start=2):
            for j, value in enumerate(row, start=1):
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    c = ws.cell(i, j, float(value))
                    c.number_format = "#,##0.00"
                else:
                    ws.cell(i, j, str(value))
    book.save(path)


def timed(func, *args) -> float:
    start = time.perf_counter()
    func(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("instance", nargs="?", default=str(ROOT / "instances" / "gironde-33"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--scale", type=int, default=1)
    args = parser.parse_args()
    result = fluxopt.solve(args.instance)
    tables = dict(result.tables)
    tables["segments"] = pd.concat([tables["segments"]] * args.scale, ignore_index=True)
    cells = sum(f.size for f in tables.values())
    times: dict[str, list[float]] = {"xlsxwriter": [], "openpyxl": [], "write_workbook": []}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.repeat):
            times["xlsxwriter"].append(timed(with_xlsxwriter, tables, Path(tmp) / f"x{k}.xlsx"))
            times["openpyxl"].append(timed(with_openpyxl, tables, Path(tmp) / f"o{k}.xlsx"))
            times["write_workbook"].append(timed(write_workbook, result, Path(tmp) / f"w{k}.xlsx"))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{Path(args.instance).name} x{args.scale}: {cells} cells, median of {args.repeat}")
    for k, v in med.items():
        print(f"  {k:<15} {v * 1000:8.1f} ms")
    print(f"  openpyxl / xlsxwriter = {med['openpyxl'] / med['xlsxwriter']:.2f}")


if __name__ == "__main__":
    main()
