"""Helpers of the service tests: a real `fluxopt serve` subprocess, and instances in the forms it takes."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys
import time
import tomllib
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import httpx
from openpyxl import Workbook

ROOT = Path(__file__).resolve().parents[1]
INSTANCES = ROOT / "instances"
TABLES = ("patrimoine", "reservataires", "stock", "cil", "bailleurs")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(*options: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """Run `fluxopt serve` on a free port until the block ends; yields its base URL and process."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "fluxopt", "serve", "--port", str(port), *options],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/sante", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {process.stdout.read().decode() if process.stdout else ''}")
            time.sleep(0.1)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def document(folder: Path, prefix: str = "") -> dict[str, Any]:
    """The JSON form (SPEC §2) of a CSV instance folder; ``prefix`` renames bailleurs and réservataires."""
    meta = tomllib.loads((folder / "instance.toml").read_text(encoding="utf-8"))
    doc: dict[str, Any] = {"instance": meta}
    for table in TABLES:
        path = folder / f"{table}.csv"
        if path.exists():
            rows = list(csv.DictReader(path.open(encoding="utf-8-sig")))
            for row in rows:
                for key in ("bailleur", "reservataire"):
                    if key in row:
                        row[key] = prefix + row[key]
            doc[table] = rows
    return doc


def merged(names: list[str]) -> dict[str, Any]:
    """One instance made of several bundled départements (ids prefixed): a solve of a few seconds."""
    doc: dict[str, Any] = {"instance": {"nom": "fusion", "territoire": "33", "annee": 2025, "politique": "elan-2020"}}
    for name in names:
        part = document(INSTANCES / name, prefix=name.split("-")[-1])
        for table in TABLES:
            doc.setdefault(table, []).extend(part.get(table, []))
    return doc


def workbook(folder: Path, path: Path) -> Path:
    """An .xlsx workbook of a CSV instance folder (one sheet per table, `instance` as key | value)."""
    book = Workbook()
    sheet = book.active
    sheet.title = "instance"
    sheet.append(["cle", "valeur"])
    for key, value in tomllib.loads((folder / "instance.toml").read_text(encoding="utf-8")).items():
        if not isinstance(value, dict):
            sheet.append([key, value])
    for table in TABLES:
        source = folder / f"{table}.csv"
        if source.exists():
            ws = book.create_sheet(table)
            for row in csv.reader(source.open(encoding="utf-8-sig")):
                ws.append([float(c) if _number(c) else c for c in row])
    book.save(path)
    return path


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return not text.isdigit() or len(text) < 5  # codes (communes, EPCIs) stay texts


def zipped(folder: Path) -> bytes:
    """A .zip of a CSV instance folder (inside a folder of its name, as a file manager makes it)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, f"{folder.name}/{path.name}")
    return buffer.getvalue()


def golden(name: str) -> dict[str, float]:
    return json.loads((ROOT / "tests" / "golden" / name / "objectives.json").read_text(encoding="utf-8"))


def descendants(pid: int) -> list[int]:
    """The process ids below ``pid`` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out
