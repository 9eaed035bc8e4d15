"""The language of what people read: gettext catalogues in ``fluxopt/locale`` (French by default).

Messages are written in English in the code and translated by the catalogue of the current
language: ``langue=`` in the API, ``--langue`` on the command line, else the environment
variable ``FLUXOPT_LANGUE``, else ``fr``. Codes and data vocabulary (file and column names,
reason codes) never change with the language. ``docs/i18n.md`` gives the extraction recipe.
"""

from __future__ import annotations

import contextlib
import functools
import gettext as _gettext
import os
from contextvars import ContextVar
from pathlib import Path
from typing import Iterator

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
ENVIRONMENT = "FLUXOPT_LANGUE"
DOMAIN = "fluxopt"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

_current: ContextVar[str | None] = ContextVar("fluxopt_langue", default=None)


def resolve(langue: str | None = None) -> str:
    """The language to use: ``langue`` if given, else the one set by :func:`using` (the API's
    ``langue=``, the CLI's ``--langue``), else ``FLUXOPT_LANGUE``, else French. Raises ValueError
    for a language without a catalogue."""
    chosen = langue or _current.get() or os.environ.get(ENVIRONMENT) or DEFAULT_LANGUAGE
    chosen = chosen.strip().lower()
    if chosen not in LANGUAGES:
        raise ValueError(f"unknown language {chosen!r}: choose one of {', '.join(LANGUAGES)}")
    return chosen


@functools.cache
def translations(langue: str) -> _gettext.NullTranslations:
    """The catalogue of a language (English is the language of the code: its catalogue may be empty)."""
    return _gettext.translation(DOMAIN, LOCALE_DIR, languages=[langue], fallback=langue == "en")


def _(message: str) -> str:
    """``message`` in the current language."""
    return translations(resolve()).gettext(message)


def N_(message: str) -> str:
    """Mark a message for extraction without translating it now (translated later with :func:`_`)."""
    return message


@contextlib.contextmanager
def using(langue: str | None) -> Iterator[str]:
    """Within the block, messages are in ``langue`` (resolved as :func:`resolve` does)."""
    token = _current.set(resolve(langue))
    try:
        yield _current.get() or DEFAULT_LANGUAGE
    finally:
        _current.reset(token)


def number(value: float, digits: int = 2) -> str:
    """A number for people: French decimal comma and narrow spaces in French, as is in English."""
    text = f"{value:,.{digits}f}"
    if resolve() == "fr":
        text = text.replace(",", "\u202f").replace(".", ",")
    return text
