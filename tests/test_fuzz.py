"""A seeded mutation campaign over the bundled instances (issue 10).

Each mutation changes one thing of ``instances/exemple`` or ``instances/creuse-23``: a cell set
to a nasty value (huge, negative, not finite, other digits, long, empty, wrong kind), a column
or a row removed or doubled, a file removed, emptied or garbled, a key of instance.toml changed.
Most go through the Python API (``validate`` and ``solve``), a few dozen through the real
command line in-process. Asserted: only clean outcomes (a result, or InstanceError/UsageError
through the API; exit 0, 2, 3 or 4 through the CLI, never 1 nor a traceback); an exit 2 names a
file, a row and a column when a cell was mutated; nothing is written on error.

``FLUXOPT_FUZZ_SEED`` and ``FLUXOPT_FUZZ_COUNT`` widen the campaign locally.
"""

from __future__ import annotations

import copy
import csv
import os
import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from inputs_support import document

import fluxopt
from fluxopt.cli import main
from fluxopt.problems import InstanceError, UsageError
from fluxopt.validate import validate

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "instances" / "exemple", ROOT / "instances" / "creuse-23"]
SEED = int(os.environ.get("FLUXOPT_FUZZ_SEED", "20261129"))
API_COUNT = int(os.environ.get("FLUXOPT_FUZZ_COUNT", "200"))
CLI_COUNT = max(API_COUNT // 6, 40)
DOC_COUNT = API_COUNT // 2 - 20

NASTY = [
    "", " ", "-1", "-0", "0", "1", "1.5", "-3.2", "9223372036854775807", "9223372036854775808",
    "-9223372036854775809", "1e308", "1e309", "-1e308", "1e16", "1" * 30, "nan", "NaN", "inf", "-inf",
    "Infinity", "1_000", "١٠٠", "٣٣", "１２", "0x1F", "1e3_0", "2,5", "1 000", "12 %", "150%", "oui", "non",
    "true", "vrai", "null", "None", "[1, 2]", "{}", "x" * 5000, "\ufeff12", "\u200b12", "é", "'", '"', '"unclosed',
    "\\", "\t", "=1+1", "2025", "-5", "1899", "2201", "33063", "0.0000001", "1e-320", "\ufffd", "🏠",
]
TOML_VALUES = [
    "2025", "-5", "1e300", "1" * 300, "[33]", "true", "{a = 1}", '"33"', '"2A"', '"abc"', "nan", "inf",
    '""', "[]", "[[1]]", '"elan-2020"', '"nosuch"', '"../../etc/passwd"', "2025.5",
]
TOML_KEYS = ["nom", "territoire", "annee", "politique"]
SURCHARGES = [
    "objectif.ordre = [[1]]", "objectif.ordre = [{a = 1}]", 'objectif.ordre = ["ecart_cil"]',
    "objectif.tolerance = inf", "objectif.tolerance = " + "9" * 200, "objectif.tolerance = 0.5",
    "plafonds.prefet = nan", "plafonds.prefet = 2", "plafonds.prefet = 0.25", "cil.strict = true",
    "cil.strict = 1", "comportement.prefet = [0.5, 0.1]", "comportement.prefet = [0, 1]", "nosuch.key = 1",
    "equivalence.methode = \"stock\"", "equivalence.methode = 3", "prefet.uniforme = false",
]


@dataclass
class Mutation:
    """What was changed: ``cell`` is (file, row, column) when one cell was set."""

    text: str
    cell: tuple[str, int, str] | None = None


def _read(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def _write(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)


def mutate(rng: random.Random, folder: Path) -> Mutation:
    """Apply one random mutation to the instance copied in ``folder``."""
    tables = sorted(folder.glob("*.csv"))
    kind = rng.choices(["cell", "cell2", "column", "row", "file", "toml", "surcharge"],
                       weights=[10, 3, 1, 1, 1, 2, 2])[0]
    if kind in ("cell", "cell2"):
        cells = []
        for _ in range(1 if kind == "cell" else 2):
            path = rng.choice(tables)
            rows = _read(path)
            if len(rows) < 2:
                continue
            row, col = rng.randrange(1, len(rows)), rng.randrange(len(rows[0]))
            value = rng.choice(NASTY)
            rows[row] += [""] * (len(rows[0]) - len(rows[row]))
            rows[row][col] = value
            _write(path, rows)
            cells.append((path.name, row + 1, rows[0][col], value))
        if not cells:
            return Mutation("nothing")
        name, row, col, value = cells[0]
        return Mutation(f"{kind} {cells!r:.200}", (name, row, col) if len(cells) == 1 else None)
    if kind == "column":
        path = rng.choice(tables)
        rows = _read(path)
        col = rng.randrange(len(rows[0]))
        how = rng.choice(["drop", "double", "rename"])
        for r in rows:
            r += [""] * (len(rows[0]) - len(r))
        if how == "drop":
            rows = [r[:col] + r[col + 1:] for r in rows]
        elif how == "double":
            rows = [r + [r[col]] for r in rows]
        else:
            rows[0][col] = rng.choice(["Logements", "logement", "", "x", rows[0][col].upper(), "stock"])
        _write(path, rows)
        return Mutation(f"column {how} {path.name}:{col}")
    if kind == "row":
        path = rng.choice(tables)
        rows = _read(path)
        row = rng.randrange(len(rows))
        how = rng.choice(["drop", "double", "short", "long"])
        if how == "drop":
            del rows[row]
        elif how == "double":
            rows.insert(row, list(rows[row]))
        elif how == "short":
            rows[row] = rows[row][: len(rows[row]) // 2]
        else:
            rows[row] = rows[row] + ["1", "2"]
        _write(path, rows)
        return Mutation(f"row {how} {path.name}:{row + 1}")
    if kind == "file":
        path = rng.choice([*tables, folder / "instance.toml"])
        how = rng.choice(["delete", "empty", "binary", "latin1", "utf16", "folder", "truncate", "semicolon"])
        data = path.read_bytes()
        if how == "delete":
            path.unlink()
        elif how == "empty":
            path.write_bytes(b"")
        elif how == "binary":
            path.write_bytes(bytes(rng.randrange(256) for _ in range(200)))
        elif how == "latin1":
            path.write_bytes(data.decode("utf-8").encode("latin-1", "replace") + "é".encode("latin-1"))
        elif how == "utf16":
            path.write_bytes(data.decode("utf-8").encode("utf-16"))
        elif how == "folder":
            path.unlink()
            path.mkdir()
        elif how == "truncate":
            path.write_bytes(data[: rng.randrange(len(data) + 1)])
        else:
            path.write_bytes(data.replace(b",", b";"))
        return Mutation(f"file {how} {path.name}")
    meta = folder / "instance.toml"
    text = meta.read_text(encoding="utf-8")
    if kind == "toml":
        key = rng.choice(TOML_KEYS)
        value = rng.choice(TOML_VALUES)
        text = re.sub(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
        meta.write_text(text, encoding="utf-8")
        return Mutation(f"toml {key} = {value:.40}")
    line = rng.choice(SURCHARGES)
    meta.write_text(text + f"\n[surcharges]\n{line}\n", encoding="utf-8")
    return Mutation(f"surcharge {line:.60}")


def _mutants(tmp_path: Path, seed: int, count: int) -> list[tuple[Path, Mutation]]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        folder = Path(shutil.copytree(rng.choice(SOURCES), tmp_path / f"m{i}"))
        out.append((folder, mutate(rng, folder)))
    return out


def test_fuzz_api(tmp_path: Path) -> None:
    """Through ``validate`` and ``solve``: a result or InstanceError/UsageError, nothing else."""
    outcomes = {"valid": 0, "invalid": 0}
    for folder, mutation in _mutants(tmp_path, SEED, API_COUNT):
        problems, instance = validate(folder)
        errors = [p for p in problems if p.severity == "error"]
        assert (instance is None) == bool(errors), mutation
        assert all(p.file for p in problems), mutation
        if mutation.cell is not None and errors:
            assert any(p.row is not None for p in errors), (mutation, errors)
        try:
            result = fluxopt.solve(folder, time_limit=30)
        except (InstanceError, UsageError) as exc:
            assert instance is None or not isinstance(exc, UsageError), mutation
            outcomes["invalid"] += 1
            continue
        except Exception as exc:  # pragma: no cover - what the campaign hunts
            pytest.fail(f"{mutation.text}: {type(exc).__name__}: {exc}")
        outcomes["valid"] += 1
        assert instance is not None, f"validate refused what solve accepted: {mutation.text}"
        assert result.status.value in ("optimal", "infeasible", "time_limit", "error"), mutation
        if result.has_solution:
            shares = result.shares
            assert (shares["logements"] >= -1e-6).all(), mutation
            assert (shares["flux_base"] >= 0).all(), mutation
    assert outcomes["valid"] > 10 and outcomes["invalid"] > 10, outcomes


def test_fuzz_cli(tmp_path: Path) -> None:
    """Through ``fluxopt solve`` in-process: exit 0/2/3/4, no traceback, exit 2 names file, row and
    column for a cell, and leaves ``--out`` absent."""
    runner = CliRunner()
    codes: dict[int, int] = {}
    for i, (folder, mutation) in enumerate(_mutants(tmp_path, SEED + 1, CLI_COUNT)):
        out = tmp_path / f"out{i}"
        result = runner.invoke(main, ["solve", str(folder), "--out", str(out), "--time-limit", "30", "-q"])
        code = result.exit_code
        codes[code] = codes.get(code, 0) + 1
        assert code in (0, 2, 3, 4), f"{mutation.text}: exit {code}\n{result.output}\n{result.exception!r}"
        assert result.exception is None or isinstance(result.exception, SystemExit), mutation
        assert "Traceback" not in result.output, mutation
        if code == 2:
            assert not out.exists(), f"written on error: {mutation.text}"
            if mutation.cell is not None:
                assert re.search(r"^error: [^,\n]+, row \d+, column '[^']+'", result.output, re.M), \
                    f"{mutation.text}\n{result.output}"
        else:
            assert (out / "summary.json").is_file(), mutation
            assert not [p for p in tmp_path.iterdir() if p.name.startswith(f".out{i}.")], mutation
    assert codes.get(2, 0) > 5 and codes.get(0, 0) > 5, codes


PY_VALUES = [2**63, -(2**63) - 1, 10**30, 10**400, float("nan"), float("inf"), -0.0, 1e308, True, False, None,
             [1], {"a": 1}, [], "", "1_000", "٣", "x" * 200_000, "Pr\ud800fet", 0.5, -1, 2025, "2025"]


def test_fuzz_documents() -> None:
    """Mappings of the JSON shape (the API's other input) with Python values of every kind."""
    rng = random.Random(SEED + 2)
    docs = [document(source) for source in SOURCES]
    for _ in range(DOC_COUNT):
        doc = copy.deepcopy(rng.choice(docs))
        for _ in range(rng.randint(1, 2)):
            part = rng.choice(["instance", "patrimoine", "reservataires", "stock", "stock"])
            value = rng.choice(PY_VALUES)
            if part == "instance":
                doc["instance"][rng.choice([*TOML_KEYS, "surcharges"])] = value
            else:
                record = rng.choice(doc[part])
                record[rng.choice(list(record))] = value
        try:
            problems, instance = validate(doc)
            if instance is not None:
                fluxopt.solve(doc, time_limit=30)
        except (InstanceError, UsageError):
            assert instance is not None
        except Exception as exc:  # pragma: no cover - what the campaign hunts
            pytest.fail(f"{type(exc).__name__}: {exc}")
