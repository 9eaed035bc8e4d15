"""From an instance to its LP: the policy composed, the baseline computed, the LP built.

One :func:`build` serves ``solve`` and ``export-lp`` alike; it knows no solver and no file
but the instance it may load.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from fluxopt.flux import Baseline, compute_baseline
from fluxopt.instance import Instance, load_instance
from fluxopt.lp import SECONDS_PER_NONZERO, LinearProgram, SizeEstimate, build_lp, estimate_size
from fluxopt.policy import Policy, resolve_policy
from fluxopt.i18n import _
from fluxopt.problems import ModelTooLarge, TimeLimitReached, UsageError

#: Share of the available memory a model may take when no ``memory_limit`` is given.
MEMORY_SHARE = 0.8

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
    #: How much slower than :data:`~fluxopt.lp.SECONDS_PER_NONZERO` the end of the build ran on this
    #: machine now (at least 1): the stages scale their predictions of the solver's start by it.
    slowness: float = 1.0


def policy_for(instance: Instance, policy: PolicySource | None = None,
               overrides: Mapping[str, Any] | None = None) -> Policy:
    """The policy a solve of ``instance`` uses: ``policy`` (default: the instance's own) with the
    instance's ``[surcharges]``, then ``overrides``."""
    if policy is None:
        return resolve_policy(instance.policy, None, overrides)
    return resolve_policy(policy, instance.surcharges, overrides)


def available_memory() -> int | None:
    """Bytes of memory available to a new model (Linux: MemAvailable; elsewhere: free pages), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def memory_budget(memory_limit: float | None = None) -> int | None:
    """The memory budget in bytes: ``memory_limit`` GiB, else :data:`MEMORY_SHARE` of the available memory."""
    if memory_limit is not None:
        if isinstance(memory_limit, bool) or not isinstance(memory_limit, (int, float)) \
                or not math.isfinite(memory_limit) or memory_limit <= 0:
            raise UsageError(_("memory_limit must be a positive number of GiB, not {valeur}").format(valeur=f"{memory_limit!r:.40}"))
        return int(memory_limit * 2**30)
    available = available_memory()
    return None if available is None else int(MEMORY_SHARE * available)


def check_memory(inst: Instance, memory_limit: float | None = None) -> SizeEstimate:
    """Estimate the model of ``inst`` before building it; :class:`~fluxopt.problems.ModelTooLarge` when it
    would not fit in the budget (:func:`memory_budget`)."""
    estimate = estimate_size(inst)
    budget = memory_budget(memory_limit)
    if budget is not None and estimate.bytes > budget:
        source = "--memory-limit" if memory_limit is not None else f"{MEMORY_SHARE:.0%} of the memory available"
        raise ModelTooLarge(
            f"the model of '{inst.nom}' would need about {estimate.bytes / 2**30:.1f} GiB "
            f"({estimate.x:,} share variables x, {estimate.nonzeros:,} non-zeros), more than the budget of "
            f"{budget / 2**30:.1f} GiB ({source}); split the instance (by bailleur, or by groups of "
            "réservataires), narrow the réservataires' perimeters, or raise --memory-limit on a larger machine")
    return estimate


def build(instance: InstanceSource, *, policy: PolicySource | None = None,
          overrides: Mapping[str, Any] | None = None, deadline: float | None = None,
          memory_limit: float | None = None) -> Build:
    """Load ``instance`` if needed, compose its policy and build its LP (SPEC §4).

    ``deadline`` (a :func:`time.monotonic` value): checked between the phases of the build;
    :class:`~fluxopt.problems.TimeLimitReached` once it has passed. Before building, the model's
    size is estimated from the instance and :class:`~fluxopt.problems.ModelTooLarge` raised when it
    would exceed ``memory_limit`` GiB (default: a share of the memory available).

    Raises :class:`~fluxopt.problems.InstanceError` (or its subclass ``PolicyError``) on bad input.
    """

    def check(phase: str) -> None:
        if deadline is not None and time.monotonic() > deadline:
            raise TimeLimitReached(f"after {phase}")

    inst = instance if isinstance(instance, Instance) else load_instance(instance)
    check("loaded")
    pol = policy_for(inst, policy, overrides)
    estimate = check_memory(inst, memory_limit)
    start = time.perf_counter()
    base = compute_baseline(inst, pol)
    check("baseline")
    tail_start = time.perf_counter()
    if deadline is not None:  # the end of the build cannot be interrupted: do not start what cannot end in time
        needed = estimate.nonzeros * sum(SECONDS_PER_NONZERO.values())
        if time.monotonic() + needed > deadline:
            raise TimeLimitReached(f"building it and starting the solver would take about {needed:.0f} s, more than the "
                                   f"{max(deadline - time.monotonic(), 0):.0f} s left")
    lp = build_lp(base, pol, check)
    tail = time.perf_counter() - tail_start
    predicted = len(lp.value) * SECONDS_PER_NONZERO["build"]
    slowness = max(1.0, tail / predicted) if predicted > 0.5 else 1.0  # measured on large models only
    return Build(inst, pol, base, lp, time.perf_counter() - start, slowness)
