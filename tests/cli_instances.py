"""Small instances for the CLI and explanation tests, made from instances/exemple in a tmp folder."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXEMPLE = ROOT / "instances" / "exemple"
#: Overrides that make exemple infeasible in strict mode (90 % of Q1 outside QPV is out of reach).
STRICT_INFEASIBLE = ("cil.strict=true", "cil.part_q1_hors_qpv=0.9")


def bundled_instances() -> list[Path]:
    """Every bundled instance folder under instances/ (new ones are picked up when merged)."""
    return sorted(p for p in (ROOT / "instances").iterdir() if (p / "instance.toml").is_file())


def variant(tmp_path: Path, name: str, replacements: dict[str, list[tuple[str, str]]]) -> Path:
    """A copy of exemple with textual replacements per file: {"stock.csv": [(old_line, new_line)]}."""
    folder = tmp_path / name
    shutil.copytree(EXEMPLE, folder)
    for file, pairs in replacements.items():
        text = (folder / file).read_text(encoding="utf-8")
        for old, new in pairs:
            assert old in text, f"{old!r} not in {file}"
            text = text.replace(old, new)
        (folder / file).write_text(text, encoding="utf-8")
    return folder


def prefet_over_cap(tmp_path: Path) -> Path:
    """The préfet's former rights are worth 37.5 % of the flux: the 30 % cap binds."""
    return variant(tmp_path, "plafond", {"stock.csv": [
        ("B1,PREF,33063,non,100,,", "B1,PREF,33063,non,200,,"),
        ("B1,PREF,33281,non,80,,", "B1,PREF,33281,non,160,,"),
    ]})


def fractional(tmp_path: Path) -> Path:
    """Targets with fractions of dwellings (37 releases instead of 40 in commune 33281)."""
    return variant(tmp_path, "fractions", {"patrimoine.csv": [
        ("B1,33281,243300316,non,400,0,40,", "B1,33281,243300316,non,400,0,37,"),
    ]})


def broken(tmp_path: Path) -> Path:
    """Two errors: a non-numeric count of releases and a réservataire that does not exist."""
    return variant(tmp_path, "casse", {
        "patrimoine.csv": [("B1,33281,243300316,non,400,0,40,", "B1,33281,243300316,non,400,0,quarante,")],
        "stock.csv": [("B1,AL,33281,non,160,,", "B1,ALS,33281,non,160,,")],
    })
