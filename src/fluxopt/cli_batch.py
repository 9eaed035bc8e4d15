"""Command-line ``fluxopt batch`` and ``fluxopt compare`` (registered on the ``fluxopt`` group)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import click

from fluxopt.cli_help import command
from fluxopt.i18n import N_, _
from fluxopt.problems import PolicyError

SHOWN = ["instance", "scenario", "status", "paires", "ecart_relatif_max", "deficit_cil", "prefet_pct", "temps_total"]


@command(help=N_("""Solve every INSTANCE under every scenario, in parallel; exit code 1 if any job failed.

    \b
    Examples:
      fluxopt batch instances/* --out /tmp/batch --jobs 2
      fluxopt batch instances/gironde-33 --scenarios scenarios.toml --out /tmp/scen
    """))
@click.argument("instances", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help=N_("Folder of the results: one subfolder per instance (and scenario), comparaison.csv/.xlsx."))
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help=N_("Worker processes [default: cores]."))
@click.option("--scenarios", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help=N_("TOML file of named policy variants: [scenarios.NAME] key = value."))
@click.option("--executor", type=click.Choice(["process", "dask"]), default="process", show_default=True,
              help=N_("Worker processes on this machine, or a Dask cluster."))
@click.option("--scheduler", metavar="ADDRESS", help=N_("Dask scheduler (tcp://host:8786); default: a local cluster."))
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), help=N_("Seconds per solve."))
@click.option("--solver", default="highs", show_default=True, help=N_("LP solver (highs, glpk, ...)."))
@click.option("--progress/--no-progress", default=None, help=N_("Progress bar on stderr [default: on a terminal]."))
def batch(
    instances: tuple[Path, ...], out: Path, jobs: int | None, scenarios: Path | None,
    executor: Literal["process", "dask"],
    scheduler: str | None, time_limit: float | None, solver: str, progress: bool | None,
) -> None:
    """Solve every INSTANCE under every scenario, in parallel; exit code 1 if any job failed."""
    if scheduler and executor != "dask":
        raise click.UsageError("--scheduler needs --executor dask")
    from fluxopt.batch import solve_many

    try:
        table = solve_many(instances, scenarios=scenarios, jobs=jobs, executor=executor, scheduler=scheduler,
                           out=out, progress=progress, solver=solver, time_limit=time_limit)
    except PolicyError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(2) from None
    except RuntimeError as exc:  # e.g. the Dask extra is not installed
        raise click.ClickException(str(exc)) from None
    click.echo(table[SHOWN].to_string(index=False, na_rep="-", float_format=lambda v: f"{v:.4g}"))  # codes: data
    failed = table[table["status"] != "optimal"]
    for _i, row in failed.iterrows():
        click.echo(f"{row['instance']} [{row['scenario']}]: {row['status']}: {row['message']}", err=True)
    click.echo(_("{solved} of {total} solved; table in {path}").format(
        solved=len(table) - len(failed), total=len(table), path=out / "comparaison.csv"), err=True)
    if len(failed):
        raise SystemExit(1)


@command(help=N_("""Differences B - A between two result folders: shares per pair and stage objectives.

    \b
    Example:
      fluxopt compare /tmp/batch/gironde-33/base /tmp/batch/gironde-33/prefet25 --csv diff.csv
    """))
@click.argument("result_a", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("result_b", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--csv", "csv", type=click.Path(dir_okay=False, path_type=Path),
              help=N_("Write the pair table here and the objectives to <stem>-objectifs.csv."))
@click.option("--top", type=click.IntRange(min=0), default=20, show_default=True,
              help=N_("Pairs shown in the terminal (0: all)."))
def compare(result_a: Path, result_b: Path, csv: Path | None, top: int) -> None:
    """Differences B - A between two result folders: shares per pair and stage objectives."""
    from fluxopt.compare import compare_results, format_comparison, write_comparison

    try:
        comp = compare_results(result_a, result_b)
    except (OSError, KeyError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    for warning in comp.warnings:
        click.echo(f"fluxopt: warning: {warning}", err=True)
    click.echo(format_comparison(comp, top or None))
    if csv is not None:
        for path in write_comparison(comp, csv):
            click.echo(_("written: {path}").format(path=path), err=True)
