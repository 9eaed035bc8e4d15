"""The language of a request: the ``langue`` option, else ``Accept-Language``, else French."""

from __future__ import annotations

from typing import Any

#: The languages of the service's answers, the default first.
LANGUES = ("fr", "en")


def accepted_languages(header: str) -> list[str]:
    """The primary tags of an ``Accept-Language`` header, most wanted first (``q=0`` left out)."""
    ranked: list[tuple[float, int, str]] = []
    for rank, part in enumerate(header.split(",")):
        tag, *options = (piece.strip() for piece in part.split(";"))
        weight = 1.0
        for option in options:
            if option.startswith("q="):
                try:
                    weight = float(option[2:])
                except ValueError:
                    weight = 0.0
        if tag and weight > 0:
            ranked.append((-weight, rank, tag.split("-")[0].lower()))
    return [tag for _, _, tag in sorted(ranked)]


def request_language(langue: Any, accept_language: str | None) -> str:
    """``langue`` if fluxopt has it, else the first language of ``Accept-Language`` it has, else French."""
    for candidate in [langue, *accepted_languages(accept_language or "")]:
        if isinstance(candidate, str) and candidate.strip().lower() in LANGUES:
            return candidate.strip().lower()
    return LANGUES[0]
