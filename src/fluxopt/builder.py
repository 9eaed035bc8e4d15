"""From an instance to its LP: the policy composed, the baseline computed, the LP built.

One :func:`build` serves ``solve`` and ``export-lp`` alike; it knows no solver and no file
but the instance it may load.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from fluxopt.flux import Baseline, compute_baseline
from fluxopt.instance import Instance, load_instance
from fluxopt.lp import LinearProgram, build_lp
from fluxopt.policy import Policy, resolve_policy

InstanceSource = Instance | str | Path | Mapping[str, Any]
PolicySource = str | Path | Policy


@dataclass(frozen=True, eq=False)
class Build:
    """An instance, the policy it is solved under, its baseline (flux base, targets) and its LP."""

    instance: Instance
    policy: Policy
    baseline: Baseline
    lp: LinearProgram
    seconds: float


def policy_for(instance: Instance, policy: PolicySource | None = None,
               overrides: Mapping[str, Any] | None = None) -> Policy:
    """The policy a solve of ``instance`` uses: ``policy`` (default: the instance's own) with the
    instance's ``[surcharges]``, then ``overrides``."""
    if policy is None:
        return resolve_policy(instance.policy, None, overrides)
    return resolve_policy(policy, instance.surcharges, overrides)


def build(instance: InstanceSource, *, policy: PolicySource | None = None,
          overrides: Mapping[str, Any] | None = None) -> Build:
    """Load ``instance`` if needed, compose its policy and build its LP (SPEC §4).

    Raises :class:`~fluxopt.problems.InstanceError` (or its subclass ``PolicyError``) on bad input.
    """
    inst = instance if isinstance(instance, Instance) else load_instance(instance)
    pol = policy_for(inst, policy, overrides)
    start = time.perf_counter()
    base = compute_baseline(inst, pol)
    lp = build_lp(base, pol)
    return Build(inst, pol, base, lp, time.perf_counter() - start)
