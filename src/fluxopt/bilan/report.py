"""``fluxopt solve --report FILE``: an instance with last year's carry-over (``report.csv``
written by ``fluxopt bilan``) added as its ``report`` table (SPEC §2)."""

from __future__ import annotations

import dataclasses
import hashlib
import time
from pathlib import Path
from typing import Any, Mapping

from fluxopt.instance import Instance, build_instance
from fluxopt.problems import InstanceError, Problem
from fluxopt.readers import read_raw, read_table_file


def load_with_report(source: str | Path | Mapping[str, Any], report: str | Path) -> Instance:
    """Load an instance (any form) with the table of ``report`` (a CSV file, or an .xlsx workbook
    with a sheet ``report``) as its carry-over; an instance that already has one is an error
    (which of the two would hold is not for fluxopt to guess)."""
    start = time.perf_counter()
    raw = read_raw(source)
    path = Path(report)
    if not path.is_file():
        raise InstanceError([Problem(str(path), None, None, "no such file: --report names the report.csv written by "
                                                            "'fluxopt bilan'")])
    table, problems, sha = read_table_file(path, "report")
    if "report" in raw.tables:
        problems.append(Problem(raw.tables["report"].source, None, None,
                                f"the instance already has a carry-over table; remove it or do not give {path.name}"))
    if table is not None:
        raw.tables["report"] = table
    raw.problems += problems
    raw.sha256 = hashlib.sha256(f"{raw.sha256}\0{sha}".encode()).hexdigest()
    inst = build_instance(raw)
    return dataclasses.replace(inst, load_seconds=time.perf_counter() - start)
