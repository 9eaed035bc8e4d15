"""fluxopt: stock-to-flux conversion of social housing reservation rights.

Public API::

    inst = fluxopt.load_instance("instances/exemple")
    res = fluxopt.solve(inst)
    res.shares  # pandas DataFrame, one row per (bailleur, réservataire)
    fluxopt.write_result(res, "resultats")  # what `fluxopt solve` writes
    fluxopt.bilan(res, "realise.csv", out="bilan")  # the annual bilan (R441-5-1) and report.csv

Names are imported on first use, so that ``import fluxopt`` (and the command line's
``--version`` and ``--help``) stay fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from fluxopt._version import __version__

#: Public name -> the module that defines it.
_EXPORTS = {
    "Problem": "fluxopt.problems",
    "InstanceError": "fluxopt.problems",
    "PolicyError": "fluxopt.problems",
    "UsageError": "fluxopt.problems",
    "ModelTooLarge": "fluxopt.problems",
    "TimeLimitReached": "fluxopt.problems",
    "OutputError": "fluxopt.write",
    "Policy": "fluxopt.policy",
    "load_policy": "fluxopt.policy",
    "Instance": "fluxopt.instance",
    "load_instance": "fluxopt.instance",
    "Build": "fluxopt.builder",
    "build": "fluxopt.builder",
    "Result": "fluxopt.result",
    "Summary": "fluxopt.result",
    "Solution": "fluxopt.solution",
    "Termination": "fluxopt.solution",
    "solve": "fluxopt.api",
    "explain": "fluxopt.explanations",
    "Explanation": "fluxopt.explanations",
    "Reason": "fluxopt.explanations",
    "write_result": "fluxopt.write",
    "write_workbook": "fluxopt.workbook",
    "solve_many": "fluxopt.batch",
    "bilan": "fluxopt.bilan",
    "Bilan": "fluxopt.bilan",
    "write_report": "fluxopt.documents.report",
    "write_annexes": "fluxopt.documents.annexes",
}

__all__ = [
    "__version__",
    "Problem",
    "InstanceError",
    "PolicyError",
    "UsageError",
    "ModelTooLarge",
    "TimeLimitReached",
    "OutputError",
    "Policy",
    "load_policy",
    "Instance",
    "load_instance",
    "Build",
    "build",
    "Result",
    "Summary",
    "Solution",
    "Termination",
    "solve",
    "explain",
    "Explanation",
    "Reason",
    "write_result",
    "write_workbook",
    "solve_many",
    "bilan",
    "Bilan",
    "write_report",
    "write_annexes",
]

if TYPE_CHECKING:
    from fluxopt.api import solve
    from fluxopt.batch import solve_many
    from fluxopt.bilan import Bilan, bilan
    from fluxopt.builder import Build, build
    from fluxopt.documents.annexes import write_annexes
    from fluxopt.documents.report import write_report
    from fluxopt.explanations import Explanation, Reason, explain
    from fluxopt.instance import Instance, load_instance
    from fluxopt.policy import Policy, load_policy
    from fluxopt.problems import InstanceError, ModelTooLarge, PolicyError, Problem, TimeLimitReached, UsageError
    from fluxopt.result import Result, Summary
    from fluxopt.solution import Solution, Termination
    from fluxopt.workbook import write_workbook
    from fluxopt.write import OutputError, write_result


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'fluxopt' has no attribute {name!r}")
    imported = importlib.import_module(module)
    # fluxopt.bilan is a package whose module is callable as the function bilan(): it is its own export.
    value = imported if module == f"fluxopt.{name}" else getattr(imported, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
