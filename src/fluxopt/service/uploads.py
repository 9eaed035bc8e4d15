"""Uploaded instances: check a zip or xlsx archive before anything opens it, and unpack a zip of CSV files.

Everything here runs in a worker process, in the job's language. Nothing an upload holds can name a
path on the server: the members of a zip are written under their base name into the job's own folder.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from fluxopt.i18n import _
from fluxopt.problems import InstanceError, Problem, Severity

#: Files of an instance folder (SPEC §2) taken from a zip; anything else is ignored.
INSTANCE_SUFFIXES = (".csv", ".toml")
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension ref="[A-Z]+\d+:?[A-Z]*(\d*)"')


@dataclass(frozen=True)
class ArchiveLimits:
    """What an uploaded archive may hold (a zip bomb or a huge sheet is refused before it is read)."""

    membres: int = 200
    taille: int = 200 * 1024 ** 2
    ratio: float = 200.0
    lignes: int = 1_000_000


@dataclass(frozen=True)
class ServiceProblem(Problem):
    """A problem the service finds on top of the core's checks, with a stable ``code``."""

    severity: Severity = "error"
    code: str | None = None


def _problem(name: str, code: str, message: str, params: dict[str, Any] | None = None) -> InstanceError:
    """A refusal of the upload ``name``: ``message`` (translated by ``_()``) filled with ``params``."""
    return InstanceError([ServiceProblem.coded(name, None, None, code, message, params)])


def check_archive(path: Path, name: str, limits: ArchiveLimits = ArchiveLimits()) -> zipfile.ZipFile:
    """Open ``path`` as a zip and check its directory (members, sizes, compression ratio) without
    decompressing anything; raise :class:`InstanceError` with a sentence for the user."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise _problem(name, "archive_illisible", _("the file is not a readable archive (a damaged .xlsx workbook or "
                                                    ".zip, or another format)")) from None
    infos = archive.infolist()
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    if len(infos) > limits.membres:
        raise _problem(name, "archive_trop_de_fichiers",
                       _("the archive holds {fichiers} files; the service accepts {maximum} at most"),
                       {"fichiers": len(infos), "maximum": limits.membres})
    if total > limits.taille:
        raise _problem(name, "archive_trop_grande", _("the archive would take {mo} MB uncompressed; the service "
                                                      "accepts {maximum_mo} MB at most"),
                       {"mo": round(total / 1024 ** 2), "maximum_mo": round(limits.taille / 1024 ** 2)})
    worst = max((i.file_size / max(i.compress_size, 1) for i in infos), default=0.0)
    if worst > limits.ratio and total > 1024 ** 2:
        raise _problem(name, "bombe_zip", _("the archive is compressed {ratio} times (a \"zip bomb\"); it is refused"),
                       {"ratio": round(worst)})
    if packed and any(i.flag_bits & 0x1 for i in infos):
        raise _problem(name, "archive_chiffree", _("the archive is encrypted; send it without a password"))
    return archive


def check_workbook(path: Path, name: str, limits: ArchiveLimits = ArchiveLimits()) -> None:
    """Check an .xlsx workbook before openpyxl opens it: the archive, then each sheet's declared size."""
    with check_archive(path, name, limits) as archive:
        for info in archive.infolist():
            if not (info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")):
                continue
            with archive.open(info) as fh:
                head = fh.read(4096)
            match = _DIMENSION.search(head)
            if match and match.group(1) and int(match.group(1)) > limits.lignes:
                raise _problem(name, "feuille_trop_grande", _("a sheet of the workbook declares {lignes} rows; the "
                                                              "service accepts {maximum} at most"),
                               {"lignes": int(match.group(1)), "maximum": limits.lignes})


def unpack_folder(path: Path, folder: Path, name: str, limits: ArchiveLimits = ArchiveLimits()) -> Path:
    """Write the CSV and TOML members of a checked zip into ``folder`` under their base names; return it.

    Members in sub-folders are taken as if at the top (a zip of the folder itself is the usual
    form); two members with the same base name, or no instance file at all, are refused.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with check_archive(path, name, limits) as archive:
        seen: dict[str, str] = {}
        for info in archive.infolist():
            if info.is_dir():
                continue
            base = PurePosixPath(info.filename.replace("\\", "/")).name
            if base.startswith(".") or not base.lower().endswith(INSTANCE_SUFFIXES) or "__MACOSX" in info.filename:
                continue
            if base.lower() in seen:
                raise _problem(name, "fichier_en_double", _("the archive holds two files {fichier} ({premier} and "
                                                            "{second}); keep a single instance folder"),
                               {"fichier": base, "premier": seen[base.lower()], "second": info.filename})
            seen[base.lower()] = info.filename
            with archive.open(info) as src, (folder / base).open("wb") as dst:
                remaining = limits.taille
                while chunk := src.read(1 << 20):
                    remaining -= len(chunk)
                    if remaining < 0:  # the directory lied about the size
                        raise _problem(name, "bombe_zip", _("the archive is larger, uncompressed, than it declares; "
                                                            "it is refused"))
                    dst.write(chunk)
    if not seen:
        raise _problem(name, "archive_sans_instance", _("the archive holds no instance file (instance.toml, "
                                                        "patrimoine.csv, ...)"))
    return folder
