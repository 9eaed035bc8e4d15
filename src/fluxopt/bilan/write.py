"""Write a bilan folder atomically (a temporary folder, then one rename): bilan.json, the CSV
tables of SPEC §6, bilan.xlsx and the letters (``lettres/*.md``)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from fluxopt._version import __version__
from fluxopt.bilan.compute import Bilan
from fluxopt.bilan.letters import render_letters
from fluxopt.bilan.workbook import write_bilan_workbook

JSON_FILE = "bilan.json"
WORKBOOK_FILE = "bilan.xlsx"
LETTERS = "lettres"
#: Policy values a bilan uses.
POLICY_KEYS = ("report.part", "report.plafond", "prioritaires.part_min", "cil.part_q1_hors_qpv",
               "cil.part_autres_qpv", "cil.relogements_q1")


def default_date(annee: int) -> dt.date:
    """The date printed on the bilan unless given: 31 January of year N+1 (it is due before 28 February)."""
    return dt.date(annee + 1, 1, 31)


def bilan_document(bilan: Bilan, date: dt.date, letters: list[str]) -> dict[str, Any]:
    """``bilan.json``: status, year, inputs and their SHA-256, policy values, totals, warnings."""
    conv, real = bilan.conventions, bilan.realise
    return {
        "status": "ok",
        "annee": bilan.annee,
        "date": date.isoformat(),
        "instance": {"nom": conv.nom, "territoire": conv.territoire, "annee": conv.annee, "sha256": conv.sha256},
        "realise": {"source": real.source, "sha256": real.sha256, "lignes": len(real.frame),
                    "q1": real.has_q1, "prioritaires": real.has_prioritaires},
        "politique": {"nom": conv.policy.name, "valeurs": {k: conv.policy.values[k] for k in POLICY_KEYS}},
        "totaux": bilan.totaux,
        "bailleurs": bilan.par_bailleur.to_dict("records"),
        "warnings": [p.to_dict() for p in bilan.warnings],
        "lettres": letters,
        "fluxopt": __version__,
    }


def write_files(bilan: Bilan, folder: Path, date: dt.date, workbook: bool = True) -> None:
    """Every file of the bilan into ``folder`` (which exists)."""
    for name, frame in bilan.tables.items():
        frame.to_csv(folder / name, index=False, lineterminator="\n")
    letters = render_letters(bilan, date.strftime("%d/%m/%Y"))
    (folder / LETTERS).mkdir()
    for name, text in letters.items():
        (folder / LETTERS / name).write_text(text, encoding="utf-8")
    if workbook:
        write_bilan_workbook(bilan, folder / WORKBOOK_FILE, date)
    text = json.dumps(bilan_document(bilan, date, sorted(letters)), ensure_ascii=False, indent=2)
    (folder / JSON_FILE).write_text(text + "\n", encoding="utf-8")


def write_bilan(bilan: Bilan, folder: str | Path, *, date: dt.date | None = None, workbook: bool = True) -> Path:
    """Write the bilan folder; an existing folder is replaced only once everything is written."""
    folder = Path(folder).resolve()
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)
    try:
        write_files(bilan, tmp, date or default_date(bilan.annee), workbook)
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
        old.rename(folder)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old)
    return folder
