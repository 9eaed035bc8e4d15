"""Shared helpers of the input tests: write an instance in every form."""

from __future__ import annotations

import csv
import json
import re
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXEMPLE = ROOT / "instances" / "exemple"
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_DECIMAL_POINT = re.compile(r"^(-?\d+)\.(\d+)$")


def _value(text: str) -> Any:
    """A CSV cell as a spreadsheet would hold it: numbers as numbers, empty as None."""
    if text == "":
        return None
    if _NUMBER.match(text):
        return float(text) if "." in text else int(text)
    return text


def document(folder: Path = EXEMPLE) -> dict[str, Any]:
    """The instance of a CSV folder in the JSON shape, cells typed like a spreadsheet's."""
    doc: dict[str, Any] = {"instance": tomllib.loads((folder / "instance.toml").read_text(encoding="utf-8"))}
    for path in sorted(folder.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as f:
            doc[path.stem] = [{k: _value(v) for k, v in row.items()} for row in csv.DictReader(f)]
    return doc


def write_json(folder: Path, path: Path) -> Path:
    path.write_text(json.dumps(document(folder), ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def write_xlsx(folder: Path, path: Path) -> Path:
    """A workbook as a negotiator would make it: `instance` sheet with a cle/valeur header, a sheet per table."""
    import openpyxl

    doc = document(folder)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "instance"
    sheet.append(["cle", "valeur"])
    for key, value in doc.pop("instance").items():
        if isinstance(value, dict):
            for sub, v in value.items():
                sheet.append([f"surcharges.{sub}", str(v).lower() if isinstance(v, bool) else v])
        else:
            sheet.append([key, value])
    for name, records in doc.items():
        sheet = book.create_sheet(name)
        columns = list(records[0])
        sheet.append(columns)
        for record in records:
            sheet.append([record[c] for c in columns])
    book.save(path)
    return path


def write_semicolon(folder: Path, target: Path) -> Path:
    """The CSV folder as a French spreadsheet exports it: ';', decimal comma, BOM, CRLF, padded cells."""
    target.mkdir(parents=True, exist_ok=True)
    (target / "instance.toml").write_bytes((folder / "instance.toml").read_bytes())
    for path in folder.glob("*.csv"):
        rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
        lines = [";".join(" " + _DECIMAL_POINT.sub(r"\1,\2", c) + " " for c in row) for row in rows]
        (target / path.name).write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    return target


def copy_folder(folder: Path, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for path in folder.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    return target
