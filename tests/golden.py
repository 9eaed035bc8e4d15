"""Golden files of the bundled instances: `python tests/golden.py` rewrites them after a deliberate change."""

from __future__ import annotations

import json
from pathlib import Path

import fluxopt

ROOT = Path(__file__).resolve().parents[1]
INSTANCES = sorted(p for p in (ROOT / "instances").iterdir() if (p / "instance.toml").is_file())
GOLDEN = Path(__file__).resolve().parent / "golden"


def write(instance: Path) -> None:
    res = fluxopt.solve(instance)
    folder = GOLDEN / instance.name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "objectives.json").write_text(json.dumps(res.objectives, indent=2) + "\n", encoding="utf-8")
    res.shares.to_csv(folder / "parts.csv", index=False, lineterminator="\n")


if __name__ == "__main__":
    for path in INSTANCES:
        write(path)
        print(f"wrote golden files of {path.name}")
