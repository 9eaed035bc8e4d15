"""Write a result folder atomically: everything goes to a temporary folder, then one rename."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from fluxopt.solve import Result

TABLE_FILES = {"parts": "parts.csv", "segments": "segments.csv", "cil": "cil.csv", "bailleurs": "bailleurs.csv"}


def write_tables(result: "Result", folder: Path) -> None:
    """The CSV tables (UTF-8, ',' separated, '.' decimals, LF line ends)."""
    for name, frame in result.tables.items():
        frame.to_csv(folder / TABLE_FILES[name], index=False, lineterminator="\n")


def write_summary(result: "Result", folder: Path, write_seconds: float) -> None:
    summary = dict(result.summary)
    summary["timings"] = {**summary["timings"], "write": round(write_seconds, 4)}
    text = json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=False)
    (folder / "summary.json").write_text(text + "\n", encoding="utf-8")


def write_result(result: "Result", folder: Path, extra: Callable[[Path], None] | None = None) -> Path:
    """Write into ``folder`` atomically; an existing folder is replaced only once all is written.

    ``extra``, if given, writes more files (workbook, explanation) into the temporary folder
    before the rename, so that they are part of the same atomic write.
    """
    start = time.perf_counter()
    folder = folder.resolve()
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)
    try:
        if result.has_solution:
            write_tables(result, tmp)
        if extra is not None:
            extra(tmp)
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
