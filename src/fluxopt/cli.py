"""The command line: ``fluxopt solve``, ``explain``, ``export-lp``, ``validate``, ``generate``,
``batch`` and ``compare`` (in :mod:`fluxopt.cli_batch`), ``rapport`` and ``annexes`` (in
:mod:`fluxopt.cli_documents`).

Exit codes: 0 solved (CIL shortfalls included), 2 invalid input or usage (nothing written),
3 infeasible (strict CIL targets; ``summary.json`` and ``explication.md`` are written),
4 time limit without a solution or solver failure.
"""

from __future__ import annotations

import functools
import json
import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, NoReturn

import click

from fluxopt._version import __version__
from fluxopt.cli_batch import batch, compare
from fluxopt.cli_documents import annexes, rapport
from fluxopt.policy import TYPES, check_values, parse_assignment
from fluxopt.problems import InstanceError, PolicyError, Problem, UsageError
from fluxopt.territoires import DEPARTEMENTS

if TYPE_CHECKING:
    from fluxopt.result import Result

# The commands import what they need when they run, so that --help and --version stay fast.

EXIT_OK, EXIT_INVALID, EXIT_INFEASIBLE, EXIT_SOLVER = 0, 2, 3, 4
#: Keys of summary.json that mark a folder as an earlier fluxopt result.
RESULT_KEYS = {"status", "objectifs", "instance", "politique", "versions"}
MAX_TABLE_ROWS = 40
#: Warnings printed without --verbose; the rest are counted (all are in summary.json).
MAX_WARNINGS = 5


class Reporter:
    """Progress and warnings on stderr, results on stdout; ``quiet`` keeps errors only."""

    def __init__(self, quiet: bool, verbose: bool):
        self.quiet, self.verbose = quiet, verbose

    def progress(self, text: str, *, detail: bool = False) -> None:
        if not self.quiet and (self.verbose or not detail):
            click.echo(text, err=True)

    def out(self, text: str = "") -> None:
        if not self.quiet:
            click.echo(text)


def _fail(code: int, lines: list[str]) -> NoReturn:
    for line in lines:
        click.echo(line, err=True)
    sys.exit(code)


def _invalid(exc: InstanceError) -> NoReturn:
    """Every problem of an invalid input, one per line (file, row, column, message); exit 2."""
    problems: list[Problem] = exc.problems
    errors = sum(p.severity == "error" for p in problems)
    _fail(EXIT_INVALID, [*(str(p) for p in problems), f"fluxopt: {errors} problem(s) in the input, nothing written"])


def _overrides(assignments: tuple[str, ...]) -> dict[str, Any]:
    """The --set assignments as policy overrides, checked like a policy file (PolicyError if not)."""
    overrides: dict[str, Any] = {}
    for text in assignments:
        key, value = parse_assignment(text)
        overrides[key] = value
    problems = check_values(overrides, "--set")
    if problems:
        raise PolicyError(problems)
    return overrides


def _check_solver(name: str) -> None:
    from fluxopt.solvers import check_solver

    try:
        check_solver(name)
    except UsageError as exc:
        raise click.BadParameter(str(exc), param_hint="--solver") from None


def instance_options(func: Callable) -> Callable:
    """The options shared by every command that reads an instance."""

    @click.argument("instance", type=click.Path(exists=True, path_type=Path))
    @click.option("--policy", metavar="NAME|PATH",
                  help="Policy replacing the instance's (a name in models/ such as elan-2020, or a .toml file).")
    @click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
                  help="Override a policy key, e.g. --set plafonds.prefet=0.25 (repeatable).")
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper


class Seconds(click.ParamType):
    """A positive, finite number of seconds (not nan, not inf)."""

    name = "seconds"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not math.isfinite(seconds) or seconds <= 0:
            self.fail(f"{value!r} is not a positive, finite number of seconds", param, ctx)
        return seconds


SECONDS = Seconds()


def solve_options(func: Callable) -> Callable:
    """The options of the commands that solve."""

    @instance_options
    @click.option("--time-limit", type=SECONDS, metavar="S",
                  help="Time limit in seconds for all stages together.")
    @click.option("--solver", default="highs", show_default=True,
                  help="LP solver: highs (built in) or any installed solver Pyomo drives (glpk, cbc).")
    @click.option("--quiet", "-q", is_flag=True, help="Print errors only.")
    @click.option("--verbose", "-v", is_flag=True, help="Also print model size, solver and timings.")
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if kwargs["quiet"] and kwargs["verbose"]:
            raise click.UsageError("--quiet and --verbose exclude each other")
        _check_solver(kwargs["solver"])
        return func(*args, **kwargs)

    return wrapper


def _load_and_solve(instance: Path, policy: str | None, assignments: tuple[str, ...], time_limit: float | None,
                    solver: str, report: Reporter) -> Result:
    """Load, solve with duals kept, report progress; exit 2 on invalid input, 4 on a solver crash."""
    from fluxopt.api import solve_built
    from fluxopt.builder import build
    from fluxopt.instance import load_instance

    try:
        overrides = _overrides(assignments)
        inst = load_instance(instance)
        report.progress(f"loaded {inst.describe()} ({inst.load_seconds:.2f} s)")
        result = solve_built(build(inst, policy=policy, overrides=overrides), time_limit=time_limit,
                             solver=solver, keep_duals=True)
    except InstanceError as exc:
        _invalid(exc)
    except UsageError as exc:
        _fail(EXIT_INVALID, [f"fluxopt: {exc}"])
    s = result.summary
    shown = s.warnings if report.verbose else s.warnings[:MAX_WARNINGS]
    for warning in shown:
        report.progress(str(warning))
    if len(shown) < len(s.warnings):
        report.progress(f"... and {len(s.warnings) - len(shown)} more warnings (--verbose, or summary.json)")
    size = s.model_size
    report.progress(f"model: {size.variables} variables, {size.constraints} constraints, "
                    f"{size.active_pairs} pairs (built in {s.timings.build:.2f} s); policy "
                    f"{s.politique.nom}; solver {s.solver.name} {s.solver.version}", detail=True)
    for stage in result.stages:
        value = "" if stage.optimum is None else f"{stage.optimum:.6f}"
        report.progress(f"stage {stage.name:<12} {stage.status:<10} {value:>14}  ({stage.seconds:.3f} s)")
    return result


def _exit_code(result: "Result") -> int:
    if result.status == "optimal" or (result.status == "time_limit" and result.has_solution):
        return EXIT_OK
    return EXIT_INFEASIBLE if result.status == "infeasible" else EXIT_SOLVER


def _is_result_folder(folder: Path) -> bool:
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(summary, dict) and RESULT_KEYS <= set(summary) and "fluxopt" in summary["versions"]


def _check_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise click.BadParameter(f"'{out}' is a file, not a folder", param_hint="--out")
    if out.is_dir() and any(out.iterdir()) and not force and not _is_result_folder(out):
        raise click.BadParameter(
            f"'{out}' is not empty and is not an earlier fluxopt result; choose another folder or use --force "
            "(its content would be replaced)", param_hint="--out")


def _fmt_pct(value: float) -> str:
    return f"{value:.1f} %"


def bailleur_table(result: "Result") -> str:
    """A compact table: per bailleur, flux base, share of each réservataire type, own share."""
    from fluxopt.tables import bailleur_synthesis

    table = bailleur_synthesis(result.shares, result.bailleurs)
    types = [t for t in TYPES if f"{t}_pct" in table.columns]
    header = ["bailleur", "flux base", *types, "own share"]
    rows = [[r["bailleur"], f"{r['flux_base']:.1f}", *(_fmt_pct(r[f"{t}_pct"]) for t in types),
             _fmt_pct(r["propre_pct"])] for _, r in table.head(MAX_TABLE_ROWS).iterrows()]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths)))]
    lines += ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
              for r in rows]
    if len(table) > MAX_TABLE_ROWS:
        lines.append(f"... and {len(table) - MAX_TABLE_ROWS} more bailleurs (see bailleurs.csv)")
    return "\n".join(lines)


def objectives_table(result: "Result") -> str:
    labels = {
        "ecart_cil": "CIL shortfall (dwellings)", "ecart_max": "largest relative departure",
        "ecart_total": "sum of relative departures", "regularite": "irregularity",
    }
    return "\n".join(f"{name:<12} {value:>14.6f}  {labels.get(name, '')}" for name, value in result.objectives.items())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="fluxopt")
def main() -> None:
    """fluxopt: convert réservataires' stock rights into annual flux shares (ELAN, décret 2020-145).

    \b
    Example:
      fluxopt solve instances/exemple --out resultats-exemple
    \b
    Shell completion (bash; zsh and fish alike):
      eval "$(_FLUXOPT_COMPLETE=bash_source fluxopt)"
    """


@main.command("solve")
@solve_options
@click.option("--out", "-o", type=click.Path(path_type=Path), metavar="DIR",
              help="Result folder [default: resultats-<instance name> in the current folder].")
@click.option("--force", is_flag=True, help="Replace a non-empty folder that is not an earlier fluxopt result.")
def solve_command(instance: Path, policy: str | None, assignments: tuple[str, ...], time_limit: float | None,
                  solver: str, quiet: bool, verbose: bool, out: Path | None, force: bool) -> None:
    """Solve INSTANCE (a CSV folder, .xlsx or .json) and write the result folder.

    Writes summary.json, parts.csv, segments.csv, cil.csv, bailleurs.csv, resultats.xlsx and,
    when the proposal departs from equivalence, explication.md; prints a table per bailleur.
    Exit codes: 0 solved, 2 invalid input or usage, 3 infeasible, 4 time limit or solver failure.

    \b
    Examples:
      fluxopt solve instances/exemple
      fluxopt solve instances/exemple -o /tmp/r --set plafonds.prefet=0.25 --set equivalence.methode=stock
    """
    report = Reporter(quiet, verbose)
    out = out if out is not None else Path(f"resultats-{instance.resolve().stem}")
    _check_out(out, force)
    result = _load_and_solve(instance, policy, assignments, time_limit, solver, report)
    from fluxopt.write import write_result

    start = time.perf_counter()
    folder = write_result(result, out)
    report.progress(f"wrote {out} ({time.perf_counter() - start:.2f} s)")
    if result.has_solution:
        report.out(bailleur_table(result))
        report.out()
        report.out(objectives_table(result))
        deficit = float(result.cil["deficit"].sum()) if len(result.cil) else 0.0
        if deficit > 0:
            report.out(f"CIL targets not reached: shortfall of {deficit:.2f} attributions (see explication.md)")
        report.out(f"results in {folder}")
    code = _exit_code(result)
    if result.status == "time_limit" and result.has_solution:
        click.echo("fluxopt: time limit reached; the result holds the stages solved so far", err=True)
    elif code == EXIT_INFEASIBLE:
        click.echo(f"fluxopt: infeasible: the strict CIL targets cannot be met; see {folder / 'explication.md'}",
                   err=True)
    elif code == EXIT_SOLVER:
        why = result.stages[-1].raw_status if result.stages else ""
        click.echo(f"fluxopt: no solution ({result.status.value}: {why}); summary in {folder / 'summary.json'}",
                   err=True)
    sys.exit(code)


@main.command("explain")
@solve_options
def explain_command(instance: Path, policy: str | None, assignments: tuple[str, ...], time_limit: float | None,
                    solver: str, quiet: bool, verbose: bool) -> None:
    """Explain, in domain words, why the proposal for INSTANCE departs from equivalence.

    For each pair whose share differs from its target: the binding constraints (a cap, a CIL
    target, the capacity of a segment, the QPV balance, the uniform préfet rate). For each CIL
    shortfall: what limits it. For an infeasible strict instance: an irreducible infeasible
    subset of constraints. Prints Markdown on stdout (also with --quiet, which silences the
    progress); exit codes as for solve; nothing is written.

    \b
    Example:
      fluxopt explain instances/exemple --set cil.part_q1_hors_qpv=0.6
    """
    result = _load_and_solve(instance, policy, assignments, time_limit, solver, Reporter(quiet, verbose))
    from fluxopt.explanations import explain

    click.echo(explain(result).to_markdown().rstrip("\n"))
    sys.exit(_exit_code(result))


@main.command("export-lp")
@instance_options
@click.option("--output", "-o", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE.lp|FILE.mps", help="Where to write the model; the format follows the extension.")
def export_lp_command(instance: Path, policy: str | None, assignments: tuple[str, ...], output: Path) -> None:
    """Write the first-stage LP of INSTANCE with readable names (CPLEX LP or MPS, by extension).

    \b
    Example:
      fluxopt export-lp instances/exemple -o exemple.lp
    """
    if output.suffix.lower() not in (".lp", ".mps"):
        raise click.BadParameter("the file must end in .lp or .mps", param_hint="--output")
    from fluxopt.builder import build
    from fluxopt.model import build_model

    try:
        built = build(instance, policy=policy, overrides=_overrides(assignments))
    except InstanceError as exc:
        _invalid(exc)
    model = build_model(built.lp)
    first = built.policy.ordre[0]
    model.objectif[first].activate()
    output.parent.mkdir(parents=True, exist_ok=True)
    model.write(str(output), io_options={"symbolic_solver_labels": True})
    click.echo(f"wrote {output} (stage {first})", err=True)


@main.command("validate")
@click.argument("instance", type=click.Path(exists=True, path_type=Path))
def validate_command(instance: Path) -> None:
    """Check INSTANCE (a CSV folder, .xlsx or .json) and list every problem at once.

    Prints each problem with its file (or sheet), row and column, or a one-line summary of a
    valid instance. Exit code 2 when there is any error, 0 otherwise (warnings included).

    \b
    Example:
      fluxopt validate instances/exemple
    """
    from fluxopt.validate import report as validate_report

    text, code = validate_report(instance)
    click.echo(text, err=code != EXIT_OK)
    sys.exit(code)


@main.command("generate")
@click.option("--departements", "-n", type=click.IntRange(1, len(DEPARTEMENTS)), required=True,
              help=f"How many départements (1 to {len(DEPARTEMENTS)}; {len(DEPARTEMENTS)} is the national set).")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed (same seed, same bytes).")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), required=True, metavar="DIR",
              help="Output folder: one synthetique-<code> instance folder per département.")
@click.option("--scale", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="Multiplies dwellings and new lettings (rates unchanged).")
def generate_command(departements: int, seed: int, out: Path, scale: float) -> None:
    """Write deterministic synthetic instances, one folder per département (invented data).

    \b
    Examples:
      fluxopt generate --departements 3 --seed 7 --out /tmp/synth
      fluxopt generate --departements 101 --seed 1 --out /tmp/national
    """
    from fluxopt.generate import generate

    start = time.perf_counter()
    folders = generate(departements, seed=seed, out=out, scale=scale)
    click.echo(f"wrote {len(folders)} instance(s) in {out} ({time.perf_counter() - start:.1f} s)", err=True)


main.add_command(batch)
main.add_command(compare)
main.add_command(rapport)
main.add_command(annexes)
