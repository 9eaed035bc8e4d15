"""Write a result folder atomically: everything goes to a temporary folder, then one rename."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from fluxopt.explanations import Explanation, explain
from fluxopt.i18n import using
from fluxopt.result import Result
from fluxopt.workbook import write_workbook

TABLE_FILES = {"parts": "parts.csv", "segments": "segments.csv", "cil": "cil.csv", "bailleurs": "bailleurs.csv"}
SUMMARY_FILE = "summary.json"
WORKBOOK_FILE = "resultats.xlsx"
EXPLANATION_FILE = "explication.md"


def write_tables(result: Result, folder: Path) -> None:
    """The CSV tables (UTF-8, ',' separated, '.' decimals, LF line ends)."""
    for name, frame in result.tables.items():
        frame.to_csv(folder / TABLE_FILES[name], index=False, lineterminator="\n")


def write_summary(result: Result, folder: Path, write_seconds: float) -> None:
    summary = result.summary.to_dict()
    summary["timings"]["write"] = round(write_seconds, 4)
    text = json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=False)
    (folder / SUMMARY_FILE).write_text(text + "\n", encoding="utf-8")


def write_result(result: Result, folder: str | Path, *, workbook: bool = True,
                 explanation: Explanation | bool = True) -> Path:
    """Write the result folder as ``fluxopt solve`` does: summary.json, the CSV tables,
    resultats.xlsx (unless ``workbook`` is false) and, when the proposal departs from
    equivalence, explication.md (``explanation``: one already computed, True to compute it,
    False for none). ``fluxopt batch`` writes the CSV tables and summary.json only.

    Atomic: an existing folder is replaced only once everything is written. What people read
    is in ``result.langue``.
    """
    with using(result.langue):
        return _write_result(result, folder, workbook, explanation)


def _write_result(result: Result, folder: str | Path, workbook: bool, explanation: Explanation | bool) -> Path:
    start = time.perf_counter()
    folder = Path(folder).resolve()
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)
    try:
        computed = explain(result) if explanation is True else explanation if isinstance(explanation, Explanation) \
            else None
        if result.has_solution:
            write_tables(result, tmp)
            if workbook:
                write_workbook(result, tmp / WORKBOOK_FILE, computed)
        if computed is not None and not computed.is_empty():
            (tmp / EXPLANATION_FILE).write_text(computed.to_markdown(), encoding="utf-8")
        write_summary(result, tmp, time.perf_counter() - start)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if not folder.exists():
        tmp.rename(folder)
        return folder
    old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
    folder.rename(old)
    try:
        tmp.rename(folder)
    except BaseException:
        old.rename(folder)  # the earlier result stays where it was
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old)
    return folder
