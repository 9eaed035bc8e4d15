"""Readers: an instance on disk (or in memory) to raw tables of cells, with their locations.

Every reader yields the same :class:`RawInstance`; typing and checking the
cells is the job of :mod:`fluxopt.instance`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fluxopt.problems import InstanceError, Problem

TABLES = ("patrimoine", "reservataires", "stock", "cil", "bailleurs")
REQUIRED_TABLES = ("patrimoine", "reservataires", "stock")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+$")

Cell = str | int | float | bool | None


@dataclass
class RawTable:
    """A table as read: its source name (file or sheet), header and rows with their user-visible numbers."""

    source: str
    columns: list[str]
    rows: list[tuple[int, dict[str, Cell]]]


@dataclass
class RawInstance:
    """What a reader produces: the `instance` key/values and the tables."""

    source: str
    meta_source: str
    meta: dict[str, Any]
    tables: dict[str, RawTable]
    sha256: str
    base_dir: Path | None = None
    problems: list[Problem] = field(default_factory=list)


def _sha256_files(paths: list[Path], root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def parse_csv(text: str, source: str) -> RawTable:
    """Parse CSV text separated by ',' or ';' (then a decimal comma is accepted)."""
    lines = text.splitlines()
    header = lines[0] if lines else ""
    sep = ";" if header.count(";") > header.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    records = list(reader)
    if not records:
        return RawTable(source, [], [])
    columns = [c.strip() for c in records[0]]
    rows = []
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue
        cells: dict[str, Cell] = {}
        for col, cell in zip(columns, record):
            value = cell.strip()
            if sep == ";" and _DECIMAL_COMMA.match(value):
                value = value.replace(",", ".")
            cells[col] = value if value != "" else None
        if len(record) > len(columns):
            cells["\0extra"] = len(record) - len(columns)
        rows.append((number, cells))
    return RawTable(source, columns, rows)


def read_csv_folder(folder: Path) -> RawInstance:
    """Read an instance folder: instance.toml and the CSV files of SPEC §2."""
    problems: list[Problem] = []
    meta: dict[str, Any] = {}
    meta_path = folder / "instance.toml"
    if meta_path.is_file():
        try:
            meta = tomllib.loads(meta_path.read_text(encoding="utf-8-sig"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            problems.append(Problem("instance.toml", None, None, f"not a valid TOML file: {exc}"))
    else:
        problems.append(Problem("instance.toml", None, None, "file is missing"))
    tables: dict[str, RawTable] = {}
    files = [meta_path] if meta_path.is_file() else []
    for name in TABLES:
        path = folder / f"{name}.csv"
        if not path.is_file():
            if name in REQUIRED_TABLES:
                problems.append(Problem(f"{name}.csv", None, None, "file is missing"))
            continue
        files.append(path)
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError:
            problems.append(
                Problem(
                    path.name,
                    None,
                    None,
                    "the file is not in UTF-8; re-save it as 'CSV UTF-8 (comma or semicolon delimited)'",
                )
            )
            continue
        tables[name] = parse_csv(text, path.name)
    sha = _sha256_files(files, folder)
    return RawInstance(str(folder), "instance.toml", meta, tables, sha, folder, problems)


def read_raw(source: Any) -> RawInstance:
    """Dispatch on the form of ``source``: a folder of CSV files (other forms: see the inputs issue)."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.is_dir():
            return read_csv_folder(path)
        if not path.exists():
            raise InstanceError([Problem(str(path), None, None, "no such file or folder")])
    raise InstanceError(
        [Problem(str(source)[:80], None, None, "not an instance: give a folder of CSV files")]
    )
