"""``fluxopt solve --report FILE``: an instance with last year's carry-over (``report.csv``
written by ``fluxopt bilan``) added as its ``report`` table (SPEC §2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from fluxopt.instance import Instance, load_instance


def load_with_report(source: str | Path | Mapping[str, Any], report: str | Path) -> Instance:
    """Load an instance (any form) with the table of ``report`` (a CSV file, or an .xlsx workbook
    with a sheet ``report``) as its carry-over; an instance that already has one is an error."""
    return load_instance(source, tables={"report": report})
