"""Compare two result folders: shares per (bailleur, réservataire) pair and stage objectives."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from fluxopt.policy import STAGES

PAIR_KEYS = ["bailleur", "reservataire"]
PAIR_COLUMNS = [
    "bailleur", "reservataire", "type", "flux_pct_a", "flux_pct_b", "delta_flux_pct",
    "logements_a", "logements_b", "delta_logements",
]
OBJECTIVE_COLUMNS = ["objectif", "a", "b", "delta"]


@dataclass(frozen=True)
class Comparison:
    """B minus A: ``pairs`` sorted by the size of the change, ``objectives`` by stage."""

    a: Path
    b: Path
    pairs: pd.DataFrame
    objectives: pd.DataFrame
    #: Sentences when A and B are not results of the same instance (its name or SHA-256 differ).
    warnings: tuple[str, ...] = ()


def _instance(folder: Path) -> dict:
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    found = summary.get("instance") if isinstance(summary, dict) else None
    return found if isinstance(found, dict) else {}


def _instance_warnings(a: Path, b: Path) -> tuple[str, ...]:
    ia, ib = _instance(a), _instance(b)
    warnings = []
    if ia.get("nom") != ib.get("nom"):
        warnings.append(f"A and B are results of different instances: '{ia.get('nom')}' and '{ib.get('nom')}'")
    elif ia.get("sha256") != ib.get("sha256"):
        warnings.append(f"A and B are results of different data for '{ia.get('nom')}' (the input's SHA-256 differs: "
                        f"{str(ia.get('sha256'))[:12]}… and {str(ib.get('sha256'))[:12]}…); the differences mix "
                        "data and policy")
    return tuple(warnings)


def _read(folder: Path) -> tuple[pd.DataFrame, dict[str, float]]:
    summary_path = folder / "summary.json"
    if not summary_path.is_file():
        raise FileNotFoundError(f"{folder}: not a result folder (no summary.json)")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    parts_path = folder / "parts.csv"
    if parts_path.is_file():
        parts = pd.read_csv(parts_path, dtype={"bailleur": str, "reservataire": str})
    else:  # a result without solution: no pair holds any flux
        parts = pd.DataFrame(columns=[*PAIR_KEYS, "type", "flux_pct", "logements"])
    return parts[[*PAIR_KEYS, "type", "flux_pct", "logements"]], summary.get("objectifs") or {}


def compare_results(a: str | Path, b: str | Path) -> Comparison:
    """Per pair, B − A of ``flux_pct`` and of dwellings (a pair missing on one side holds 0 there),
    largest absolute change of dwellings first; per stage, B − A of the objective."""
    a, b = Path(a), Path(b)
    parts_a, obj_a = _read(a)
    parts_b, obj_b = _read(b)
    both = parts_a.merge(parts_b, on=PAIR_KEYS, how="outer", suffixes=("_a", "_b"))
    both["type"] = both["type_a"].fillna(both["type_b"])
    for col in ("flux_pct", "logements"):
        both[f"delta_{col}"] = (both[f"{col}_b"].fillna(0.0) - both[f"{col}_a"].fillna(0.0)).round(6) + 0.0
    both["_size"] = -both["delta_logements"].abs()
    both["_pct"] = -both["delta_flux_pct"].abs()
    pairs = both.sort_values(["_size", "_pct", *PAIR_KEYS], kind="stable")[PAIR_COLUMNS].reset_index(drop=True)

    names = [s for s in STAGES if s in obj_a or s in obj_b]
    rows = []
    for name in names:
        va, vb = obj_a.get(name), obj_b.get(name)
        delta = None if va is None or vb is None else round(vb - va, 9) + 0.0
        rows.append((name, va, vb, delta))
    objectives = pd.DataFrame(rows, columns=OBJECTIVE_COLUMNS)
    return Comparison(a, b, pairs, objectives, _instance_warnings(a, b))


def format_comparison(comp: Comparison, top: int | None = 20) -> str:
    """A terminal report: the objectives, then the ``top`` largest changes per pair (None: all)."""
    lines = [f"A: {comp.a}", f"B: {comp.b}", *(f"warning: {w}" for w in comp.warnings), "",
             "Stage objectives (B - A):"]
    lines.append(comp.objectives.to_string(index=False, na_rep="-", float_format=lambda v: f"{v:.6g}"))
    changed = comp.pairs[(comp.pairs["delta_logements"] != 0) | (comp.pairs["delta_flux_pct"] != 0)]
    shown = changed if top is None else changed.head(top)
    lines += ["", f"Pairs (B - A): {len(changed)} of {len(comp.pairs)} changed"
              + (f", the {len(shown)} largest:" if len(shown) < len(changed) else ":")]
    if len(shown):
        lines.append(shown.to_string(index=False, na_rep="-", float_format=lambda v: f"{v:.3f}"))
    return "\n".join(lines)


def write_comparison(comp: Comparison, csv: str | Path) -> list[Path]:
    """The pair table to ``csv``, the objectives next to it (``<stem>-objectifs.csv``)."""
    path = Path(csv)
    path.parent.mkdir(parents=True, exist_ok=True)
    comp.pairs.to_csv(path, index=False, lineterminator="\n")
    objectives = path.with_name(f"{path.stem}-objectifs.csv")
    comp.objectives.to_csv(objectives, index=False, lineterminator="\n")
    return [path, objectives]
