"""Readers: an instance on disk (or in memory) to raw tables of cells, with their locations.

Every reader yields the same :class:`RawInstance`; typing and checking the
cells is the job of :mod:`fluxopt.instance`. The forms (see ``docs/inputs.md``):

- a folder with ``instance.toml`` and the CSV files of SPEC §2. Problems name
  the file (``patrimoine.csv``) and the line number of the file (header = 1);
- an ``.xlsx`` workbook with one sheet per table (``instance``, ``patrimoine``,
  ...). Problems name the sheet as ``patrimoine (sheet)`` and the row number
  Excel shows;
- a JSON document or a Python mapping ``{"instance": {...}, "patrimoine":
  [{...}, ...], ...}``. Problems name the table as ``patrimoine (JSON)`` and the
  record number counted from 1 (the first record of the array is record 1).

Table, sheet and column names are matched ignoring case, accents and
surrounding spaces (``Réservataires`` is ``reservataires``).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import functools
import hashlib
import io
import json
import re
import tomllib
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from fluxopt.i18n import _
from fluxopt.problems import InstanceError, Problem, Severity, closest

TABLES = ("patrimoine", "reservataires", "stock", "cil", "bailleurs", "report", "accords")
#: CSV files that may sit next to an instance's tables without being part of it (the year's
#: ``realise*.csv`` read by ``fluxopt bilan``): skipped without a warning.
COMPANIONS = ("realise",)
REQUIRED_TABLES = ("patrimoine", "reservataires", "stock")
META = "instance"
#: Sheets of the input template (fluxopt modele) that explain the columns: read silently past.
HELP_SHEETS = ("lisez_moi", "read_me")
#: Prefix of the keys of the `instance` sheet that override the policy (``surcharges.cil.strict``).
OVERRIDE_PREFIX = "surcharges."
_DECIMAL_COMMA = re.compile(r"^[+-]?(\d[\d \u00a0\u202f]*)?,\d+ ?%?$")
_KEY_HEADERS = {"cle", "key"}

Cell = str | int | float | bool | None


@dataclass
class RawTable:
    """A table as read: its source name (file or sheet), header and rows with their user-visible numbers.

    ``header_row`` is the row number of the header (None for JSON records, which have none);
    ``decimal_comma``: numbers may be written with a decimal comma (a ';'-separated CSV file).
    """

    source: str
    columns: list[str]
    rows: list[tuple[int, dict[str, Cell]]]
    header_row: int | None = 1
    decimal_comma: bool = False


def decimal_point(text: str) -> str:
    """'1 234,5' (a number written with a decimal comma) as '1234.5'; any other text unchanged."""
    if _DECIMAL_COMMA.match(text):
        return re.sub(r"[ \u00a0\u202f]", "", text).replace(",", ".")
    return text


@dataclass
class RawInstance:
    """What a reader produces: the `instance` key/values and the tables.

    ``meta_rows`` gives the row of each `instance` key when the form has rows;
    ``meta_found`` is False when the `instance` part itself is missing (already reported).
    """

    source: str
    meta_source: str
    meta: dict[str, Any]
    tables: dict[str, RawTable]
    sha256: str
    base_dir: Path | None = None
    problems: list[Problem] = field(default_factory=list)
    meta_rows: dict[str, int] = field(default_factory=dict)
    meta_found: bool = True


@functools.lru_cache(maxsize=1024)
def normalize_name(text: Any) -> str:
    """A table, sheet or column name as matched: lower case, no accents, '_' for inner spaces."""
    plain = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return re.sub(r"[\s\-]+", "_", plain.strip().lower())


def _cell(value: Any) -> Cell:
    """A cell of any reader as str (stripped), int, float, bool or None (empty)."""
    if value.__class__ is str:  # the common case first
        return value.strip() or None
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip() or None
    if pd.api.types.is_scalar(value) and pd.isna(value):  # NaN, NaT, pd.NA of DataFrames
        return None
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip() or None


def _table(source: str, records: Iterable[tuple[int, list[Any]]], extra: Severity, *, read: bool = True
           ) -> tuple[RawTable | None, list[Problem]]:
    """A table from numbered rows of cells: the first non-empty row is the header.

    Returns None when there is no header at all. ``extra`` is the severity of
    values found outside the named columns. ``read=False``: the rows already hold cells (:func:`_cell`'s values).
    """
    problems: list[Problem] = []
    header: list[str] | None = None
    header_row = 1
    rows: list[tuple[int, dict[str, Cell]]] = []
    for number, values in records:
        cells = [_cell(v) for v in values] if read else values
        if cells.count(None) == len(cells):
            continue
        if header is None:
            header_row = number
            header = [normalize_name(c) if c is not None else "" for c in cells]
            seen: set[str] = set()
            for name in header:
                if name and name in seen:
                    problems.append(Problem.coded(source, number, name, "colonne_doublon",
                                                  _("column '{colonne}' appears twice; keep only one"),
                                                  {"colonne": name}))
                seen.add(name)
            plain = "" not in seen and len(seen) == len(header)  # every column named, once
            continue
        if plain and len(cells) <= len(header):
            rows.append((number, dict(zip(header, cells))))
            continue
        record: dict[str, Cell] = {}
        stray = False
        for i, value in enumerate(cells):
            name = header[i] if i < len(header) else ""
            if name:
                record.setdefault(name, value)
            elif value is not None:
                stray = True
        if stray:
            if extra == "error":
                problems.append(Problem.coded(source, number, None, "cellules_en_trop",
                                              _("the row has more cells than the header has columns (in a "
                                                "comma-separated file, write decimals with a point, or quote them)")))
            else:
                problems.append(Problem.coded(source, number, None, "colonne_sans_nom",
                                              _("values in a column without a name in the header row are ignored"),
                                              severity=extra))
        rows.append((number, record))
    if header is None:
        return None, problems
    return RawTable(source, [c for c in header if c], rows, header_row), problems


def _decode_csv(data: bytes, name: str) -> tuple[str | None, Problem | None]:
    """The text of a CSV file, or the problem saying how to re-save it."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, Problem.coded(name, None, None, "encodage_utf16",
                                   _("the file is saved as 'Unicode text' (UTF-16); re-save it as "
                                     "'CSV UTF-8 (comma delimited)'"))
    if data.startswith(b"PK\x03\x04") or b"\0" in data[:4096]:
        return None, Problem.coded(name, None, None, "fichier_binaire",
                                   _("this is not a CSV text file (it looks like a workbook or another binary file); "
                                     "save the sheet as 'CSV UTF-8' or give the .xlsx workbook itself"))
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, Problem.coded(
            name, line, None, "encodage_invalide",
            _("the file is not in UTF-8 (probably saved as plain 'CSV' by Excel, in the Windows encoding); "
              "re-save it as 'CSV UTF-8 (comma delimited)' in Excel, or choose the UTF-8 character set "
              "in LibreOffice's 'Save as' options"),
        )


def parse_csv(text: str, source: str) -> tuple[RawTable | None, list[Problem]]:
    """Parse CSV text separated by ',' or ';' (then a decimal comma is accepted)."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    sep = ";" if first.count(";") > first.count(",") else ","
    numbered = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    try:
        for number, record in enumerate(reader, start=1):
            numbered.append((number, [cell.strip() or None for cell in record]))
    except csv.Error:  # a cell beyond the csv module's field limit (131,072 characters), or a stray quote
        return None, [Problem.coded(source, reader.line_num, None, "cellule_trop_longue",
                                    _("a cell is longer than {limite} characters (perhaps a quote \" that is never "
                                      "closed); no cell of an instance is that long"),
                                    {"limite": f"{csv.field_size_limit():,}"})]
    table, problems = _table(source, numbered, "error", read=False)
    if table is not None:
        table.decimal_comma = sep == ";"
    return table, problems


def _sha256_files(paths: list[Path], root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _toml_rows(text: str) -> dict[str, int]:
    """Line number of each top-level key of a TOML text (before its first [table])."""
    rows: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("["):
            break
        if match := re.match(r"\s*([A-Za-z0-9_]+)\s*=", line):
            rows.setdefault(match.group(1), number)
    return rows


def read_csv_folder(folder: Path) -> RawInstance:
    """Read an instance folder: instance.toml and the CSV files of SPEC §2."""
    problems: list[Problem] = []
    meta: dict[str, Any] = {}
    meta_rows: dict[str, int] = {}
    meta_path = folder / "instance.toml"
    files: list[Path] = []
    meta_found = False
    if meta_path.is_file():
        try:
            text = meta_path.read_bytes().decode("utf-8-sig")
            meta = tomllib.loads(text)
            meta_rows = _toml_rows(text)
            meta_found = True
            files.append(meta_path)
        except OSError as exc:
            problems.append(_unreadable(meta_path, exc))
        except UnicodeDecodeError:
            problems.append(Problem.coded("instance.toml", None, None, "encodage_invalide",
                                          _("the file is not in UTF-8; re-save it as UTF-8 text")))
        except RecursionError:
            problems.append(Problem.coded("instance.toml", None, None, "imbrication_excessive",
                                          _("the file nests tables or arrays too deeply")))
        except tomllib.TOMLDecodeError as exc:
            problems.append(Problem.coded("instance.toml", None, None, "toml_invalide",
                                          _("not a valid TOML file ({erreur}); write one 'key = value' per line, "
                                            "text in quotes"), {"erreur": str(exc)}))
    else:
        problems.append(Problem.coded("instance.toml", None, None, "fichier_manquant", _("file is missing"),
                                      {"fichier": "instance.toml"}))
    present = {normalize_name(p.stem): p for p in sorted(folder.iterdir()) if p.suffix.lower() == ".csv"}
    tables: dict[str, RawTable] = {}
    for name in TABLES:
        path = present.get(name)
        if path is None:
            if name in REQUIRED_TABLES:
                problems.append(Problem.coded(f"{name}.csv", None, None, "fichier_manquant", _("file is missing"),
                                              {"fichier": f"{name}.csv"}))
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:  # a folder named like a table, a broken link, no permission
            problems.append(_unreadable(path, exc))
            continue
        files.append(path)
        csv_text, problem = _decode_csv(data, path.name)
        if problem is not None or csv_text is None:
            problems += [problem] if problem is not None else []
            continue
        table, found = parse_csv(csv_text, path.name)
        problems += found
        if table is None:
            problems.append(_empty(path.name, name))
        else:
            tables[name] = table
    for key, path in present.items():
        if key not in TABLES and not key.startswith(COMPANIONS):
            problems.append(Problem.coded(path.name, None, None, "fichier_inconnu",
                                          _("file '{fichier}' is not part of an instance and is ignored"),
                                          {"fichier": path.name}, "warning", suffix=closest(key, TABLES)))
    sha = _sha256_files(files, folder)
    return RawInstance(str(folder), "instance.toml", meta, tables, sha, folder, problems, meta_rows, meta_found)


def read_table_file(path: Path, sheet: str) -> tuple[RawTable | None, list[Problem], str]:
    """One table from a CSV file or from the sheet ``sheet`` of an .xlsx workbook (the only sheet
    when there is one): the raw table (None when unreadable), its problems and the file's SHA-256."""
    data = _read_bytes(path)
    sha = hashlib.sha256(data).hexdigest()
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        text, problem = _decode_csv(data, path.name)
        if problem is not None or text is None:
            return None, [problem] if problem is not None else [], sha
        table, problems = parse_csv(text, path.name)
        return table, problems + ([] if table else [_no_header(path.name)]), sha
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds of errors for what is not a workbook
        return None, [Problem.coded(path.name, None, None, "classeur_illisible",
                                    _("this file cannot be read as an .xlsx workbook; open it in a "
                                      "spreadsheet and save it as 'Excel Workbook (.xlsx)'"))], sha
    try:
        sheets = {normalize_name(ws.title): ws for ws in book.worksheets}
        found = sheets.get(sheet) or (book.worksheets[0] if len(book.worksheets) == 1 else None)
        if found is None:
            return None, [Problem.coded(path.name, None, None, "feuille_manquante",
                                        _("the workbook has no sheet '{feuille}'"), {"feuille": sheet},
                                        suffix=closest(sheet, sheets))], sha
        found.reset_dimensions()
        source = f"{found.title} (sheet)"
        rows = enumerate((list(r) for r in found.iter_rows(min_row=1, min_col=1, values_only=True)), start=1)
        table, problems = _table(source, rows, "warning")
        return table, problems + ([] if table else [_no_header(source)]), sha
    finally:
        book.close()


def _no_header(source: str) -> Problem:
    return Problem.coded(source, None, None, "table_sans_entete",
                         _("the table is empty: its first row must name the columns"))


def _unreadable(path: Path, exc: OSError) -> Problem:
    why = _("it is a folder") if path.is_dir() else exc.strerror or type(exc).__name__
    return Problem.coded(path.name, None, None, "fichier_illisible",
                         _("the file cannot be read ({raison}); it must be a readable CSV text file"), {"raison": why})


def _read_bytes(path: Path) -> bytes:
    """The bytes of an instance file, or an :class:`InstanceError` saying why they cannot be read."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InstanceError([_unreadable(path, exc)]) from None


def _text(value: str) -> str:
    """A text as UTF-8 can hold it: a lone surrogate (from a JSON '\\ud800' escape) becomes U+FFFD."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value


def _empty(source: str, name: str) -> Problem:
    severity: Severity = "error" if name in REQUIRED_TABLES else "warning"
    if severity == "error":
        message = _("'{table}' is empty: its first row must name the columns")
    else:
        message = _("'{table}' is empty: its first row must name the columns; it is ignored")
    return Problem.coded(source, None, None, "table_sans_entete", message, {"table": name}, severity)


def _override_value(value: Cell) -> Any:
    """A policy override written in a cell: booleans in any language, numbers, TOML lists, text."""
    if not isinstance(value, str):
        return value
    word = value.lower()
    if word in ("true", "vrai", "oui", "yes"):
        return True
    if word in ("false", "faux", "non", "no"):
        return False
    try:
        return tomllib.loads(f"v = {value}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):
        return value


def _meta_from_rows(source: str, records: Iterable[tuple[int, list[Any]]]) -> tuple[dict[str, Any], dict[str, int], list[Problem]]:
    """The `instance` sheet: key in column A, value in column B; a first row 'cle | valeur' or
    'key | value' is a header. Keys ``surcharges.<policy key>`` override the policy."""
    meta: dict[str, Any] = {}
    rows: dict[str, int] = {}
    problems: list[Problem] = []
    first = True
    for number, values in records:
        cells = [_cell(v) for v in values] + [None, None]
        key, value = cells[0], cells[1]
        if key is None and value is None:
            continue
        if first and normalize_name(key) in _KEY_HEADERS:
            first = False
            continue
        first = False
        if key is None:
            problems.append(Problem.coded(source, number, None, "valeur_sans_cle", _("a value without a key in column A")))
            continue
        name = str(key).strip()
        if name.lower().startswith(OVERRIDE_PREFIX):
            dotted = name[len(OVERRIDE_PREFIX):]
            meta.setdefault("surcharges", {})[dotted] = _override_value(value)
            rows[f"surcharges.{dotted}"] = number
            continue
        name = normalize_name(name)
        if name in meta:
            problems.append(Problem.coded(source, number, name, "cle_doublon",
                                          _("key '{cle}' is given twice (first on row {ligne_precedente})"),
                                          {"cle": name, "ligne_precedente": rows[name]}))
            continue
        meta[name] = value
        rows[name] = number
    return meta, rows, problems


def read_xlsx(path: Path) -> RawInstance:
    """Read a workbook: a sheet per table, named like the CSV files; sheet `instance` holds key/value rows."""
    data = _read_bytes(path)
    sha = hashlib.sha256(data).hexdigest()
    import openpyxl  # heavy: only when a workbook is read

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds of errors for what is not a workbook
        raise InstanceError([Problem.coded(path.name, None, None, "classeur_illisible",
                                           _("this file cannot be read as an .xlsx workbook (is it damaged, or another "
                                             "format renamed?); open it in a spreadsheet and save it as "
                                             "'Excel Workbook (.xlsx)'"))]) from None
    try:
        sheets: dict[str, Any] = {}
        for sheet in book.worksheets:
            sheet.reset_dimensions()  # do not trust the stored size of the sheet
            sheets.setdefault(normalize_name(sheet.title), sheet)
        problems: list[Problem] = []

        def rows_of(sheet: Any) -> Iterable[tuple[int, list[Any]]]:
            return enumerate((list(r) for r in sheet.iter_rows(min_row=1, min_col=1, values_only=True)), start=1)

        meta: dict[str, Any] = {}
        meta_rows: dict[str, int] = {}
        meta_source = f"{META} (sheet)"
        if META in sheets:
            meta, meta_rows, found = _meta_from_rows(meta_source, rows_of(sheets[META]))
            problems += found
        else:
            problems.append(Problem.coded(meta_source, None, None, "feuille_manquante",
                                          _("sheet is missing (key/value rows: nom, territoire, annee, politique)"),
                                          {"feuille": META}))
        tables: dict[str, RawTable] = {}
        for name in TABLES:
            source = f"{name} (sheet)"
            if name not in sheets:
                if name in REQUIRED_TABLES:
                    problems.append(Problem.coded(source, None, None, "feuille_manquante", _("sheet is missing"),
                                                  {"feuille": name}))
                continue
            table, found = _table(source, rows_of(sheets[name]), "warning")
            problems += found
            if table is None:
                problems.append(_empty(source, name))
            else:
                tables[name] = table
        for key, sheet in sheets.items():
            if key not in (META, *TABLES, *HELP_SHEETS):
                problems.append(Problem.coded(f"{sheet.title} (sheet)", None, None, "feuille_inconnue",
                                              _("sheet '{feuille}' is not part of an instance and is ignored"),
                                              {"feuille": sheet.title}, "warning", suffix=closest(key, (META, *TABLES))))
    finally:
        book.close()
    return RawInstance(str(path), meta_source, meta, tables, sha, path.parent, problems, meta_rows, META in sheets)


def _records_table(name: str, value: Any, source: str) -> tuple[RawTable | None, list[Problem]]:
    """A table given as an array of records (or a pandas DataFrame)."""
    if hasattr(value, "to_dict") and hasattr(value, "columns"):
        value = value.to_dict("records")
    if not isinstance(value, (list, tuple)):
        return None, [Problem.coded(source, None, None, "table_invalide",
                                    _("'{table}' must be an array of records [{{\"column\": value, ...}}, ...], "
                                      "not {nature}"), {"table": name, "nature": _kind(value)})]
    columns: dict[str, None] = {}
    rows: list[tuple[int, dict[str, Cell]]] = []
    problems: list[Problem] = []
    for number, record in enumerate(value, start=1):
        if not isinstance(record, Mapping):
            problems.append(Problem.coded(source, number, None, "enregistrement_invalide",
                                          _("record {numero} must be an object {{\"column\": value, ...}}, not {nature}"),
                                          {"numero": number, "nature": _kind(record)}))
            continue
        cells: dict[str, Cell] = {}
        for key, cell in record.items():
            column = normalize_name(key)
            columns.setdefault(column)
            if not isinstance(cell, (str, int, float)) and not pd.api.types.is_scalar(cell):
                problems.append(Problem.coded(source, number, column, "cellule_invalide",
                                              _("a cell must be a number, a text, true/false or null")))
                continue
            cells[column] = _text(cell) if isinstance(cell, str) else _cell(cell)
        rows.append((number, cells))
    return RawTable(source, list(columns), rows, None), problems


def read_document(document: Any, source: str, label: str, sha: str, base_dir: Path | None) -> RawInstance:
    """Read the JSON shape ``{"instance": {...}, "patrimoine": [...], ...}`` (parsed JSON or a mapping).

    ``label`` names the form in problems: ``patrimoine (JSON)``.
    """
    if not isinstance(document, Mapping):
        raise InstanceError([Problem.coded(Path(source).name, None, None, "document_invalide",
                                           _("the document must be an object {{\"instance\": {{...}}, "
                                             "\"patrimoine\": [...], ...}}, not {nature}"),
                                           {"nature": _kind(document)})])
    parts = {normalize_name(k): v for k, v in document.items()}
    problems: list[Problem] = []
    meta_source = f"{META} ({label})"
    meta: dict[str, Any] = {}
    if META not in parts:
        problems.append(Problem.coded(meta_source, None, None, "table_manquante",
                                      _("'instance' is missing (nom, territoire, annee, politique)"), {"table": META}))
    elif not isinstance(parts[META], Mapping):
        problems.append(Problem.coded(meta_source, None, None, "table_invalide",
                                      _("'instance' must be an object of keys and values, not {nature}"),
                                      {"table": META, "nature": _kind(parts[META])}))
    else:
        for key, value in parts[META].items():
            name = normalize_name(key)
            meta[name] = value if name == "surcharges" or isinstance(value, (Mapping, list)) \
                else _cell(_text(value) if isinstance(value, str) else value)
    tables: dict[str, RawTable] = {}
    for name in TABLES:
        where = f"{name} ({label})"
        if name not in parts or parts[name] is None:
            if name in REQUIRED_TABLES:
                problems.append(Problem.coded(where, None, None, "table_manquante", _("'{table}' is missing"),
                                              {"table": name}))
            continue
        table, found = _records_table(name, parts[name], where)
        problems += found
        if table is not None:
            tables[name] = table
    for key in parts:
        if key not in (META, *TABLES):
            problems.append(Problem.coded(f"{key} ({label})", None, None, "table_inconnue",
                                          _("'{table}' is not part of an instance and is ignored"), {"table": key},
                                          "warning", suffix=closest(key, (META, *TABLES))))
    return RawInstance(source, meta_source, meta, tables, sha, base_dir, problems, {}, isinstance(parts.get(META), Mapping))


def _kind(value: Any) -> str:
    kinds = {list: _("an array"), str: _("a text"), int: _("a number"), float: _("a number"), bool: _("true/false")}
    return kinds.get(type(value), type(value).__name__)


def read_json(path: Path) -> RawInstance:
    """Read a JSON document (UTF-8, BOM accepted)."""
    data = _read_bytes(path)
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except RecursionError:
        raise InstanceError([Problem.coded(path.name, None, None, "imbrication_excessive",
                                           _("not an instance: arrays or objects are nested too deeply "
                                             "(an instance has tables of records of cells)"))]) from None
    except UnicodeDecodeError:
        raise InstanceError([Problem.coded(path.name, None, None, "encodage_invalide",
                                           _("the file is not in UTF-8; re-save it as UTF-8 text"))]) from None
    except json.JSONDecodeError as exc:
        raise InstanceError([Problem.coded(path.name, exc.lineno, None, "json_invalide",
                                           _("not valid JSON: {erreur} (line {ligne}, character {caractere})"),
                                           {"erreur": exc.msg, "ligne": exc.lineno, "caractere": exc.colno})]) from None
    except ValueError:  # an integer of more than 4,300 digits
        raise InstanceError([Problem.coded(path.name, None, None, "nombre_trop_long",
                                           _("not an instance: a number has thousands of digits"))]) from None
    return read_document(document, str(path), "JSON", hashlib.sha256(data).hexdigest(), path.parent)


def read_mapping(mapping: Mapping[str, Any]) -> RawInstance:
    """Read a Python mapping of the JSON shape; tables may also be pandas DataFrames.

    The SHA-256 is that of the canonical JSON of the tables (sorted keys, cells as read).
    """
    raw = read_document(mapping, "<mapping>", "JSON", "", None)
    canonical = {
        "instance": raw.meta,
        **{name: [cells for _number, cells in t.rows] for name, t in raw.tables.items()},
    }
    text = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    raw.sha256 = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return raw


def read_raw(source: Any) -> RawInstance:
    """Dispatch on the form of ``source``: a folder of CSV files, a .xlsx workbook, a .json file or a mapping."""
    if isinstance(source, Mapping):
        return read_mapping(source)
    if not isinstance(source, (str, Path)):
        raise InstanceError([Problem.coded(type(source).__name__, None, None, "source_invalide",
                                           _("not an instance: give a folder of CSV files, an .xlsx workbook, "
                                             "a .json file or a dict"))])
    path = Path(source)
    try:
        return _read_path(path)
    except OSError as exc:  # the folder cannot be listed, a file vanished while being read, ...
        raise InstanceError([Problem.coded(path.name or str(path), None, None, "fichier_illisible",
                                           _("cannot be read ({raison})"),
                                           {"raison": exc.strerror or type(exc).__name__})]) from None


def _read_path(path: Path) -> RawInstance:
    if path.is_dir():
        return read_csv_folder(path)
    if not path.exists():
        raise InstanceError([Problem.coded(str(path), None, None, "source_introuvable", _("no such file or folder"))])
    suffix = path.suffix.lower()
    if path.name.lower() == "instance.toml" or suffix == ".csv":
        return read_csv_folder(path.parent)
    if suffix in (".xlsx", ".xlsm"):
        return read_xlsx(path)
    if suffix == ".json":
        return read_json(path)
    if suffix in (".xls", ".ods"):
        raise InstanceError([Problem.coded(path.name, None, None, "format_non_lu",
                                           _("'{format}' workbooks are not read; open it in a spreadsheet and save it "
                                             "as 'Excel Workbook (.xlsx)'"), {"format": suffix})])
    if zipfile.is_zipfile(path):
        return read_xlsx(path)
    raise InstanceError([Problem.coded(path.name, None, None, "source_invalide",
                                       _("not an instance: give a folder of CSV files, an .xlsx workbook or a .json file"))])


def add_table_files(raw: RawInstance, files: Mapping[str, str | Path]) -> RawInstance:
    """``raw`` with tables read from files (``{"accords": "accords.csv"}``; a CSV file, or an .xlsx
    workbook with a sheet of that name); an instance that already has such a table is an error
    (which of the two would hold is not for fluxopt to guess). The SHA-256 covers the files too."""
    tables = dict(raw.tables)
    problems = list(raw.problems)
    digest = raw.sha256
    for name, file in files.items():
        path = Path(file)
        if not path.is_file():
            problems.append(Problem.coded(str(path), None, None, "source_introuvable",
                                          _("no such file: it should hold the '{table}' table"), {"table": name}))
            continue
        table, found, sha = read_table_file(path, name)
        if name in raw.tables:
            found.append(Problem.coded(raw.tables[name].source, None, None, "table_en_double",
                                       _("the instance already has a '{table}' table; remove it or do not give {fichier}"),
                                       {"table": name, "fichier": path.name}))
        problems += found
        if table is not None:
            tables[name] = table
        digest = hashlib.sha256(f"{digest}\0{sha}".encode()).hexdigest()
    return dataclasses.replace(raw, tables=tables, problems=problems, sha256=digest)
