"""Shared helpers of the LP benchmarks (sparsity.py, settings.py): instances, the two formulations, a plain
highspy lexicographic solve.

The old formulation (implicit sums X and own, before branch ``lp-sparse``) is ``build_lp`` of
``src/fluxopt/lp.py`` at commit ``f8ea0af``, read with ``git show`` and imported as a module
``lp_old`` (it imports only ``fluxopt.flux`` and ``fluxopt.policy``, unchanged since): both
formulations are built from the same Baseline in the same process, so their times compare
within one run.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import highspy
import numpy as np

from fluxopt.flux import compute_baseline
from fluxopt.instance import load_instance
from fluxopt.solvers.highs import HighsBackend
from fluxopt.lp import LinearProgram, build_lp  # noqa: F401 (re-exported for the scripts)
from fluxopt.policy import Policy

REPO = Path(__file__).resolve().parents[1]
OLD_COMMIT = "f8ea0af"


def old_build_lp() -> Callable[..., LinearProgram]:
    """``build_lp`` as it was at OLD_COMMIT."""
    source = subprocess.run(["git", "-C", str(REPO), "show", f"{OLD_COMMIT}:src/fluxopt/lp.py"],
                            check=True, capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "lp_old.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("lp_old", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["lp_old"] = module
    spec.loader.exec_module(module)
    return module.build_lp


def instances(paths: list[Path]) -> list[Path]:
    """Instance folders: each path is one (it holds instance.toml) or holds some."""
    out = []
    for p in paths:
        out += [p] if (p / "instance.toml").is_file() else sorted(q for q in p.iterdir() if (q / "instance.toml").is_file())
    return out


def baseline(path: Path) -> tuple[Any, Policy]:
    inst = load_instance(path)
    policy = inst.policy
    return compute_baseline(inst, policy), policy


def merge(folders: list[Path], out: Path) -> Path:
    """One instance holding several départements (benchmarks/national.py's merge)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from national import merge as national_merge
    return national_merge(folders, out)


def new_highs(lp: LinearProgram, options: dict[str, Any] | None = None) -> highspy.Highs:
    """A Highs object holding the LP (zero costs), passed as fluxopt's HighsBackend passes it."""
    h = HighsBackend(lp).highs
    for k, v in (options or {}).items():
        h.setOptionValue(k, v)
    return h


@dataclass
class Run:
    optima: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # inside run()
    iterations: dict[str, int] = field(default_factory=dict)
    status: str = "optimal"


def lexicographic(lp: LinearProgram, policy: Policy, *, warm: bool = True,
                  options: dict[str, Any] | Callable[[str], dict[str, Any]] | None = None,
                  skip: Callable[[LinearProgram, str], float | None] | None = None) -> Run:
    """The stages of ``policy.ordre`` solved as fluxopt does (``warm``: one Highs object, costs
    replaced and a fixing row appended per stage) or cold (a new Highs object per stage with the
    fixing rows so far). ``options``: HiGHS options, global or per stage. ``skip(lp, stage)``
    returns a proven optimum to skip the stage (its fixing row is still added)."""
    per_stage = options if callable(options) else (lambda _s: options or {})
    run = Run()
    fixed: list[tuple[str, float]] = []
    h = None
    for stage in policy.ordre:
        known = skip(lp, stage) if skip else None
        if known is not None:
            run.optima[stage], run.seconds[stage], run.iterations[stage] = known, 0.0, 0
        else:
            if h is None or not warm:
                h = new_highs(lp)
                for k, bound in fixed:
                    cols, coefs = lp.fixing_row(k)
                    h.addRow(-highspy.kHighsInf, bound, len(cols), cols, coefs)
            h.resetOptions()  # then this stage's options only
            for k, v in {"output_flag": False, "threads": 1, **per_stage(stage)}.items():
                h.setOptionValue(k, v)
            h.changeColsCost(lp.num_col, np.arange(lp.num_col, dtype=np.int32), lp.costs[stage])
            t0 = time.perf_counter()
            h.run()
            run.seconds[stage] = time.perf_counter() - t0
            status = h.getModelStatus()
            info = h.getInfo()
            run.iterations[stage] = info.simplex_iteration_count + info.ipm_iteration_count + info.pdlp_iteration_count
            if status == highspy.HighsModelStatus.kModelEmpty:
                run.optima[stage] = 0.0
            elif status == highspy.HighsModelStatus.kOptimal:
                run.optima[stage] = info.objective_function_value
            else:
                run.status = h.modelStatusToString(status)
                return run
        v = run.optima[stage]
        bound = v + policy.tolerance * max(1.0, abs(v))
        fixed.append((stage, bound))
        if h is not None and warm:
            cols, coefs = lp.fixing_row(stage)
            h.addRow(-highspy.kHighsInf, bound, len(cols), cols, coefs)
    return run


def same(a: dict[str, float], b: dict[str, float], rel: float = 1e-6) -> bool:
    return a.keys() == b.keys() and all(abs(a[k] - b[k]) <= rel * max(1.0, abs(a[k])) for k in a)
