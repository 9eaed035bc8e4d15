"""The service's settings: command-line options of ``fluxopt serve``, or ``FLUXOPT_*`` environment variables."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)[oObB]?\s*$")
_UNITS = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}


def parse_size(text: str) -> int:
    """``20MB``, ``512k``, ``1000`` as a number of bytes; ValueError otherwise."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a size such as 20MB, 512kB or 1000")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


@dataclass(frozen=True)
class Settings:
    """How the service runs. Sizes in bytes, durations in seconds."""

    #: Solves (and validations) running at once, each in its own worker process.
    workers: int = 2
    #: Requests waiting for a worker beyond which the service answers 503.
    file_attente: int = 32
    #: Largest request body (413 beyond).
    max_taille: int = 20 * 1024 ** 2
    #: Bearer token required on /api when set.
    jeton: str | None = None
    #: Segments and rights beyond which an instance is refused (422).
    max_segments: int = 200_000
    max_droits: int = 1_000_000
    #: Segments beyond which /resoudre refuses (use /travaux).
    max_segments_synchrone: int = 5_000
    #: Default and largest solver time limit of a request.
    temps_defaut: float = 120.0
    temps_max: float = 900.0
    #: Seconds given on top of the solver's time limit for reading, building and writing.
    marge: float = 60.0
    #: Seconds a finished job and its files are kept.
    duree_vie: float = 3600.0
    #: Folder of the jobs (a new temporary folder when None).
    dossier: Path | None = None
    #: Worker processes start from a fork server that has imported fluxopt once.
    preload: tuple[str, ...] = field(default=("fluxopt.service.worker", "fluxopt.service.prechauffe"))

    @classmethod
    def from_env(cls) -> "Settings":
        """Settings from ``FLUXOPT_WORKERS``, ``FLUXOPT_MAX_TAILLE``, ``FLUXOPT_JETON``, ``FLUXOPT_FILE_ATTENTE``,
        ``FLUXOPT_DUREE_VIE`` and ``FLUXOPT_DOSSIER`` (defaults otherwise)."""
        env = os.environ
        values: dict = {}
        if env.get("FLUXOPT_WORKERS"):
            values["workers"] = int(env["FLUXOPT_WORKERS"])
        if env.get("FLUXOPT_FILE_ATTENTE"):
            values["file_attente"] = int(env["FLUXOPT_FILE_ATTENTE"])
        if env.get("FLUXOPT_MAX_TAILLE"):
            values["max_taille"] = parse_size(env["FLUXOPT_MAX_TAILLE"])
        if env.get("FLUXOPT_JETON"):
            values["jeton"] = env["FLUXOPT_JETON"]
        if env.get("FLUXOPT_DUREE_VIE"):
            values["duree_vie"] = float(env["FLUXOPT_DUREE_VIE"])
        if env.get("FLUXOPT_DOSSIER"):
            values["dossier"] = Path(env["FLUXOPT_DOSSIER"])
        return cls(**values)
