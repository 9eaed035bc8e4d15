"""The policies the service offers (``GET /api/v1/politiques``): names, values and the text each value cites.

The source of a value is the comment above its key in the policy file, or the comment that opens its
section (the policy files put each value's legal source there, see models/elan-2020.toml).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fluxopt.policy import available_policies, load_policy, policy_dirs

_SECTION = re.compile(r"^\[([A-Za-z0-9_.]+)\]\s*$")
_KEY = re.compile(r"^([A-Za-z0-9_]+)\s*=")


def comment_sources(text: str) -> dict[str, str]:
    """Dotted key -> the comment block above it (or, failing that, the block opening its section)."""
    sources: dict[str, str] = {}
    section, section_note, block = "", "", []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            block.append(stripped.lstrip("#").strip())
            continue
        if not stripped:
            if not section_note and section and block:
                section_note = " ".join(block)
            block = []
            continue
        match = _SECTION.match(stripped)
        if match:
            section, section_note, block = match.group(1), "", []
            continue
        match = _KEY.match(stripped)
        if match:
            note = " ".join(block) or section_note
            if block and not section_note:
                section_note = note
            key = f"{section}.{match.group(1)}" if section else match.group(1)
            sources[key] = note
            block = []
    return sources


def _file(name: str) -> Path | None:
    for folder in policy_dirs():
        path = folder / f"{name}.toml"
        if path.is_file():
            return path
    return None


def policies() -> list[dict[str, Any]]:
    """Each named policy: its values and, per key, the source its file cites."""
    out = []
    for name in available_policies():
        path = _file(name)
        notes = comment_sources(path.read_text(encoding="utf-8")) if path else {}
        values = load_policy(name).to_dict()
        out.append({"nom": name, "valeurs": [{"cle": key, "valeur": value, "source": notes.get(key, "")}
                                             for key, value in values.items()]})
    return out
