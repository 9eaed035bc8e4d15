"""Many instances and scenarios at once: worker processes (or a Dask cluster) and one comparison table.

Each job loads, solves and writes one (instance, scenario) in a worker and sends back one small
row; Pyomo models never cross process boundaries. A failing job is a row, never an exception.
"""

from __future__ import annotations

import json
import os
import sys
import time
import tomllib
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Literal, Mapping

import pandas as pd

from fluxopt._version import __version__
from fluxopt.i18n import _
from fluxopt.policy import PREFET_TYPES, STAGES, check_values, flatten
from fluxopt.problems import InstanceError, PolicyError, Problem

#: The output contract's version (fluxopt.result.SCHEMA_VERSION; result is imported lazily here).
SCHEMA_VERSION = 1

if TYPE_CHECKING:
    from fluxopt.result import Result

#: The scenario of an instance's own policy; always run, first.
BASE = "base"
#: Columns of comparaison.csv, in order (objective columns are named objectif_<stage>).
COLUMNS = [
    "instance", "scenario", "status", "message", "nom", "territoire", "flux_base", "paires",
    "ecart_relatif_max", "ecart_relatif_moyen", "deficit_cil", "prefet_pct", "part_propre_pct",
    *(f"objectif_{s}" for s in STAGES),
    "temps_chargement", "temps_construction", "temps_resolution", "temps_solveur", "temps_ecriture", "temps_total",
    "memoire_max_mib", "dossier",
]
#: Statuses of a job that did not give a solution: invalid input or an unexpected failure.
FAILED = ("invalid", "error")

Executor = Literal["process", "dask"]


@dataclass(frozen=True)
class Job:
    """One (instance, scenario) to solve; everything a worker needs, and picklable."""

    index: tuple[int, int]
    instance: str
    label: str
    scenario: str
    overrides: Mapping[str, Any] = field(default_factory=dict)
    folder: str | None = None
    solver: str = "highs"
    time_limit: float | None = None


def load_scenarios(source: str | Path | Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Named policy overrides from a TOML file (or its parsed content), validated like a policy.

    ``[scenarios.stock] "equivalence.methode" = "stock"`` and nested tables
    (``[scenarios.stock] equivalence.methode = "stock"``) are the same scenario. The ``base``
    scenario (no overrides) comes first unless the file defines it. Raises :class:`PolicyError`.
    """
    name = Path(source).name if isinstance(source, (str, Path)) else "scenarios"
    if isinstance(source, (str, Path)):
        try:
            tree = tomllib.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise PolicyError([Problem.coded(name, None, None, "scenarios_illisibles",
                                             _("cannot read the scenario file: {erreur}"),
                                             {"erreur": str(exc)})]) from None
    else:
        tree = dict(source)
    problems = [Problem.coded(name, None, key, "cle_scenarios_inconnue",
                              _("unknown top-level key '{cle}': scenarios go in [scenarios.NAME] tables"), {"cle": key})
                for key in tree if key != "scenarios"]
    table = tree.get("scenarios", {})
    if not isinstance(table, Mapping) or not table:
        problems.append(Problem.coded(name, None, "scenarios", "scenario_manquant",
                                      _("no scenario: write at least one [scenarios.NAME] table")))
        raise PolicyError(problems)
    scenarios: dict[str, dict[str, Any]] = {BASE: {}}
    for scenario, overrides in table.items():
        if not isinstance(overrides, Mapping):
            problems.append(Problem.coded(name, None, scenario, "scenario_invalide",
                                          _("scenario '{scenario}' must be a table of policy keys"),
                                          {"scenario": scenario}))
            continue
        flat = flatten(overrides)
        problems += check_values(flat, f"{name} [scenarios.{scenario}]")
        scenarios[scenario] = flat
    if problems:
        raise PolicyError(problems)
    return scenarios


def _labels(paths: list[Path]) -> list[str]:
    """A distinct folder name per instance: its stem, suffixed -2, -3... when stems repeat."""
    seen: dict[str, int] = {}
    labels = []
    for p in paths:
        stem = p.stem if p.is_file() else p.name
        seen[stem] = seen.get(stem, 0) + 1
        labels.append(stem if seen[stem] == 1 else f"{stem}-{seen[stem]}")
    return labels


def _input_size(path: Path) -> int:
    """Bytes of an instance on disk: the order in which jobs are sent (largest first)."""
    if path.is_dir():
        return sum(f.stat().st_size for f in path.iterdir() if f.is_file())
    return path.stat().st_size if path.exists() else 0


def make_jobs(
    instances: Iterable[str | Path],
    scenarios: Mapping[str, Mapping[str, Any]] | None,
    out: Path | None,
    *,
    solver: str = "highs",
    time_limit: float | None = None,
) -> list[Job]:
    """One job per instance and scenario, in table order; folders ``out/<instance>[/<scenario>]``."""
    paths = [Path(p) for p in instances]
    named = scenarios or {BASE: {}}
    jobs = []
    for i, (path, label) in enumerate(zip(paths, _labels(paths))):
        for j, (scenario, overrides) in enumerate(named.items()):
            folder = None
            if out is not None:
                folder = str(out / label / scenario if scenarios else out / label)
            jobs.append(Job((i, j), str(path), label, scenario, dict(overrides), folder, solver, time_limit))
    return jobs


def _peak_mib() -> float:
    """Peak resident memory of this process so far (ru_maxrss is in KiB on Linux, bytes on macOS)."""
    import resource  # Unix only: imported when a batch measures its memory

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(rss / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def _write_failure(folder: str | None, row: dict[str, Any], problems: list[Problem]) -> None:
    if folder is None:
        return
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    content = {"schema_version": SCHEMA_VERSION, "status": row["status"], "message": row["message"],
               "problems": [p.to_dict() for p in problems], "versions": {"fluxopt": __version__}}
    (path / "summary.json").write_text(json.dumps(content, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _result_row(result: "Result") -> dict[str, Any]:
    """The comparison figures of a solved Result."""
    timings = result.summary.timings
    row: dict[str, Any] = {
        "status": result.status.value,
        "nom": result.instance.nom,
        "territoire": result.instance.territoire,
        "temps_chargement": timings.load,
        "temps_construction": timings.build,
        "temps_resolution": round(sum(timings.solve.values()), 4),
    }
    if result.stages:
        row["temps_solveur"] = round(sum(s.solver_seconds for s in result.stages), 4)
    row.update({f"objectif_{s}": v for s, v in result.objectives.items()})
    if not result.has_solution:
        return row
    shares, bailleurs, cil = result.shares, result.bailleurs, result.cil
    flux = float(bailleurs["flux_base"].sum())
    gap = shares["ecart_relatif"].abs()
    prefet = float(shares.loc[shares["type"].isin(PREFET_TYPES), "logements"].sum())
    row.update({
        "flux_base": round(flux, 6),
        "paires": len(shares),
        "ecart_relatif_max": round(float(gap.max()), 6) if len(gap) else 0.0,
        "ecart_relatif_moyen": round(float(gap.mean()), 6) if len(gap) else 0.0,
        "deficit_cil": round(float(cil["deficit"].sum()), 6) if len(cil) else 0.0,
        "prefet_pct": round(100 * prefet / flux, 6) if flux else 0.0,
        "part_propre_pct": round(100 * float(bailleurs["part_propre"].sum()) / flux, 6) if flux else 0.0,
    })
    return row


def run_job(job: Job) -> dict[str, Any]:
    """Load, solve and write one job; return its comparison row. Never raises."""
    from fluxopt.api import solve
    from fluxopt.write import write_result

    start = time.perf_counter()
    row: dict[str, Any] = {"instance": job.label, "scenario": job.scenario, "dossier": job.folder}
    problems: list[Problem] = []
    try:
        result = solve(job.instance, overrides=job.overrides or None, solver=job.solver, time_limit=job.time_limit)
        row.update(_result_row(result))
        if job.folder is not None:
            t0 = time.perf_counter()
            write_result(result, job.folder, workbook=False, explanation=False)
            row["temps_ecriture"] = round(time.perf_counter() - t0, 4)
        if result.status != "optimal":
            row["message"] = f"the solver stopped with status '{result.status.value}'"
    except InstanceError as exc:
        problems = exc.problems
        errors = [str(p) for p in problems if p.severity == "error"] or [str(exc)]
        row.update(status="invalid", message=" | ".join(errors))
    except Exception as exc:  # one failing job must not stop the others
        frames = traceback.extract_tb(exc.__traceback__)
        ours = [f for f in frames if f"{os.sep}fluxopt{os.sep}" in f.filename] or frames
        where = f" (in {Path(ours[-1].filename).name}:{ours[-1].lineno})" if ours else ""
        row.update(status="error", message=f"{type(exc).__name__}: {exc}{where}")
    if row["status"] in FAILED:
        _write_failure(job.folder, row, problems)
    row["temps_total"] = round(time.perf_counter() - start, 4)
    row["memoire_max_mib"] = _peak_mib()
    return row


class Progress:
    """A one-line progress bar on stderr: ``[#####-----] 5/10 name``."""

    def __init__(self, total: int, enabled: bool, width: int = 30):
        self.total, self.enabled, self.width, self.done = total, enabled, width, 0
        self.failed = 0

    def update(self, row: Mapping[str, Any]) -> None:
        self.done += 1
        self.failed += row["status"] != "optimal"
        if not self.enabled:
            return
        filled = self.width * self.done // max(self.total, 1)
        failed = f", {self.failed} failed" if self.failed else ""
        line = f"\r[{'#' * filled}{'-' * (self.width - filled)}] {self.done}/{self.total}{failed} {row['instance']}"
        if row["scenario"] != BASE:
            line += f"/{row['scenario']}"
        sys.stderr.write(line[:120].ljust(80))
        if self.done == self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _died(job: Job) -> dict[str, Any]:
    return {"instance": job.label, "scenario": job.scenario, "dossier": job.folder, "status": "error",
            "message": "the worker process died (out of memory or killed) before finishing this job"}


def _run_processes(jobs: list[Job], workers: int) -> Iterator[dict[str, Any]]:
    # What every job imports, imported once here: forked workers inherit it instead of each importing it.
    import fluxopt.api  # noqa: F401
    import fluxopt.write  # noqa: F401

    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(run_job, job): job for job in jobs}
        for future in as_completed(futures):
            try:
                yield future.result()
            except BrokenProcessPool:
                yield _died(futures[future])


def _run_dask(jobs: list[Job], scheduler: str | None, workers: int) -> Iterator[dict[str, Any]]:
    try:
        from dask.distributed import Client, LocalCluster, as_completed as dask_completed
    except ImportError:  # pragma: no cover - depends on the installation
        raise RuntimeError("the Dask executor needs the 'dask' extra: pip install 'fluxopt-logement[dask]'") from None
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(scheduler if scheduler is not None else cluster)
    try:
        futures = client.map(run_job, jobs, pure=False)
        for future in dask_completed(futures):
            yield future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def write_table(table: pd.DataFrame, out: Path) -> None:
    """comparaison.csv and comparaison.xlsx in ``out``: a missing value (a figure that a failed
    job does not have) is an empty cell in both, never 'nan', 'None' or '-'."""
    from fluxopt.sheets import write_table_workbook

    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "comparaison.csv", index=False, lineterminator="\n", na_rep="")
    write_table_workbook(table, out / "comparaison.xlsx", "comparaison")


def solve_many(
    instances: Iterable[str | Path],
    *,
    scenarios: str | Path | Mapping[str, Mapping[str, Any]] | None = None,
    jobs: int | None = None,
    executor: Executor = "process",
    scheduler: str | None = None,
    out: str | Path | None = None,
    progress: bool | None = None,
    solver: str = "highs",
    time_limit: float | None = None,
) -> pd.DataFrame:
    """Solve every instance under every scenario in parallel and return the comparison table.

    ``scenarios``: a TOML file or ``{name: {dotted key: value}}`` (validated before any work).
    ``jobs``: worker processes (default: the cores); with ``executor="dask"``, ``scheduler`` is
    a Dask scheduler address (``tcp://host:8786``), or None for a local cluster of ``jobs`` workers.
    ``out``: one result folder per instance (and scenario), plus comparaison.csv/.xlsx.
    ``progress``: a bar on stderr (default: when stderr is a terminal). One row per instance and
    scenario, in input order; failures are rows with status ``invalid`` or ``error``.
    """
    if executor not in ("process", "dask"):
        raise ValueError(f"executor must be 'process' or 'dask', not {executor!r}")
    named = None
    if scenarios is not None:
        named = load_scenarios(scenarios) if isinstance(scenarios, (str, Path)) else load_scenarios({"scenarios": scenarios})
    out_dir = None if out is None else Path(out).resolve()
    todo = make_jobs(instances, named, out_dir, solver=solver, time_limit=time_limit)
    workers = max(1, min(jobs or os.cpu_count() or 1, len(todo) or 1))
    # largest instances first: the last job to start is a small one, so workers finish together
    sizes = {path: _input_size(Path(path)) for path in {job.instance for job in todo}}
    ordered = sorted(todo, key=lambda job: (-sizes[job.instance], job.index))
    bar = Progress(len(todo), sys.stderr.isatty() if progress is None else progress)
    rows = []
    if todo:
        stream = _run_processes(ordered, workers) if executor == "process" else _run_dask(ordered, scheduler, workers)
        for row in stream:
            bar.update(row)
            rows.append(row)
    position = {(job.label, job.scenario): job.index for job in todo}
    rows.sort(key=lambda r: position[(r["instance"], r["scenario"])])
    table = pd.DataFrame(rows, columns=COLUMNS).astype({"paires": "Int64"})
    if out_dir is not None:
        table["dossier"] = [None if f is None else Path(f).relative_to(out_dir).as_posix() for f in table["dossier"]]
        write_table(table, out_dir)
    return table
