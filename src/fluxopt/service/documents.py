"""The documents a job serves, and the input template: one function each, so that plugging in a
producer is a one-line change.

- ``resultats.xlsx``: the result folder's workbook, written by :func:`fluxopt.write_result`.
- ``rapport.pdf``, ``annexes.zip``: the report and the annexes (:mod:`fluxopt.documents`), made from
  the result folder and the uploaded instance on first request, then kept in the job folder.
- ``modele.xlsx``: the input template (``fluxopt modele``), written once per server process.
"""

from __future__ import annotations

import asyncio
import functools
import tempfile
from pathlib import Path
from typing import Callable

from fluxopt.i18n import N_

NAMES = ("resultats.xlsx", "rapport.pdf", "annexes.zip")
MEDIA = {"resultats.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "rapport.pdf": "application/pdf", "annexes.zip": "application/zip"}
#: Why a document is not there (English; translated in the request's language when answered).
MISSING = {
    "resultats.xlsx": N_("this job has no result workbook"),
    "rapport.pdf": N_("the PDF report is not available yet in this version of fluxopt"),
    "annexes.zip": N_("the annexes are not available yet in this version of fluxopt"),
    "modele.xlsx": N_("the template workbook is not available yet in this version of fluxopt; start from the "
                      "example workbook or from the format's documentation"),
}


def _workbook(results: Path, folder: Path) -> Path | None:
    path = results / "resultats.xlsx"
    return path if path.is_file() else None


def _instance(folder: Path) -> Path | None:
    """The instance the job solved, as uploaded (a workbook, a JSON document, or the CSV folder of a zip)."""
    for name in ("instance", "entree.xlsx", "entree.json"):  # see worker.UPLOADS and worker._source
        if (folder / name).exists():
            return folder / name
    return None


def _report(results: Path, folder: Path) -> Path | None:
    path = folder / "rapport.pdf"
    if not path.is_file() and (results / "parts.csv").is_file():
        from fluxopt.documents.report import write_report

        write_report(results, path, instance=_instance(folder))
    return path if path.is_file() else None


def _annexes(results: Path, folder: Path) -> Path | None:
    path = folder / "annexes" / "annexes.zip"
    if not path.is_file() and (results / "parts.csv").is_file():
        from fluxopt.documents.annexes import write_annexes

        write_annexes(results, folder / "annexes", archive=True, instance=_instance(folder))
    return path if path.is_file() else None


#: Document name -> function (result folder, job folder) -> the file, or None.
PRODUCERS: dict[str, Callable[[Path, Path], Path | None]] = {
    "resultats.xlsx": _workbook, "rapport.pdf": _report, "annexes.zip": _annexes,
}


async def produce(name: str, results: Path, folder: Path) -> Path | None:
    """The file of document ``name`` for a finished job (made in a thread: a producer may take time)."""
    producer = PRODUCERS.get(name)
    return None if producer is None else await asyncio.to_thread(producer, results, folder)


@functools.cache
def _template() -> Path | None:
    """The input template (``fluxopt modele``), written once per server process."""
    from fluxopt.template import write_template

    return write_template(Path(tempfile.mkdtemp(prefix="fluxopt-modele-")) / "modele.xlsx")


async def template() -> Path | None:
    return await asyncio.to_thread(_template)
