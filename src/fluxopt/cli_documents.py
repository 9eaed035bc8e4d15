"""Command-line ``fluxopt rapport`` and ``fluxopt annexes`` (registered on the ``fluxopt`` group).

Both read a result folder written by ``fluxopt solve``; exit 2 (nothing written) when the folder
or its instance cannot be read, or when the ``documents`` extra is not installed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Callable, NoReturn

import click

from fluxopt.cli_help import command
from fluxopt.i18n import N_
from fluxopt.problems import InstanceError, UsageError

EXIT_INVALID = 2
RESULT = click.argument("result", type=click.Path(exists=True, file_okay=False, path_type=Path))
INSTANCE = click.option("--instance", type=click.Path(exists=True, path_type=Path), metavar="PATH",
                        help=N_("The solved instance, when it is not found by the name recorded in summary.json "
                             "(next to RESULT, in the current folder or in ./instances); checked by its SHA-256."))


def _fail(lines: list[str]) -> NoReturn:
    for line in lines:
        click.echo(line, err=True)
    sys.exit(EXIT_INVALID)


def _run(action: Callable[[], Any]) -> Any:
    """Run a documents action; input problems and a missing extra exit 2 with plain sentences."""
    try:
        return action()
    except InstanceError as exc:
        _fail([*(str(p) for p in exc.problems), "fluxopt: the result cannot be read, nothing written"])
    except UsageError as exc:
        _fail([f"fluxopt: {exc}"])
    except ImportError as exc:
        _fail([f"fluxopt: the documents need the 'documents' extra ({exc.name} is missing): "
               "pip install 'fluxopt-logement[documents]'"])


@command("rapport", help=N_("""Write the French report of the territory solved in RESULT, as HTML or PDF.

    \b
    Example:
      fluxopt solve instances/gironde-33 --out r && fluxopt rapport r --out r/rapport.pdf
    """))
@RESULT
@click.option("--out", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help=N_("rapport.html (one standalone page) or rapport.pdf."))
@INSTANCE
def rapport(result: Path, out: Path, instance: Path | None) -> None:
    """Write the French report of the territory solved in RESULT, as HTML or PDF."""
    start = time.perf_counter()

    def action() -> Path:
        from fluxopt.documents.report import write_report

        return write_report(result, out, instance=instance)

    path = _run(action)
    click.echo(f"wrote {path} ({time.perf_counter() - start:.2f} s)", err=True)


@command("annexes", help=N_("""Write one annex per convention (bailleur × réservataire) of RESULT, editable (.docx).

    \b
    Example:
      fluxopt annexes r --out r/annexes --zip
    """))
@RESULT
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help=N_("Folder of the annexes: DIR/<bailleur>/<reservataire>.docx and annexes.csv."))
@click.option("--pdf", is_flag=True, help=N_("Also write a PDF next to each .docx."))
@click.option("--zip", "archive", is_flag=True, help=N_("Also write DIR/annexes.zip holding every annex."))
@INSTANCE
def annexes(result: Path, out: Path, pdf: bool, archive: bool, instance: Path | None) -> None:
    """Write one annex per convention (bailleur × réservataire) of RESULT, editable (.docx)."""
    start = time.perf_counter()

    def action() -> list[Path]:
        from fluxopt.documents.annexes import write_annexes

        return write_annexes(result, out, pdf=pdf, archive=archive, instance=instance)

    paths = _run(action)
    click.echo(f"wrote {len(paths)} files in {out} ({time.perf_counter() - start:.2f} s)", err=True)
