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
    if instance.name == "exemple":
        for name, text in annex_texts(res).items():
            (folder / "annexes").mkdir(exist_ok=True)
            (folder / "annexes" / name).write_text(text, encoding="utf-8")


def annex_texts(res: fluxopt.Result) -> dict[str, str]:
    """The annexes' French text (the template's markup) per convention: ``<bailleur>-<reservataire>.txt``."""
    from fluxopt.documents.annexes import render_annex
    from fluxopt.documents.content import AnnexBuilder
    from fluxopt.documents.dossier import load_dossier

    builder = AnnexBuilder(load_dossier(res))
    return {f"{p['bailleur']}-{p['reservataire']}.txt": render_annex(builder, p) for p in res.shares.to_dict("records")}


if __name__ == "__main__":
    for path in INSTANCES:
        write(path)
        print(f"wrote golden files of {path.name}")
