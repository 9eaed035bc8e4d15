"""Shared helpers: write tiny instances as CSV folders.

The tests written before the French catalogue read English sentences: the suite runs with
``FLUXOPT_LANGUE=en``; the tests of the French default (tests/test_i18n.py) remove it.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import pytest

os.environ["FLUXOPT_LANGUE"] = "en"
ROOT = Path(__file__).resolve().parents[1]
EPCI = "200000001"


HEADERS = {
    "stock": ["bailleur", "reservataire", "commune", "qpv", "logements_reserves"],
    "cil": ["epci"],
}


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    columns: list[str] = list(HEADERS.get(path.stem, []))
    for row in rows:
        columns += [c for c in row if c not in columns]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, columns)
        writer.writeheader()
        writer.writerows(rows)


def write_instance(
    folder: Path,
    patrimoine: list[dict[str, Any]],
    reservataires: list[dict[str, Any]],
    stock: list[dict[str, Any]],
    *,
    cil: list[dict[str, Any]] | None = None,
    bailleurs: list[dict[str, Any]] | None = None,
    annee: int = 2025,
    surcharges: str = "",
) -> Path:
    """Write an instance folder; ``surcharges`` is TOML text for the [surcharges] table."""
    folder.mkdir(parents=True, exist_ok=True)
    meta = f'nom = "test"\nterritoire = "99"\nannee = {annee}\npolitique = "elan-2020"\n'
    if surcharges:
        meta += f"[surcharges]\n{surcharges}\n"
    (folder / "instance.toml").write_text(meta, encoding="utf-8")
    _write_csv(folder / "patrimoine.csv", patrimoine)
    _write_csv(folder / "reservataires.csv", reservataires)
    _write_csv(folder / "stock.csv", stock)
    if cil is not None:
        _write_csv(folder / "cil.csv", cil)
    if bailleurs is not None:
        _write_csv(folder / "bailleurs.csv", bailleurs)
    return folder


def segment(commune: str, qpv: bool, logements: int, liberations: float, *, bailleur: str = "B1",
            epci: str = EPCI, **extra: Any) -> dict[str, Any]:
    return {"bailleur": bailleur, "commune": commune, "epci": epci, "qpv": int(qpv), "logements": logements,
            "liberations": liberations, **extra}


def right(reservataire: str, commune: str, qpv: bool, reserves: int, *, bailleur: str = "B1",
          **extra: Any) -> dict[str, Any]:
    return {"bailleur": bailleur, "reservataire": reservataire, "commune": commune, "qpv": int(qpv),
            "logements_reserves": reserves, **extra}


@pytest.fixture
def make_instance(tmp_path: Path):
    """A factory writing instances under tmp_path (each call a new folder)."""
    count = iter(range(1000))

    def make(*args: Any, **kwargs: Any) -> Path:
        return write_instance(tmp_path / f"inst{next(count)}", *args, **kwargs)

    return make


@pytest.fixture(scope="session")
def service():
    """A `fluxopt serve` subprocess (2 workers, 2 MB bodies, 400 segments at most): its base URL."""
    from service_support import serve

    with serve("--workers", "2", "--max-taille", "2MB", "--max-segments", "400") as (url, _):
        yield url


@pytest.fixture(scope="session")
def small_service():
    """A `fluxopt serve` with one worker, a queue of one, a token, jobs kept 2 s, /resoudre up to 100
    segments: its base URL and process."""
    from service_support import serve

    with serve("--workers", "1", "--file-attente", "1", "--jeton", "secret", "--duree-vie", "2",
               "--max-segments-synchrone", "100") as server:
        yield server
