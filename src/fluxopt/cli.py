"""The command line: ``fluxopt solve``, ``explain``, ``export-lp``, ``validate``, ``generate``,
``bilan``, ``batch`` and ``compare`` (in :mod:`fluxopt.cli_batch`), ``rapport`` and ``annexes``
(in :mod:`fluxopt.cli_documents`).

Exit codes: 0 solved (CIL shortfalls included), 2 invalid input or usage (nothing written),
3 infeasible (strict CIL targets; ``summary.json`` and ``explication.md`` are written),
4 time limit without a solution or solver failure.
"""

from __future__ import annotations

import functools
import gc
import importlib
import json
import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, NoReturn, Sequence

import click

from fluxopt._version import __version__
from fluxopt.cli_help import HelpGroup
from fluxopt.i18n import LANGUAGES, N_, _, number, using
from fluxopt.policy import TYPES, check_values, parse_assignment
from fluxopt.problems import InstanceError, PolicyError, Problem, TimeLimitReached, UsageError
from fluxopt.territoires import DEPARTEMENTS

if TYPE_CHECKING:
    from fluxopt.instance import Instance
    from fluxopt.result import Result

# The commands import what they need when they run, so that --help and --version stay fast.

EXIT_OK, EXIT_INVALID, EXIT_INFEASIBLE, EXIT_SOLVER = 0, 2, 3, 4
#: The cycle collector's thresholds in the program (see _Group.main).
GC_THRESHOLDS = (200_000, 30, 30)
MAX_TABLE_ROWS = 40
#: The stage objectives and the réservataire types in words (translated when printed).
OBJECTIVE_LABELS = {
    "ecart_cil": N_("CIL shortfall (dwellings)"), "ecart_max": N_("largest relative departure"),
    "ecart_total": N_("sum of relative departures"), "regularite": N_("irregularity"),
}
TYPE_HEADERS = {  # the English headers are the type codes
    "prefet": N_("prefet"), "prefet_agents": N_("prefet_agents"), "action_logement": N_("action_logement"),
    "commune": N_("commune"), "epci": N_("epci"), "departement": N_("departement"), "region": N_("region"),
    "autre": N_("autre"),
}
STATUS_LABELS = {"optimal": N_("optimal"), "infeasible": N_("infeasible"), "time_limit": N_("time limit"),
                 "error": N_("error")}
#: Warnings printed without --verbose; the rest are counted (all are in summary.json).
MAX_WARNINGS = 5


class Reporter:
    """Progress and warnings on stderr, results on stdout; ``quiet`` keeps errors only.
    ``as_json``: stdout holds one JSON document only, the human-readable results go to stderr."""

    def __init__(self, quiet: bool, verbose: bool, as_json: bool = False):
        self.quiet, self.verbose, self.as_json = quiet, verbose, as_json

    def progress(self, text: str, *, detail: bool = False) -> None:
        if not self.quiet and (self.verbose or not detail):
            click.echo(text, err=True)

    def out(self, text: str = "") -> None:
        if not self.quiet:
            click.echo(text, err=self.as_json)

    def document(self, document: dict[str, Any]) -> None:
        """The JSON document on stdout (``--json``): strict JSON (no NaN), UTF-8."""
        if self.as_json:
            text = json.dumps(document, ensure_ascii=False, allow_nan=False, default=str)
            click.echo(text.encode("utf-8", "backslashreplace").decode("utf-8"))


def describe(inst: "Instance") -> str:
    """One line for people: the instance, its bailleurs, segments, réservataires, rights and flux base."""
    p = inst.patrimoine
    return _("{nom} ({territoire}, {annee}): {bailleurs} bailleurs, {segments} segments, {reservataires} "
             "réservataires, {droits} rights, flux base {flux} dwellings/year").format(
        nom=inst.nom, territoire=inst.territoire, annee=inst.annee, bailleurs=p["bailleur"].nunique(),
        segments=len(p), reservataires=len(inst.reservataires), droits=len(inst.stock),
        flux=number(float(p["flux_base"].sum()), 1))


def _fail(code: int, lines: list[str]) -> NoReturn:
    for line in lines:
        click.echo(line, err=True)
    sys.exit(code)


def _invalid(exc: InstanceError, report: Reporter | None = None) -> NoReturn:
    """Every problem of an invalid input, one per line (file, row, column, message); exit 2.
    With ``--json``, also ``{"version_schema": ..., "statut": "invalide", "problemes": [...]}`` on stdout."""
    problems: list[Problem] = exc.problems
    if report is not None and report.as_json:
        from fluxopt.jsondoc import invalid_document

        report.document(invalid_document(problems))
    errors = sum(p.severity == "error" for p in problems)
    _fail(EXIT_INVALID, [*(str(p) for p in problems),
                         "fluxopt: " + _("{n} problem(s) in the input, nothing written").format(n=errors)])


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
                  help=N_("Policy replacing the instance's (a name in models/ such as elan-2020, or a .toml file)."))
    @click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
                  help=N_("Override a policy key, e.g. --set plafonds.prefet=0.25 (repeatable)."))
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
            self.fail(_("{value} is not a number of seconds").format(value=repr(value)), param, ctx)
        if not math.isfinite(seconds) or seconds <= 0:
            self.fail(_("{value} is not a positive, finite number of seconds").format(value=repr(value)), param, ctx)
        return seconds


SECONDS = Seconds()


def solve_options(func: Callable) -> Callable:
    """The options of the commands that solve."""

    @instance_options
    @click.option("--time-limit", type=SECONDS, metavar="S",
                  help=N_("Time limit in seconds from the load: build, stages and the counterfactual solves."))
    @click.option("--memory-limit", type=click.FloatRange(min=0, min_open=True, max=1e6), metavar="GIB",
                  help=N_("Refuse (exit 2) a model whose estimated memory exceeds this many GiB "
                       "[default: 80 percent of the memory available]."))  # not "% o": Babel would take it for a %-format
    @click.option("--solver", default="highs", show_default=True,
                  help=N_("LP solver: highs (built in) or any installed solver Pyomo drives (glpk, cbc)."))
    @click.option("--quiet", "-q", is_flag=True, help=N_("Print errors only."))
    @click.option("--verbose", "-v", is_flag=True, help=N_("Also print model size, solver and timings."))
    @click.option("--accords", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="FILE.csv",
                  help=N_("Shares already agreed (bailleur, reservataire, logements or flux_pct), added to an "
                       "instance that has none of its own."))
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if kwargs["quiet"] and kwargs["verbose"]:
            raise click.UsageError(_("--quiet and --verbose exclude each other"))
        _check_solver(kwargs["solver"])
        return func(*args, **kwargs)

    return wrapper


def _modules_imported() -> None:
    """In the program, once a command's modules are imported: they live until the process ends, so the cycle
    collector need not scan them again (gc.freeze; about 40 ms at the end of a Gironde-scale solve)."""
    if _Group.program:
        gc.freeze()


def _load_and_solve(instance: Path, policy: str | None, assignments: tuple[str, ...], time_limit: float | None,
                    solver: str, report: Reporter, memory_limit: float | None = None, accords: Path | None = None,
                    carry_over: Path | None = None, keep_bases: bool = False) -> tuple[Result, float | None]:
    """Load (with ``accords`` and ``carry_over`` as the accords and report tables), solve with duals
    kept (and the bases, with ``keep_bases``: the counterfactual solves start from them), report
    progress; exit 2 on invalid input, 4 on a solver crash.

    The time limit counts from here: loading, building, the stages and, after, the counterfactual
    solves of the explanation (the deadline returned with the result)."""
    from fluxopt.api import deadline_of, solve_built
    from fluxopt.builder import build
    from fluxopt.instance import load_instance

    _modules_imported()
    deadline = deadline_of(time_limit)
    try:
        overrides = _overrides(assignments)
        files = {name: path for name, path in (("accords", accords), ("report", carry_over)) if path is not None}
        inst = load_instance(instance, tables=files or None)
        report.progress(_("loaded {instance} ({seconds} s)").format(instance=describe(inst), seconds=number(inst.load_seconds)))
        built = build(inst, policy=policy, overrides=overrides, deadline=deadline, memory_limit=memory_limit)
        result = solve_built(built, solver=solver, keep_duals=True, deadline=deadline, keep_bases=keep_bases)
    except InstanceError as exc:
        _invalid(exc, report)
    except UsageError as exc:
        _fail(EXIT_INVALID, [f"fluxopt: {exc}"])
    except TimeLimitReached as exc:
        _fail(EXIT_SOLVER, [f"fluxopt: {exc}; nothing written"])
    s = result.summary
    shown = s.warnings if report.verbose else s.warnings[:MAX_WARNINGS]
    for warning in shown:
        report.progress(str(warning))
    if len(shown) < len(s.warnings):
        report.progress(_("... and {n} more warnings (--verbose, or summary.json)").format(n=len(s.warnings) - len(shown)))
    size = s.model_size
    report.progress(_("model: {variables} variables, {constraints} constraints, {pairs} pairs (built in {seconds} s); "
                      "policy {policy}; solver {solver} {version}").format(
        variables=size.variables, constraints=size.constraints, pairs=size.active_pairs,
        seconds=number(s.timings.build), policy=s.politique.nom, solver=s.solver.name, version=s.solver.version),
        detail=True)
    for stage in result.stages:
        value = "" if stage.optimum is None else number(stage.optimum, 6)
        report.progress(_("stage {name} {status} {value}  ({seconds} s)").format(
            name=f"{stage.name:<12}", status=f"{_(STATUS_LABELS.get(stage.status, stage.status)):<10}",
            value=f"{value:>14}", seconds=number(stage.seconds, 3)))
    return result, deadline


def _exit_code(result: "Result") -> int:
    if result.status == "optimal" or (result.status == "time_limit" and result.has_solution):
        return EXIT_OK
    return EXIT_INFEASIBLE if result.status == "infeasible" else EXIT_SOLVER


def _fmt_pct(value: float) -> str:
    return f"{number(value, 1)} %"


def bailleur_table(result: "Result") -> str:
    """A compact table: per bailleur, flux base, share of each réservataire type, own share."""
    from fluxopt.tables import bailleur_synthesis

    table = bailleur_synthesis(result.shares, result.bailleurs)
    types = [t for t in TYPES if f"{t}_pct" in table.columns]
    header = [_("bailleur"), _("flux base"), *(_(TYPE_HEADERS[t]) for t in types), _("own share")]
    rows = [[r["bailleur"], number(r["flux_base"], 1), *(_fmt_pct(r[f"{t}_pct"]) for t in types),
             _fmt_pct(r["propre_pct"])] for r in table.head(MAX_TABLE_ROWS).to_dict("records")]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths)))]
    lines += ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
              for r in rows]
    if len(table) > MAX_TABLE_ROWS:
        lines.append(_("... and {n} more bailleurs (see bailleurs.csv)").format(n=len(table) - MAX_TABLE_ROWS))
    return "\n".join(lines)


def objectives_table(result: "Result") -> str:
    return "\n".join(f"{name:<12} {number(value, 6):>14}  {_(OBJECTIVE_LABELS.get(name, name))}"
                     for name, value in result.objectives.items())


def jobs_option(func: Callable) -> Callable:
    """``--jobs``: processes for the counterfactual solves."""
    return click.option("--jobs", "-j", type=click.IntRange(min=1, max=256), default=1, show_default=True,
                        help=N_("Processes for the counterfactual solves (the output does not depend on it)."))(func)


class _Group(HelpGroup):
    """The command group; the commands defined in other modules are imported when they are run or listed."""

    #: Whether this process is the program (one command, then it ends), see main.
    program = False
    #: The collector's thresholds before main tuned them (``fluxopt serve`` puts them back).
    thresholds: tuple[int, ...] = gc.get_threshold()

    def main(self, args: Sequence[str] | None = None, *rest: Any, **extra: Any) -> Any:
        """Without ``args`` (the ``fluxopt`` script, ``python -m fluxopt``: sys.argv), tune the cycle collector
        for a process that runs one command and ends: a command creates many objects and frees most by
        reference counting, and the default thresholds (700, 10, 10) scan the same long-lived ones again and
        again (about 60 ms of a Gironde-scale solve). Collect less often, as mypy does; once the command's
        modules are imported, leave them out of every later collection (:func:`_modules_imported`). Tests,
        other callers that pass ``args`` keep the collector as it is; ``fluxopt serve``, which runs for long,
        puts it back."""
        if args is None:
            _Group.program = True
            _Group.thresholds = gc.get_threshold()
            gc.set_threshold(*GC_THRESHOLDS)
        return super().main(args, *rest, **extra)

    #: Command name -> its module (the function has the command's name).
    ELSEWHERE = {"batch": "fluxopt.cli_batch", "compare": "fluxopt.cli_batch", "rapport": "fluxopt.cli_documents",
                 "annexes": "fluxopt.cli_documents"}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.ELSEWHERE})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.ELSEWHERE and cmd_name not in self.commands:
            self.add_command(getattr(importlib.import_module(self.ELSEWHERE[cmd_name]), cmd_name))
        return super().get_command(ctx, cmd_name)


def _set_language(ctx: click.Context, param: click.Parameter, langue: str | None) -> str | None:
    """``--langue`` for this command only (tests run many commands in one process). The option is eager, so
    that ``fluxopt --langue en --help`` is already in English when click prints the help. Without it (nor
    ``FLUXOPT_LANGUE``), nothing is set: the default applies where a message is made."""
    if langue is not None:
        ctx.with_resource(using(langue))
    return langue


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]},
             help=N_("""fluxopt: convert réservataires' stock rights into annual flux shares (ELAN, décret 2020-145).

    \b
    Example:
      fluxopt solve instances/exemple --out resultats-exemple
    \b
    Shell completion (bash; zsh and fish alike):
      eval "$(_FLUXOPT_COMPLETE=bash_source fluxopt)"
    """))
@click.version_option(__version__, "--version", "-V", prog_name="fluxopt", help=N_("Show the version and exit."))
@click.option("--langue", type=click.Choice(LANGUAGES), envvar="FLUXOPT_LANGUE", show_envvar=True, is_eager=True,
              callback=_set_language, expose_value=False,
              help=N_("Language of what people read (workbook, explication.md, messages) [default: fr]."))
def main() -> None:
    """fluxopt: convert réservataires' stock rights into annual flux shares (ELAN, décret 2020-145)."""


@main.command("solve", help=N_("""Solve INSTANCE (a CSV folder, .xlsx or .json) and write the result folder.

    Writes summary.json, parts.csv, segments.csv, cil.csv, bailleurs.csv, resultats.xlsx and,
    when the proposal departs from equivalence, explication.md (with --sensibilite, its reasons
    checked by counterfactual solves, and sensibilite.csv); prints a table per bailleur.
    Exit codes: 0 solved, 2 invalid input or usage, 3 infeasible, 4 time limit or solver failure.

    \b
    Examples:
      fluxopt solve instances/exemple
      fluxopt solve instances/exemple -o /tmp/r --set plafonds.prefet=0.25 --set equivalence.methode=stock
      fluxopt solve instances/gironde-33 -o /tmp/r2026 --report /tmp/bilan2025/report.csv
    """))
@solve_options
@click.option("--out", "-o", type=click.Path(path_type=Path), metavar="DIR",
              help=N_("Result folder [default: resultats-<instance name> in the current folder]."))
@click.option("--force", is_flag=True, help=N_("Replace a non-empty folder that is not an earlier fluxopt result."))
@click.option("--report", "carry_over", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="FILE",
              help=N_("Last year's carry-over (the report.csv written by 'fluxopt bilan'), added to the instance."))
@click.option("--json", "as_json", is_flag=True,
              help=N_("Print the whole result as one JSON document on stdout (and nothing else there); "
                   "the result folder is written as usual. Invalid input prints {\"status\": \"invalid\", ...}."))
@click.option("--sensibilite", is_flag=True,
              help=N_("Check the reasons of each departure by counterfactual solves (one more solve per binding "
                   "constraint) and write sensibilite.csv and the workbook's sensitivity sheet."))
@jobs_option
def solve_command(instance: Path, policy: str | None, assignments: tuple[str, ...], time_limit: float | None,
                  memory_limit: float | None, solver: str, quiet: bool, verbose: bool, accords: Path | None,
                  out: Path | None, force: bool, carry_over: Path | None, as_json: bool, sensibilite: bool,
                  jobs: int) -> None:
    """Solve INSTANCE (a CSV folder, .xlsx or .json) and write the result folder."""
    from fluxopt.write import OutputError, instance_paths, output_folder

    report = Reporter(quiet, verbose, as_json)
    out = out if out is not None else Path(f"resultats-{instance.resolve().stem}")
    try:
        # checked and locked before any work: a second run on the same folder fails at once
        with output_folder(out, force=force, protect=instance_paths(instance)) as target:
            for stale in target.cleaned:
                report.progress(_("removed {name}, left by an earlier run that was stopped").format(name=stale.name),
                                detail=True)
            result, deadline = _load_and_solve(instance, policy, assignments, time_limit, solver, report, memory_limit,
                                               accords, carry_over, keep_bases=sensibilite)
            from fluxopt.explanations import explain

            start = time.perf_counter()
            with using(result.langue):
                explanation = explain(result, counterfactuals=sensibilite, jobs=jobs, deadline=deadline)
            if explanation.checked and explanation.pairs:
                report.progress(_("checked the reasons: {n} counterfactual solves ({seconds} s)").format(
                    n=explanation.solves, seconds=number(explanation.seconds)))
            folder = target.write(result, explanation=explanation)
    except OutputError as exc:
        _fail(EXIT_INVALID, [f"fluxopt: --out: {exc}"])
    report.progress(_("wrote {path} ({seconds} s)").format(path=out, seconds=number(time.perf_counter() - start)))
    if report.as_json:
        from fluxopt.jsondoc import result_document

        with using(result.langue):
            report.document({**result_document(result, explanation), "dossier": str(folder)})
    if result.has_solution and not report.quiet:  # the tables are computed only to be printed
        report.out(bailleur_table(result))
        report.out()
        report.out(objectives_table(result))
        deficit = float(result.cil["deficit"].sum()) if len(result.cil) else 0.0
        if deficit > 0:
            report.out(_("CIL targets not reached: shortfall of {n} attributions (see explication.md)").format(
                n=number(deficit)))
        report.out(_("results in {path}").format(path=folder))
    code = _exit_code(result)
    if result.status == "time_limit" and result.has_solution:
        click.echo("fluxopt: " + _("time limit reached; the result holds the stages solved so far"), err=True)
    elif code == EXIT_INFEASIBLE:
        click.echo("fluxopt: " + _("infeasible: the strict CIL targets cannot be met; see {path}").format(
            path=folder / "explication.md"), err=True)
    elif code == EXIT_SOLVER:
        why = result.stages[-1].raw_status if result.stages else \
            _("too little time left for the solver to start on a model of this size")
        click.echo("fluxopt: " + _("no solution ({status}: {why}); summary in {path}").format(
            status=result.status.value, why=why, path=folder / "summary.json"), err=True)
    sys.exit(code)


@main.command("explain", help=N_("""Explain, in domain words, why the proposal for INSTANCE departs from equivalence.

    For each pair whose share differs from its target: the constraints that hold it below or push
    it above its target (a cap, a CIL target, the capacity of a segment, the QPV balance, the
    uniform préfet rate, an agreement), each checked by solving again with that one constraint
    relaxed, and the share the pair would then get (--jobs solves in parallel). For each CIL
    shortfall: what limits it. For an infeasible strict instance: an irreducible infeasible
    subset of constraints. Prints Markdown on stdout (also with --quiet, which silences the
    progress); exit codes as for solve; nothing is written.

    \b
    Example:
      fluxopt explain instances/exemple --set cil.part_q1_hors_qpv=0.6
    """))
@solve_options
@jobs_option
def explain_command(instance: Path, policy: str | None, assignments: tuple[str, ...], time_limit: float | None,
                    memory_limit: float | None, solver: str, quiet: bool, verbose: bool,
                    accords: Path | None, jobs: int) -> None:
    """Explain, in domain words, why the proposal for INSTANCE departs from equivalence."""
    result, deadline = _load_and_solve(instance, policy, assignments, time_limit, solver, Reporter(quiet, verbose),
                                       memory_limit, accords, keep_bases=True)
    from fluxopt.explanations import explain

    explanation = explain(result, jobs=jobs, deadline=deadline)
    if explanation.checked and explanation.pairs:
        Reporter(quiet, verbose).progress(_("checked the reasons: {n} counterfactual solves ({seconds} s)").format(
            n=explanation.solves, seconds=number(explanation.seconds)))
    click.echo(explanation.to_markdown().rstrip("\n"))
    sys.exit(_exit_code(result))


@main.command("export-lp", help=N_("""Write the first-stage LP of INSTANCE with readable names (CPLEX LP or MPS, by extension).

    \b
    Example:
      fluxopt export-lp instances/exemple -o exemple.lp
    """))
@instance_options
@click.option("--output", "-o", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE.lp|FILE.mps", help=N_("Where to write the model; the format follows the extension."))
def export_lp_command(instance: Path, policy: str | None, assignments: tuple[str, ...], output: Path) -> None:
    """Write the first-stage LP of INSTANCE with readable names (CPLEX LP or MPS, by extension)."""
    if output.suffix.lower() not in (".lp", ".mps"):
        raise click.BadParameter(_("the file must end in .lp or .mps"), param_hint="--output")
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
    click.echo(_("wrote {path} (stage {stage})").format(path=output, stage=first), err=True)


@main.command("validate", help=N_("""Check INSTANCE (a CSV folder, .xlsx or .json) and list every problem at once.

    Prints each problem with its file (or sheet), row and column, or a one-line summary of a
    valid instance. Exit code 2 when there is any error, 0 otherwise (warnings included).

    \b
    Example:
      fluxopt validate instances/exemple
    """))
@click.argument("instance", type=click.Path(exists=True, path_type=Path))
def validate_command(instance: Path) -> None:
    """Check INSTANCE (a CSV folder, .xlsx or .json) and list every problem at once."""
    from fluxopt.validate import report as validate_report

    text, code = validate_report(instance)
    click.echo(text, err=code != EXIT_OK)
    sys.exit(code)


@main.command("generate", help=N_("""Write deterministic synthetic instances, one folder per département (invented data).

    \b
    Examples:
      fluxopt generate --departements 3 --seed 7 --out /tmp/synth
      fluxopt generate --departements 101 --seed 1 --out /tmp/national
      fluxopt generate --departements 3 --seed 7 --out /tmp/synth --realise
    """))
@click.option("--departements", "-n", type=click.IntRange(1, len(DEPARTEMENTS)), required=True,
              help=N_("How many départements (1 to 101; 101 is the national set)."))  # 101 départements: checked by tests/test_i18n.py)
@click.option("--seed", type=int, default=1, show_default=True, help=N_("Random seed (same seed, same bytes)."))
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), required=True, metavar="DIR",
              help=N_("Output folder: one synthetique-<code> instance folder per département."))
@click.option("--scale", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help=N_("Multiplies dwellings and new lettings (rates unchanged)."))
@click.option("--realise", is_flag=True, help=N_("Also write a plausible realise.csv (a year of lettings) per département."))
def generate_command(departements: int, seed: int, out: Path, scale: float, realise: bool) -> None:
    """Write deterministic synthetic instances, one folder per département (invented data)."""
    from fluxopt.generate import generate

    start = time.perf_counter()
    folders = generate(departements, seed=seed, out=out, scale=scale, realise=realise)
    click.echo(_("wrote {n} instance(s) in {path} ({seconds} s)").format(
        n=len(folders), path=out, seconds=number(time.perf_counter() - start, 1)), err=True)


@main.command("modele", help=N_("""Write an empty input workbook to fill in: one sheet per table, a « Lisez-moi » sheet that
    explains every column, drop-down lists, number validations and one example row per sheet.

    \b
    Example:
      fluxopt modele --out modele.xlsx
    """))
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), default=Path("modele.xlsx"),
              show_default=True, metavar="FILE.xlsx", help=N_("Where to write the template."))
def modele_command(out: Path) -> None:
    """Write an empty input workbook to fill in (see the help text of the decorator)."""
    if out.suffix.lower() != ".xlsx":
        raise click.BadParameter(_("the file must end in .xlsx"), param_hint="--out")
    from fluxopt.template import write_template

    write_template(out)
    click.echo(_("wrote {path}").format(path=out), err=True)


@main.command("convertir", help=N_("""Convert INSTANCE (a CSV folder, .xlsx or .json) to another form; the data stay the same.

    Exit code 2 when INSTANCE has errors (every problem listed, nothing written).

    \b
    Examples:
      fluxopt convertir instances/exemple --out exemple.xlsx
      fluxopt convertir exemple.xlsx --out exemple.json
      fluxopt convertir exemple.json --out exemple-csv/
    """))
@click.argument("instance", type=click.Path(exists=True, path_type=Path))
@click.option("--out", "-o", type=click.Path(path_type=Path), required=True, metavar="X.xlsx|X.json|DIR",
              help=N_("The instance in another form: an .xlsx workbook, a .json document, or a folder of CSV files."))
def convertir_command(instance: Path, out: Path) -> None:
    """Convert INSTANCE (a CSV folder, .xlsx or .json) to another form; the data stay the same."""
    from fluxopt.instance import load_instance

    if out.suffix.lower() not in (".xlsx", ".json") and out.is_file():
        raise click.BadParameter(_("'{path}' is a file: give a .xlsx or .json name, or a folder").format(path=out),
                                 param_hint="--out")
    if out.suffix.lower() not in (".xlsx", ".json") and out.is_dir() and any(out.iterdir()) \
            and not (out / "instance.toml").is_file():
        raise click.BadParameter(_("'{path}' is a folder that holds no instance: choose an empty folder").format(
            path=out), param_hint="--out")
    try:
        inst = load_instance(instance)
    except InstanceError as exc:
        _invalid(exc)
    written = inst.to_xlsx(out) if out.suffix.lower() == ".xlsx" else inst.to_json(out) \
        if out.suffix.lower() == ".json" else inst.to_csv(out)
    click.echo(_("wrote {path}").format(path=written), err=True)


@main.command("bilan", help=N_("""The annual bilan (R441-5-1) of RESULT (the folder 'fluxopt solve' wrote for year N).

    Writes bilan.json, bilan_parts.csv, report.csv (the carry-over to give 'fluxopt solve
    --report' for year N+1), bilan_cil.csv, bilan_prioritaires.csv, bilan_r441-5-1.csv, bilan.xlsx
    and one letter per bailleur and réservataire in lettres/. Exit 2 on invalid input (nothing
    written).

    \b
    Example:
      fluxopt solve instances/gironde-33 -o /tmp/r2025
      fluxopt bilan /tmp/r2025 --realise instances/gironde-33/realise-2025.csv --out /tmp/bilan2025 \\
        --instance instances/gironde-33
    """))
@click.argument("result", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--realise", "realise", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              metavar="FILE", help=N_("What happened in year N: realise.csv, or an .xlsx workbook with a sheet 'realise'."))
@click.option("--out", "-o", required=True, type=click.Path(path_type=Path), metavar="DIR", help=N_("The bilan folder."))
@click.option("--date", "date", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help=N_("Date printed on the bilan and the letters [default: 31 January of year N+1]."))
@click.option("--instance", "instance", type=click.Path(exists=True, path_type=Path), metavar="INSTANCE",
              help=N_("The year-N instance, for the names of the réservataires and bailleurs in the letters."))
@click.option("--force", is_flag=True, help=N_("Replace a non-empty folder that is not an earlier bilan."))
@click.option("--quiet", "-q", is_flag=True, help=N_("Print errors only."))
def bilan_command(result: Path, realise: Path, out: Path, date: Any, instance: Path | None, force: bool,
                  quiet: bool) -> None:
    """The annual bilan (R441-5-1) of RESULT (the folder 'fluxopt solve' wrote for year N)."""
    if out.exists() and not out.is_dir():
        raise click.BadParameter(f"'{out}' is a file, not a folder", param_hint="--out")
    if out.is_dir() and any(out.iterdir()) and not force and not (out / "bilan.json").is_file():
        raise click.BadParameter(f"'{out}' is not empty and is not an earlier bilan; choose another folder or use "
                                 "--force (its content would be replaced)", param_hint="--out")
    from fluxopt.bilan import bilan

    report = Reporter(quiet, False)
    try:
        done = bilan(result, realise, out=out, date=date.date() if date else None, instance=instance)
    except InstanceError as exc:
        _invalid(exc)
    for warning in done.warnings[:MAX_WARNINGS]:
        report.progress(str(warning))
    if len(done.warnings) > MAX_WARNINGS:
        report.progress(f"... and {len(done.warnings) - MAX_WARNINGS} more warnings (bilan.json)")
    t = done.totaux
    report.out(f"bilan {done.annee}: {t['paires']} conventions, realised flux {t['base_realisee']} dwellings; "
               f"{t['paires_en_deficit']} short, {t['paires_en_exces']} over ({t['reports_plafonnes']} carry-overs capped)")
    report.out(f"carry-over into {done.annee + 1}: {t['report_du']:+.1f} owed, {t['report_repris']:+.1f} taken back "
               f"({len(done.report)} pairs in report.csv)")
    report.out(f"bilan in {out}")


class Size(click.ParamType):
    """A size in bytes: 20MB, 512kB, 1000."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        from fluxopt.service.settings import parse_size

        if isinstance(value, int):
            return value
        try:
            return parse_size(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


@main.command("serve", help=N_("""Run the HTTP service: the JSON API under /api/v1 and the web page at / (docs/service.md).

    Needs the service extra: pip install 'fluxopt-logement[service]'.

    \b
    Example:
      fluxopt serve --port 8000 --workers 2
    """))
@click.option("--host", default="127.0.0.1", show_default=True, help=N_("Address to bind (0.0.0.0: every interface)."))
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 256), default=2, show_default=True,
              help=N_("Solves running at once, each in its own worker process."))
@click.option("--file-attente", type=click.IntRange(0), default=32, show_default=True,
              help=N_("Requests waiting for a worker beyond which the service answers 503."))
@click.option("--max-taille", type=Size(), default="20MB", show_default=True, help=N_("Largest request body (413 beyond)."))
@click.option("--jeton", envvar="FLUXOPT_JETON", metavar="TOKEN",
              help=N_("Require 'Authorization: Bearer TOKEN' on every /api call (also FLUXOPT_JETON)."))
@click.option("--duree-vie", type=click.FloatRange(min=1), default=3600, show_default=True,
              help=N_("Seconds a finished job and its files are kept."))
@click.option("--max-segments", type=click.IntRange(1), default=200_000, show_default=True,
              help=N_("Segments beyond which an instance is refused (422)."))
@click.option("--max-segments-synchrone", type=click.IntRange(1), default=5_000, show_default=True,
              help=N_("Segments beyond which /api/v1/resoudre refuses an instance (send it to /api/v1/travaux)."))
def serve_command(host: str, port: int, workers: int, file_attente: int, max_taille: int, jeton: str | None,
                  duree_vie: float, max_segments: int, max_segments_synchrone: int) -> None:
    """Run the HTTP service: the JSON API under /api/v1 and the web page at / (docs/service.md)."""
    try:
        import uvicorn

        from fluxopt.service import Settings, create_app
    except ImportError as exc:
        _fail(EXIT_INVALID, [f"fluxopt: the service needs the 'service' extra ({exc.name} is missing): "
                             "pip install 'fluxopt-logement[service]'"])
    settings = Settings(workers=workers, file_attente=file_attente, max_taille=max_taille, jeton=jeton or None,
                        duree_vie=duree_vie, max_segments=max_segments, max_segments_synchrone=max_segments_synchrone)
    gc.set_threshold(*_Group.thresholds)  # a long-lived server: the collector as Python sets it
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)

