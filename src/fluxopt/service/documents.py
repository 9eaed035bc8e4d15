"""The documents a job serves, and the input template: one function each, so that plugging in a
producer is a one-line change.

- ``resultats.xlsx``: the result folder's workbook, written by :func:`fluxopt.write_result`.
- ``rapport.pdf``, ``annexes.zip``: the report and annexes of issue 13 (``fluxopt.documents``); until it
  lands, :data:`PRODUCERS` has no entry for them and they answer 404 with :data:`MISSING`.
- ``modele.xlsx``: the input template of issue 12 (``fluxopt modele``); :func:`template` returns None until then.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Callable

NAMES = ("resultats.xlsx", "rapport.pdf", "annexes.zip")
MEDIA = {"resultats.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "rapport.pdf": "application/pdf", "annexes.zip": "application/zip"}
MISSING = {
    "resultats.xlsx": "ce travail n'a pas de classeur de résultats",
    "rapport.pdf": "le rapport PDF n'est pas encore disponible dans cette version de fluxopt",
    "annexes.zip": "les annexes ne sont pas encore disponibles dans cette version de fluxopt",
    "modele.xlsx": "le classeur modèle n'est pas encore disponible dans cette version de fluxopt ; "
                   "partez du classeur d'exemple ou de la documentation du format",
}


def _workbook(results: Path, folder: Path) -> Path | None:
    path = results / "resultats.xlsx"
    return path if path.is_file() else None


#: Document name -> function (result folder, job folder) -> the file, or None. Issue 13 adds
#: ``"rapport.pdf"`` and ``"annexes.zip"`` here (each a call into ``fluxopt.documents``, writing into
#: the job folder once and returning the path).
PRODUCERS: dict[str, Callable[[Path, Path], Path | None]] = {"resultats.xlsx": _workbook}


async def produce(name: str, results: Path, folder: Path) -> Path | None:
    """The file of document ``name`` for a finished job (made in a thread: a producer may take time)."""
    producer = PRODUCERS.get(name)
    return None if producer is None else await asyncio.to_thread(producer, results, folder)


def _template() -> Path | None:
    """The input template; issue 12 replaces this body with a call to the ``fluxopt modele`` writer."""
    return None


async def template() -> Path | None:
    return await asyncio.to_thread(_template)
