"""`fluxopt validate INSTANCE`: every problem of an instance, or its one-line summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

from fluxopt.flux import policy_problems
from fluxopt.i18n import _
from fluxopt.instance import Instance, load_instance
from fluxopt.problems import InstanceError, Problem


def _sorted(problems: Iterable[Problem]) -> list[Problem]:
    """Problems grouped by file (in the order the files were first named), then by row."""
    problems = list(problems)
    order: dict[str, int] = {}
    for p in problems:
        order.setdefault(p.file, len(order))
    return sorted(problems, key=lambda p: (order[p.file], p.row if p.row is not None else 0))


def validate(source: str | Path | Mapping[str, Any]) -> tuple[list[Problem], Instance | None]:
    """Load an instance; return its problems (errors and warnings) and the instance, or None if it has errors."""
    try:
        instance = load_instance(source)
    except InstanceError as exc:
        return _sorted(exc.problems), None
    errors = policy_problems(instance, instance.policy)
    return _sorted([*instance.warnings, *errors]), None if errors else instance


def format_problems(problems: Iterable[Problem]) -> str:
    """One line per problem, then the count of errors and warnings."""
    problems = list(problems)
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    count = ", ".join([
        (_("{nombre} error") if errors == 1 else _("{nombre} errors")).format(nombre=errors),
        (_("{nombre} warning") if warnings == 1 else _("{nombre} warnings")).format(nombre=warnings),
    ])
    return "\n".join([*(str(p) for p in problems), count])


def report(source: str | Path | Mapping[str, Any]) -> tuple[str, int]:
    """What `fluxopt validate` prints and its exit code: 2 when there is any error, else 0.

    The text lists the problems (if any) and, for a valid instance, its one-line summary.
    """
    problems, instance = validate(source)
    lines = [format_problems(problems)] if problems else []
    if instance is not None:
        lines.append(instance.describe())
    return "\n".join(lines), 0 if instance is not None else 2
