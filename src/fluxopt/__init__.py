"""fluxopt: stock-to-flux conversion of social housing reservation rights.

Public API::

    inst = fluxopt.load_instance("instances/exemple")
    res = fluxopt.solve(inst)
    res.shares  # pandas DataFrame, one row per (bailleur, réservataire)
"""

__version__ = "0.1.0"

from fluxopt.problems import InstanceError, PolicyError, Problem
from fluxopt.policy import Policy, load_policy
from fluxopt.instance import Instance, load_instance
from fluxopt.solve import Result, solve
from fluxopt.batch import solve_many

__all__ = [
    "Instance",
    "InstanceError",
    "Policy",
    "PolicyError",
    "Problem",
    "Result",
    "__version__",
    "load_instance",
    "load_policy",
    "solve",
    "solve_many",
]
