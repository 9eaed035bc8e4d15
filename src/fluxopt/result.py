"""What a solve returns (SPEC §5): the typed :class:`Result` and its :class:`Summary`.

Below everything that reads a result (explanations, workbook, writer, batch, CLI, API); above
the build, the stages and the result tables it is made from.
"""

from __future__ import annotations

import functools
import platform
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from fluxopt._version import __version__
from fluxopt.builder import Build
from fluxopt.flux import Baseline
from fluxopt.i18n import DEFAULT_LANGUAGE, resolve
from fluxopt.instance import Instance
from fluxopt.lp import LinearProgram
from fluxopt.policy import STAGES, Policy
from fluxopt.problems import Problem
from fluxopt.solution import Solution, SolverInfo, StageSolution, Termination
from fluxopt.tables import BAILLEURS_COLUMNS, CIL_COLUMNS, SEGMENTS_COLUMNS, SHARES_COLUMNS, lp_values, shape_tables

if TYPE_CHECKING:
    import pyomo.environ as pyo

#: Digits kept for the objectives (far below the stage tolerance).
OBJECTIVE_DIGITS = 9
#: Version of the output contract (summary.json, the CSV tables, ``solve --json``; see
#: docs/resultats.md): raised when a key or column is removed, renamed or changes meaning or
#: unit; new keys and columns do not raise it.
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class StageSummary:
    name: str
    status: str
    optimum: float | None
    raw_status: str


@dataclass(frozen=True)
class InstanceSummary:
    """The instance solved: ``source`` its file or folder name, ``chemin`` its absolute path when
    it was read from one (documents and the bilan find it there again), ``sha256`` its content."""

    nom: str
    territoire: str
    annee: int
    source: str
    sha256: str
    chemin: str = ""


@dataclass(frozen=True)
class PolicySummary:
    nom: str
    valeurs: dict[str, Any]


@dataclass(frozen=True)
class Options:
    solver: str
    time_limit: float | None


@dataclass(frozen=True)
class TargetAdjustment:
    """A target moved from stock equivalence (SPEC §4, targets version 2): ``regle`` is
    ``prefet_cible``, ``defaut_vers_prefet`` or ``report``; ``vers`` the préfet receiving a transfer."""

    bailleur: str
    reservataire: str
    regle: str
    avant: float
    apres: float
    vers: str
    logements: float


@dataclass(frozen=True)
class ModelSize:
    variables: int
    constraints: int
    segments: int
    active_pairs: int
    cil_epci: int


@dataclass(frozen=True)
class Versions:
    fluxopt: str
    pyomo: str
    highspy: str
    pandas: str
    python: str


@dataclass(frozen=True)
class Timings:
    """Seconds: loading the instance, building the LP, each stage; ``write`` once written."""

    load: float
    build: float
    solve: dict[str, float]
    write: float | None = None


@dataclass(frozen=True)
class Summary:
    """``summary.json``: status, objectives, instance, policy, options, warnings, model size,
    solver, versions and timings. :meth:`to_dict` gives the JSON document (``schema_version`` first)."""

    schema_version: int = field(default=SCHEMA_VERSION, init=False)
    status: str
    has_solution: bool
    objectifs: dict[str, float]
    stages: list[StageSummary]
    instance: InstanceSummary
    politique: PolicySummary
    options: Options
    warnings: list[Problem]
    ajustements: list[TargetAdjustment]
    model_size: ModelSize
    solver: SolverInfo
    versions: Versions
    timings: Timings

    def to_dict(self) -> dict[str, Any]:
        """The summary as plain JSON values, keys in a stable order (``timings.write`` only once set)."""
        out = asdict(self)
        if self.timings.write is None:
            del out["timings"]["write"]
        return out


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


@functools.cache
def versions() -> Versions:
    """The versions of fluxopt and of what it computes with (read from package metadata, so that
    nothing is imported for it)."""
    return Versions(__version__, _version("pyomo"), _version("highspy"), pd.__version__, platform.python_version())


def _path_of(source: str) -> str:
    """The absolute path of an instance read from a file or folder, else ''."""
    try:
        path = Path(source)
        return str(path.resolve()) if path.exists() else ""
    except (OSError, ValueError):
        return ""


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


@dataclass(frozen=True, eq=False)
class Result:
    """What a solve returns. The tables are empty when there is no solution (``status`` says why).

    ``objectives``: the optimum of each solved stage (and, for a stage not in ``objectif.ordre``,
    its value at the final solution). The inputs and the solved state stay reachable:
    ``instance``, ``policy``, ``baseline`` (flux base, targets), ``lp`` and ``solution``.
    """

    status: Termination
    objectives: dict[str, float]
    shares: pd.DataFrame
    segments: pd.DataFrame
    cil: pd.DataFrame
    bailleurs: pd.DataFrame
    summary: Summary
    solution: Solution
    lp: LinearProgram = field(repr=False)
    baseline: Baseline = field(repr=False)
    instance: Instance = field(repr=False)
    policy: Policy = field(repr=False)
    #: The language of what people read from this result (workbook, explication.md): ``fr`` or ``en``.
    langue: str = DEFAULT_LANGUAGE

    @property
    def has_solution(self) -> bool:
        return self.solution.has_solution

    @property
    def stages(self) -> tuple[StageSolution, ...]:
        return self.solution.stages

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The result tables by file stem: parts, segments, cil, bailleurs."""
        return {"parts": self.shares, "segments": self.segments, "cil": self.cil, "bailleurs": self.bailleurs}

    @functools.cached_property
    def model(self) -> "pyo.ConcreteModel":
        """The Pyomo model of the LP with the stages' fixing rows and the final values (built on first use)."""
        from fluxopt.model import build_model

        return build_model(self.lp, self.solution.fixed, self.solution.values)


def make_result(built: Build, solution: Solution, options: Options, langue: str | None = None) -> Result:
    """Shape a solution of ``built`` into the tables and the summary; ``langue`` as :func:`fluxopt.i18n.resolve`."""
    inst, base, lp, pol = built.instance, built.baseline, built.lp, built.policy
    values = solution.values
    if values is not None:
        tables = shape_tables(inst, base, pol, lp_values(lp, values))
        objectives = {s.name: s.optimum for s in solution.stages
                      if s.termination is Termination.OPTIMAL and s.optimum is not None}
        for name in STAGES:
            if name not in objectives:
                objectives[name] = lp.objective(name, values)
        objectives = {k: round(float(v), OBJECTIVE_DIGITS) + 0.0 for k, v in objectives.items()}
    else:
        tables = {"parts": _empty(SHARES_COLUMNS), "segments": _empty(SEGMENTS_COLUMNS),
                  "cil": _empty(CIL_COLUMNS), "bailleurs": _empty(BAILLEURS_COLUMNS)}
        objectives = {}
    summary = Summary(
        status=solution.termination.value,
        has_solution=solution.has_solution,
        objectifs=objectives,
        stages=[StageSummary(s.name, s.status, None if s.optimum is None else round(s.optimum, OBJECTIVE_DIGITS),
                             s.raw_status) for s in solution.stages],
        instance=InstanceSummary(inst.nom, inst.territoire, inst.annee, Path(inst.source).name, inst.sha256,
                                 _path_of(inst.source)),
        politique=PolicySummary(pol.name, pol.to_dict()),
        options=options,
        warnings=[*inst.warnings, *base.warnings],
        ajustements=[TargetAdjustment(r.bailleur, r.reservataire, r.regle, round(float(r.avant), 6),
                                      round(float(r.apres), 6), str(r.vers or ""), round(float(r.logements), 6))
                     for r in base.ajustements.itertuples(index=False)],
        model_size=ModelSize(lp.num_col, lp.num_row, len(base.segments), int(base.pairs["active"].sum()),
                             len(base.cil)),
        solver=solution.solver,
        versions=versions(),
        timings=Timings(round(inst.load_seconds, 4), round(built.seconds, 4),
                        {s.name: round(s.seconds, 4) for s in solution.stages}),
    )
    return Result(solution.termination, objectives, tables["parts"], tables["segments"], tables["cil"],
                  tables["bailleurs"], summary, solution, lp, base, inst, pol, resolve(langue))
