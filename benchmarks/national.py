"""National-scale benchmark of fluxopt (issue 6), measured in one run; writes benchmarks/RESULTS.md.

    python benchmarks/national.py [--seed 1] [--departements 101] [--work DIR] [--report FILE]

1. Generates the national set (``fluxopt.generate.generate``) and two size series from the
   national-set département whose stock is closest to the Gironde's (106,677 dwellings):
   that département at 1x, 2x, 4x and 8x (``generate_departement(..., scale=s)``: more
   dwellings, but the LP stops growing once every bailleur is in every commune), and 1, 2,
   4 and 8 départements from it on merged into one instance (ids prefixed by département):
   an LP 1x to 8x as large.
2. Solves the national set with ``solve_many`` at ``jobs=1`` then ``jobs=2`` (wall times:
   the speed-up), then the size series at ``jobs=1``.
3. Per job (from the comparison table): end to end in the worker (load, build, stages,
   write) against the time spent inside HiGHS's ``run()`` on the same LPs (the floor: the
   same warm-started stage LPs, nothing of fluxopt's), the build time, the worker's peak
   memory. Python start-up and imports are outside the per-job times and inside the walls.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import tempfile
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd

import fluxopt
from fluxopt.generate import generate, generate_departement, write_instance

GIRONDE_DWELLINGS = 106_677
SCALES = (1, 2, 4, 8)
GOALS = {"ratio": 1.5, "speedup": 1.7, "memory_mib": 2048}


def machine() -> dict[str, str]:
    """Cores, memory, CPU model, load and package versions of this run."""
    info = {"cores": str(os.cpu_count()), "python": platform.python_version(), "platform": platform.platform()}
    try:
        cpu = Path("/proc/cpuinfo").read_text()
        info["cpu"] = next(line.split(":", 1)[1].strip() for line in cpu.splitlines() if line.startswith("model name"))
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
        info["memory"] = f"{int(mem) / 1024 ** 2:.1f} GiB"
    except (OSError, StopIteration):
        info.update(cpu=platform.processor() or "unknown", memory="unknown")
    info["load average (1 min) at start"] = f"{os.getloadavg()[0]:.2f}"
    for package in ("pyomo", "highspy", "pandas", "numpy", "dask", "distributed"):
        try:
            info[package] = version(package)
        except PackageNotFoundError:
            info[package] = "not installed"
    info["fluxopt"] = fluxopt.__version__
    return info


def dwellings(folder: Path) -> int:
    return int(pd.read_csv(folder / "patrimoine.csv", usecols=["logements"])["logements"].sum())


def segments(folder: Path) -> int:
    return sum(1 for _ in (folder / "patrimoine.csv").open(encoding="utf-8")) - 1


def merge(folders: list[Path], out: Path) -> Path:
    """One instance holding several départements; bailleur and réservataire ids get a prefix."""
    out.mkdir(parents=True, exist_ok=True)
    renamed = {"patrimoine": ["bailleur"], "stock": ["bailleur", "reservataire"],
               "reservataires": ["reservataire"], "bailleurs": ["bailleur"], "cil": []}
    for table, columns in renamed.items():
        frames = []
        for folder in folders:
            frame = pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)
            code = folder.name.rsplit("-", 1)[1]
            for column in columns:
                frame[column] = code + "-" + frame[column]
            frames.append(frame)
        pd.concat(frames).to_csv(out / f"{table}.csv", index=False, lineterminator="\n")
    (out / "instance.toml").write_text((folders[0] / "instance.toml").read_text(encoding="utf-8")
                                       .replace('nom = "', f'nom = "{len(folders)} départements: '), encoding="utf-8")
    return out


def timed_batch(instances: list[Path], jobs: int, out: Path) -> tuple[pd.DataFrame, float]:
    """The comparison table with the instances' segments and LP variables; the wall time."""
    start = time.perf_counter()
    table = fluxopt.solve_many(instances, jobs=jobs, out=out, progress=True)
    wall = time.perf_counter() - start
    table["segments"] = [segments(p) for p in instances]
    table["variables"] = [json.loads((out / d / "summary.json").read_text(encoding="utf-8"))
                          .get("model_size", {}).get("variables", 0) for d in table["dossier"]]
    return table, wall


def fmt(value: float, digits: int = 2) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:,.{digits}f}"


def slope(sizes: list[float], times: list[float]) -> float:
    """Least-squares slope of log(time) on log(size): 1 is linear."""
    xs, ys = [math.log(s) for s in sizes], [math.log(t) for t in times]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def series_table(series: pd.DataFrame, label: str) -> list[str]:
    lines = [f"| {label} | segments | pairs | variables | load | build | stages | HiGHS | end to end | ratio | peak MiB |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in series.iterrows():
        lines.append(f"| {r['size']}× | {r['segments']:,} | {r['paires']:,} | {r['variables']:,} | "
                     f"{fmt(r['temps_chargement'])} | {fmt(r['temps_construction'])} | {fmt(r['temps_resolution'])} | "
                     f"{fmt(r['temps_solveur'])} | {fmt(r['temps_total'])} | {r['temps_total'] / r['temps_solveur']:.2f} | "
                     f"{r['memoire_max_mib']:,.0f} |")
    return lines


def report(info: dict[str, str], args: argparse.Namespace, national: pd.DataFrame, walls: dict[int, float],
           gironde: str, scaled: pd.DataFrame, series: pd.DataFrame, generation: float) -> str:
    ok = national[national["status"] == "optimal"]
    total, floor = ok["temps_total"].sum(), ok["temps_solveur"].sum()
    g = ok[ok["instance"] == gironde].iloc[0]
    ratio_g, ratio_n = g["temps_total"] / g["temps_solveur"], total / floor
    speedup = walls[1] / walls[2]
    peak = max(national["memoire_max_mib"].max(), scaled["memoire_max_mib"].max(), series["memoire_max_mib"].max())
    size = series["variables"].tolist()
    s_total, s_floor = slope(size, series["temps_total"].tolist()), slope(size, series["temps_solveur"].tolist())
    s_over = slope(size, (series["temps_total"] - series["temps_solveur"]).tolist())
    per = ok.assign(ratio=ok["temps_total"] / ok["temps_solveur"])
    large = per[per["temps_solveur"] >= 1]
    big = large["temps_total"].sum() / large["temps_solveur"].sum() if len(large) else float("nan")

    def goal(met: bool) -> str:
        return "**met**" if met else "**not met**"

    lines = [
        "# Benchmark: national scale", "",
        f"`python benchmarks/national.py --seed {args.seed} --departements {args.departements}`, one run; "
        "every ratio below comes from this run. Per-job times are measured inside the worker "
        "(load, build, stages, write); *HiGHS* is the time spent inside HiGHS's `run()` on the same "
        "stage LPs (warm-started, as fluxopt solves them): the floor for this model.", "",
        "## Machine", "", "| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in info.items()), "",
        "## Goals", "",
        "| goal | measured | |", "|---|---|---|",
        f"| end to end ≤ 1.5 × HiGHS, Gironde-scale ({gironde}) | {ratio_g:.2f} × | {goal(ratio_g <= GOALS['ratio'])} |",
        f"| end to end ≤ 1.5 × HiGHS, national set (sums) | {ratio_n:.2f} × | {goal(ratio_n <= GOALS['ratio'])} |",
        f"| near-linear in size (log-log slope of time on LP variables, merged 1–8 départements) | end to end "
        f"{s_total:.2f}; HiGHS {s_floor:.2f}; fluxopt's own part {s_over:.2f} | {goal(s_over <= 1.15)} for fluxopt's "
        f"part{'' if s_total <= 1.15 else ', not end to end: HiGHS itself is superlinear'} |",
        f"| jobs=2 ≥ 1.7 × jobs=1 (national set, wall) | {speedup:.2f} × | {goal(speedup >= GOALS['speedup'])} |",
        f"| < 2 GiB peak per worker | {peak:,.0f} MiB | {goal(peak < GOALS['memory_mib'])} |", "",
        "## National set", "",
        f"{len(national)} départements generated in {generation:.1f} s; {len(ok)} optimal, "
        f"{len(national) - len(ok)} failed.", "",
        "| | jobs=1 | jobs=2 |", "|---|---|---|",
        f"| wall time (s) | {walls[1]:.1f} | {walls[2]:.1f} |",
        f"| speed-up | 1 | {speedup:.2f} |", "",
        "Sums over the instances (jobs=1 run):", "",
        "| load | build | stages | of which HiGHS | write | end to end | end to end / HiGHS |",
        "|---|---|---|---|---|---|---|",
        f"| {fmt(ok['temps_chargement'].sum())} | {fmt(ok['temps_construction'].sum())} | "
        f"{fmt(ok['temps_resolution'].sum())} | {fmt(floor)} | {fmt(ok['temps_ecriture'].sum())} | "
        f"{fmt(total)} | {ratio_n:.2f} |", "",
        "End to end / HiGHS per instance: "
        + ", ".join(f"{q}: {per['ratio'].quantile(q / 100):.2f}" for q in (10, 50, 90))
        + f" (percentiles); over the instances where HiGHS takes ≥ 1 s: {big:.2f} (sums).", "",
        "The ten largest instances (jobs=1):", "",
        "| instance | segments | pairs | variables | load | build | stages | HiGHS | end to end | ratio | peak MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for _, r in per.sort_values("temps_solveur", ascending=False).head(10).iterrows():
        lines.append(f"| {r['instance']} | {r['segments']:,} | {r['paires']:,} | {r['variables']:,} | "
                     f"{fmt(r['temps_chargement'])} | "
                     f"{fmt(r['temps_construction'])} | {fmt(r['temps_resolution'])} | {fmt(r['temps_solveur'])} | "
                     f"{fmt(r['temps_total'])} | {r['ratio']:.2f} | {r['memoire_max_mib']:,.0f} |")
    lines += ["", "## Size series (jobs=1)", "",
              f"{gironde} merged with the next départements into one instance (1, 2, 4, 8 départements):", "",
              *series_table(series, "départements"), "",
              f"{gironde} generated at scale 1, 2, 4, 8 (more dwellings; the LP grows until every bailleur "
              "is in every commune, then stays):", "", *series_table(scaled, "scale")]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--departements", type=int, default=101)
    parser.add_argument("--work", type=Path, default=None, help="Working folder (default: a temporary one).")
    parser.add_argument("--report", type=Path, default=Path(__file__).with_name("RESULTS.md"))
    args = parser.parse_args()
    info = machine()
    with tempfile.TemporaryDirectory(prefix="fluxopt-bench-") as tmp:
        work = args.work or Path(tmp)
        t0 = time.perf_counter()
        national = generate(args.departements, seed=args.seed, out=work / "national")
        generation = time.perf_counter() - t0
        size = {p.name: dwellings(p) for p in national}
        gironde = min(size, key=lambda name: (abs(size[name] - GIRONDE_DWELLINGS), name))
        code = gironde.rsplit("-", 1)[1]
        scaled = [write_instance(generate_departement(code, seed=args.seed, scale=s), work / "echelle" / f"x{s}")
                  for s in SCALES]
        first = national.index(work / "national" / gironde)
        ring = national[first:] + national[:first]
        merged = [merge(ring[:k], work / "fusion" / f"fusion-{k}") for k in SCALES]

        walls = {}
        for jobs in (1, 2):
            table, walls[jobs] = timed_batch(national, jobs, work / f"resultats-jobs{jobs}")
            if jobs == 1:
                result = table
        scaled_table = timed_batch(scaled, 1, work / "resultats-echelle")[0].assign(size=list(SCALES))
        series = timed_batch(merged, 1, work / "resultats-fusion")[0].assign(size=list(SCALES))
        for name, table in (("national", result), ("echelle", scaled_table), ("fusion", series)):
            table.to_csv(args.report.with_name(f"{name}.csv"), index=False, lineterminator="\n")
        text = report(info, args, result, walls, gironde, scaled_table, series, generation)
        args.report.write_text(text, encoding="utf-8")
    print(f"written: {args.report}")


if __name__ == "__main__":
    main()
