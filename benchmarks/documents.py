"""The documents' speed goals (issue 13) and the PDF engine comparison, in one run.

    python benchmarks/documents.py [--repeat 5] [--instance instances/gironde-33]

Solves the instance once and writes its result folder (not timed), then, ``--repeat`` times,
alternating: the report in HTML, in PDF by the Typst Python package (what fluxopt uses: the same
context and SVG charts through ``rapport.typ.j2``), in PDF by WeasyPrint from the HTML report
itself (needs ``pip install weasyprint`` and Debian's Pango), and every annex (docx). Each in-process measure starts from the result folder
(reading it and the instance included). The commands ``fluxopt rapport`` and ``fluxopt annexes`` are also timed as
subprocesses (interpreter start and imports included). Medians, min and max in seconds.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import fluxopt
from fluxopt.documents.annexes import write_annexes
from fluxopt.documents.dossier import load_dossier
from fluxopt.documents.report import render_html, write_report

HERE = Path(__file__).resolve().parent
GOALS = {"report HTML": 2.0, "report PDF (Typst)": 5.0, "annexes (docx)": 10.0}


def weasyprint_pdf(folder: Path, instance: Path, out: Path) -> None:
    """The report in PDF through WeasyPrint (``pip install weasyprint``; Debian's Pango): the HTML
    report itself, whose stylesheet has the print rules (A4, page numbers)."""
    import weasyprint

    html = render_html(load_dossier(folder, instance=instance))
    fetcher = weasyprint.urls.URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
    out.write_bytes(weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf())


def cpu() -> float:
    """CPU seconds of this process and of its finished children (the machine is shared: wall
    times carry the other engineers' load, CPU times much less)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def timed(action: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of an action."""
    start, start_cpu = time.perf_counter(), cpu()
    action()
    return time.perf_counter() - start, cpu() - start_cpu


def wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--instance", type=Path, default=HERE.parent / "instances" / "gironde-33")
    args = parser.parse_args()
    instance = args.instance.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        folder = fluxopt.write_result(fluxopt.solve(instance), work / "r")
        fluxopt_cli = [sys.executable, "-m", "fluxopt"]
        cases: dict[str, Callable[[], object]] = {
            "report HTML": lambda: write_report(folder, work / "rapport.html", instance=instance),
            "report PDF (Typst)": lambda: write_report(folder, work / "rapport.pdf", instance=instance),
            "report PDF (WeasyPrint)": lambda: weasyprint_pdf(folder, instance, work / "rapport-weasyprint.pdf"),
            "annexes (docx)": lambda: write_annexes(folder, work / "annexes", instance=instance),
            "`fluxopt rapport --out rapport.html` (subprocess)":
                lambda: wall([*fluxopt_cli, "rapport", str(folder), "--out", str(work / "c.html"), "--instance", str(instance)]),
            "`fluxopt rapport --out rapport.pdf` (subprocess)":
                lambda: wall([*fluxopt_cli, "rapport", str(folder), "--out", str(work / "c.pdf"), "--instance", str(instance)]),
            "`fluxopt annexes` (subprocess)":
                lambda: wall([*fluxopt_cli, "annexes", str(folder), "--out", str(work / "ca"), "--instance", str(instance)]),
        }
        for action in cases.values():  # warm-up: imports, fonts, template compilation
            action()
        times: dict[str, list[float]] = {name: [] for name in cases}
        cpus: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.repeat):
            for name, action in cases.items():
                w, c = timed(action)
                times[name].append(w)
                cpus[name].append(c)
        sizes = {name: (work / f).stat().st_size for name, f in
                 (("report HTML", "rapport.html"), ("report PDF (Typst)", "rapport.pdf"),
                  ("report PDF (WeasyPrint)", "rapport-weasyprint.pdf"))}
        pages = {}
        for name, f in (("report PDF (Typst)", "rapport.pdf"), ("report PDF (WeasyPrint)", "rapport-weasyprint.pdf")):
            import pypdf

            pages[name] = len(pypdf.PdfReader(work / f).pages)
        conventions = len(list((work / "annexes").glob("*/*.docx")))
    print(f"# {instance.name}: {conventions} conventions; {args.repeat} runs alternating; "
          f"{platform.python_version()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}\n")
    print("| measure | wall median (s) | min | max | CPU median (s) | goal (wall) | size / pages |")
    print("|---|---|---|---|---|---|---|")
    for name, values in times.items():
        goal = GOALS.get(name)
        median = statistics.median(values)
        verdict = "" if goal is None else f"< {goal:g} s: {'met' if median < goal else 'NOT met'}"
        extra = ""
        if name in sizes:
            extra = f"{sizes[name] / 1024:.0f} KiB" + (f", {pages[name]} pages" if name in pages else "")
        print(f"| {name} | {median:.2f} | {min(values):.2f} | {max(values):.2f} | "
              f"{statistics.median(cpus[name]):.2f} | {verdict} | {extra} |")
    for label, table in (("wall", times), ("CPU", cpus)):
        w, t = (statistics.median(table[k]) for k in ("report PDF (WeasyPrint)", "report PDF (Typst)"))
        print(f"\nTypst / WeasyPrint (report PDF, {label} medians of this run): {t / w:.2f}")


if __name__ == "__main__":
    main()
