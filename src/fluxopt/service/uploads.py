"""Uploaded instances: check a zip or xlsx archive before anything opens it, and unpack a zip of CSV files.

Everything here runs in a worker process. Nothing an upload holds can name a path on the server:
the members of a zip are written under their base name into the job's own folder.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

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


def _problem(name: str, code: str, message: str) -> InstanceError:
    return InstanceError([ServiceProblem(name, None, None, message, code=code)])


def check_archive(path: Path, name: str, limits: ArchiveLimits = ArchiveLimits()) -> zipfile.ZipFile:
    """Open ``path`` as a zip and check its directory (members, sizes, compression ratio) without
    decompressing anything; raise :class:`InstanceError` with a sentence for the user."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise _problem(name, "archive_illisible", "le fichier n'est pas une archive lisible (classeur .xlsx ou .zip endommagé ou d'un "
                             "autre format)") from None
    infos = archive.infolist()
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    if len(infos) > limits.membres:
        raise _problem(name, "archive_trop_de_fichiers",
                       f"l'archive contient {len(infos)} fichiers ; le service en accepte {limits.membres} au plus")
    if total > limits.taille:
        raise _problem(name, "archive_trop_grande", f"l'archive décompressée ferait {total / 1024 ** 2:.0f} Mo ; le service accepte "
                             f"{limits.taille / 1024 ** 2:.0f} Mo au plus")
    worst = max((i.file_size / max(i.compress_size, 1) for i in infos), default=0.0)
    if worst > limits.ratio and total > 1024 ** 2:
        raise _problem(name, "bombe_zip", f"l'archive est compressée {worst:.0f} fois (une « bombe zip ») ; elle est refusée")
    if packed and any(i.flag_bits & 0x1 for i in infos):
        raise _problem(name, "archive_chiffree", "l'archive est chiffrée ; envoyez-la sans mot de passe")
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
                raise _problem(name, "feuille_trop_grande", f"une feuille du classeur déclare {int(match.group(1))} lignes ; le service en "
                                     f"accepte {limits.lignes} au plus")


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
                raise _problem(name, "fichier_en_double", f"l'archive contient deux fichiers {base} ({seen[base.lower()]} et "
                                     f"{info.filename}) ; gardez un seul dossier d'instance")
            seen[base.lower()] = info.filename
            with archive.open(info) as src, (folder / base).open("wb") as dst:
                remaining = limits.taille
                while chunk := src.read(1 << 20):
                    remaining -= len(chunk)
                    if remaining < 0:  # the directory lied about the size
                        raise _problem(name, "bombe_zip", "l'archive est plus grande, décompressée, que ce qu'elle annonce ; "
                                             "elle est refusée")
                    dst.write(chunk)
    if not seen:
        raise _problem(name, "archive_sans_instance", "l'archive ne contient aucun fichier d'instance (instance.toml, patrimoine.csv, …)")
    return folder
