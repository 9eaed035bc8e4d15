"""Problems found in an instance or a policy, and the errors that carry them."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Iterable, Literal, Mapping

from fluxopt.i18n import _

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One problem of an instance: where it is and what is wrong, in plain words; ``code`` (a
    stable name such as ``perimetre_inconnu``) and ``params`` let a program act on it without
    reading the sentence (set where the problem is found; the codes are listed in docs/i18n.md).
    The message is in the language active when the problem was found (:mod:`fluxopt.i18n`)."""

    file: str
    row: int | None
    column: str | None
    message: str
    severity: Severity = "error"
    code: str | None = None
    params: Mapping[str, Any] | None = field(default=None, hash=False)

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += _(", row {ligne}").format(ligne=self.row)
        if self.column:
            where += _(", column '{colonne}'").format(colonne=self.column)
        severity = _("error") if self.severity == "error" else _("warning")
        return _("{gravite}: {lieu}: {message}").format(gravite=severity, lieu=where, message=self.message)

    @classmethod
    def coded(cls, file: str, row: int | None, column: str | None, code: str, message: str,
              params: Mapping[str, Any] | None = None, severity: Severity = "error", suffix: str = "") -> Problem:
        """A problem with its ``code`` and ``params``: ``message`` (already translated by ``_()``,
        with named placeholders) is filled with ``params``; ``suffix`` (e.g. :func:`closest`) follows."""
        params = dict(params or {})
        return cls(file, row, column, message.format(**params) + suffix, severity, code, params)

    def to_dict(self) -> dict:
        return {"file": self.file, "row": self.row, "column": self.column, "message": self.message,
                "severity": self.severity, "code": self.code,
                "params": None if self.params is None else dict(self.params)}


class InstanceError(ValueError):
    """An instance that cannot be solved; ``problems`` lists every error and warning found."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        head = _("{nombre} problem(s) in the instance:").format(nombre=len(errors))
        super().__init__("\n".join([head, *(str(p) for p in errors)]))


class PolicyError(InstanceError):
    """A policy file or an override that is not valid."""


def shown(value: object, limit: int = 60) -> str:
    """``repr(value)`` for a message: short, and safe for any value (huge integers, long texts)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"<a number of about {int(value.bit_length() * 0.30103)} digits>"
    try:
        text = repr(value)
    except Exception:  # a value whose repr fails
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else f"{text[:limit - 20]}... ({len(text)} characters)"


def closest(word: str, choices: Iterable[str]) -> str:
    """A ' (did you mean ...?)' suffix naming the closest choice, or ''."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return _(" (did you mean '{nom}'?)").format(nom=match[0]) if match else ""


class UsageError(ValueError):
    """A call that cannot be carried out as asked (an unknown solver, a bad option), whatever the data."""


class ModelTooLarge(UsageError):
    """An instance whose model would need more memory than the budget (``memory_limit``, or the
    memory available); the message gives the estimate and the budget."""


class TimeLimitReached(Exception):
    """The time limit passed before the model was built: there is no result to return
    (``fluxopt solve`` exits 4 and writes nothing). ``phase`` names where the build stopped."""

    def __init__(self, phase: str):
        self.phase = phase
        super().__init__(f"time limit reached while building the model ({phase}); nothing was solved")
