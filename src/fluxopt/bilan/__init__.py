"""The annual bilan (CCH R441-5-1, SPEC §6) and the carry-over into next year's targets.

``fluxopt.bilan(result, realise, out=...)`` compares what happened in year N (``realise.csv``)
with the conventions of year N (a :class:`~fluxopt.result.Result` or the folder ``fluxopt solve``
wrote) and returns a :class:`Bilan`; with ``out`` it also writes the bilan folder. The package
module itself is callable, so that ``fluxopt.bilan(...)`` is the function while
``fluxopt.bilan.compute_bilan`` and the other names stay reachable.
"""

from __future__ import annotations

import datetime as dt
import sys
import types
from pathlib import Path
from typing import Any

from fluxopt.bilan.compute import Bilan, compute_bilan
from fluxopt.bilan.conventions import Conventions, load_conventions, with_instance
from fluxopt.bilan.realise import Realise, read_realise
from fluxopt.bilan.report import load_with_report
from fluxopt.bilan.write import write_bilan
from fluxopt.instance import Instance, load_instance
from fluxopt.problems import Problem
from fluxopt.result import Result

__all__ = ["Bilan", "Conventions", "Realise", "bilan", "compute_bilan", "load_conventions", "load_with_report",
           "read_realise", "write_bilan"]


def bilan(result: Result | str | Path, realise: str | Path, *, out: str | Path | None = None,
          date: dt.date | None = None, workbook: bool = True, instance: Instance | str | Path | None = None) -> Bilan:
    """The bilan of year N: ``result`` (a :class:`Result` or a result folder) holds the conventions,
    ``realise`` (a CSV file or an .xlsx workbook) what happened. With ``out``, writes bilan.json,
    the CSV tables, bilan.xlsx (unless ``workbook`` is false) and the letters there, atomically;
    ``date`` is the date printed on them (default: 31 January of year N+1). ``instance`` (the
    year-N instance, or its path) gives the names printed in the letters when ``result`` is a
    folder (a :class:`Result` carries its instance).

    Invalid input raises :class:`~fluxopt.problems.InstanceError` listing every problem.
    """
    conventions = load_conventions(result)
    warnings: list[Problem] = []
    if instance is not None:
        conventions, warnings = with_instance(conventions, instance if isinstance(instance, Instance)
                                              else load_instance(instance))
    computed = compute_bilan(conventions, read_realise(realise, conventions))
    computed.warnings[:0] = warnings
    if out is not None:
        write_bilan(computed, out, date=date, workbook=workbook)
    return computed


class _CallableModule(types.ModuleType):
    """This package, callable as :func:`bilan`."""

    def __call__(self, *args: Any, **kwargs: Any) -> Bilan:
        return bilan(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
