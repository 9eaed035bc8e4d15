"""The documents' speed goals (issue 13) and the PDF engine comparison, in one run.

    python benchmarks/documents.py [--repeat 5] [--instance instances/gironde-33]

Solves the instance once and writes its result folder (not timed), then, ``--repeat`` times,
alternating: the report in HTML, in PDF by WeasyPrint (the engine fluxopt uses), in PDF by the
Typst Python package (the same context and SVG charts through ``benchmarks/typst/rapport.typ.j2``),
and every annex (docx). Each in-process measure starts from the result folder (reading it and the
instance included). The commands ``fluxopt rapport`` and ``fluxopt annexes`` are also timed as
subprocesses (interpreter start and imports included). Medians, min and max in seconds.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import fluxopt
from fluxopt.documents.annexes import write_annexes
from fluxopt.documents.content import report_context
from fluxopt.documents.dossier import load_dossier
from fluxopt.documents.report import charts, environment, write_report

HERE = Path(__file__).resolve().parent
GOALS = {"report HTML": 2.0, "report PDF (WeasyPrint)": 5.0, "annexes (docx)": 10.0}
TYPST_SPECIAL = re.compile(r"([\\#\[\]*_`$<>@~\"/=+-])")


def typst_text(value: object) -> str:
    """Text as Typst content markup (special characters escaped)."""
    return TYPST_SPECIAL.sub(r"\\\1", str(value))


def typst_pdf(folder: Path, instance: Path, out: Path) -> None:
    """The report in PDF through Typst: same context and charts as the HTML report."""
    import typst

    dossier = load_dossier(folder, instance=instance)
    context = report_context(dossier)
    drawn = charts(context)
    env = environment().overlay(loader=__import__("jinja2").FileSystemLoader(HERE / "typst"), autoescape=False)
    env.filters["t"] = typst_text
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for i, b in enumerate(context["bailleurs"], start=1):
            (root / f"chart-{i}.svg").write_text(drawn[b["id"]].svg, encoding="utf-8")
        if "cil" in drawn:
            (root / "chart-cil.svg").write_text(drawn["cil"].svg, encoding="utf-8")
        source = env.get_template("rapport.typ.j2").render(**context, charts=drawn)
        (root / "rapport.typ").write_text(source, encoding="utf-8")
        out.write_bytes(typst.compile(str(root / "rapport.typ"), root=str(root)))


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


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
            "report PDF (WeasyPrint)": lambda: write_report(folder, work / "rapport.pdf", instance=instance),
            "report PDF (Typst)": lambda: typst_pdf(folder, instance, work / "rapport-typst.pdf"),
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
        for _ in range(args.repeat):
            for name, action in cases.items():
                times[name].append(timed(action))
        sizes = {name: (work / f).stat().st_size for name, f in
                 (("report HTML", "rapport.html"), ("report PDF (WeasyPrint)", "rapport.pdf"),
                  ("report PDF (Typst)", "rapport-typst.pdf"))}
        pages = {}
        for name, f in (("report PDF (WeasyPrint)", "rapport.pdf"), ("report PDF (Typst)", "rapport-typst.pdf")):
            import pypdf

            pages[name] = len(pypdf.PdfReader(work / f).pages)
        conventions = len(list((work / "annexes").glob("*/*.docx")))
    print(f"# {instance.name}: {conventions} conventions; {args.repeat} runs alternating; "
          f"{platform.python_version()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}\n")
    print("| measure | median (s) | min | max | goal | size / pages |")
    print("|---|---|---|---|---|---|")
    for name, values in times.items():
        goal = GOALS.get(name)
        median = statistics.median(values)
        verdict = "" if goal is None else f"< {goal:g} s: {'met' if median < goal else 'NOT met'}"
        extra = ""
        if name in sizes:
            extra = f"{sizes[name] / 1024:.0f} KiB" + (f", {pages[name]} pages" if name in pages else "")
        print(f"| {name} | {median:.2f} | {min(values):.2f} | {max(values):.2f} | {verdict} | {extra} |")
    w, t = (statistics.median(times[k]) for k in ("report PDF (WeasyPrint)", "report PDF (Typst)"))
    print(f"\nTypst / WeasyPrint (report PDF, medians of this run): {t / w:.2f}")


if __name__ == "__main__":
    main()
