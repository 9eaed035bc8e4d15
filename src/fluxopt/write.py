"""Write a result folder safely (see ``docs/resultats.md``, "The output folder").

- **Checked first**: :func:`output_folder` checks, before any work, that the folder can be
  written (its nearest existing parent is a writable folder, its name is not too long), that it
  is not the input instance, inside it or holding it, and that it is absent, empty or an earlier
  result (nothing but :data:`RESULT_FILES`, with a fluxopt ``summary.json``) unless ``force``.
- **Locked**: a lock file ``.<name>.lock`` beside the folder is held (``fcntl.flock``) from the
  check until the write is done; a second run on the same folder fails at once with
  :class:`OutputError` (``fluxopt solve`` exits 2) instead of racing. On Windows (no ``fcntl``)
  the lock file is created exclusively and holds the owner's pid; a lock whose pid is dead is
  taken over.
- **Atomic**: everything is written into ``.<name>.tmp-<pid>-<random>``, then renamed into
  place (an earlier result is first moved to ``.<name>.old-<pid>`` and removed last).
- **Self-cleaning**: temporary folders of earlier runs that were killed (their pid is dead) are
  removed when the lock is taken; an earlier result left in ``.<name>.old-<pid>`` by a run killed
  between the two renames is put back first.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import IO, Any, Iterable, Iterator

from fluxopt.explanations import Explanation, explain
from fluxopt.i18n import using
from fluxopt.problems import UsageError
from fluxopt.result import Result
from fluxopt.workbook import write_workbook

TABLE_FILES = {"parts": "parts.csv", "segments": "segments.csv", "cil": "cil.csv", "bailleurs": "bailleurs.csv"}
SUMMARY_FILE = "summary.json"
WORKBOOK_FILE = "resultats.xlsx"
EXPLANATION_FILE = "explication.md"
SENSITIVITY_FILE = "sensibilite.csv"


def write_tables(result: Result, folder: Path) -> None:
    """The CSV tables (UTF-8, ',' separated, '.' decimals, LF line ends)."""
    for name, frame in result.tables.items():
        frame.to_csv(folder / TABLE_FILES[name], index=False, lineterminator="\n")


def write_summary(result: Result, folder: Path, write_seconds: float) -> None:
    summary = result.summary.to_dict()
    summary["timings"]["write"] = round(write_seconds, 4)
    text = json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=False)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate in a text given through the API: escape it
        data = json.dumps(summary, ensure_ascii=True, indent=2, sort_keys=False).encode("ascii")
    (folder / SUMMARY_FILE).write_bytes(data + b"\n")


#: The files a result folder may hold (``fluxopt solve`` and ``fluxopt batch``).
RESULT_FILES = frozenset({SUMMARY_FILE, WORKBOOK_FILE, EXPLANATION_FILE, SENSITIVITY_FILE, *TABLE_FILES.values()})
#: Keys of summary.json that mark an earlier fluxopt result (also the summary of a failed batch job).
RESULT_KEYS = frozenset({"status", "versions"})
#: Testing hook: seconds to pause once the temporary folder is written, before it is renamed
#: (lets a test kill a run mid-write). Never set it otherwise.
PAUSE_ENV = "FLUXOPT_TEST_WRITE_PAUSE"
_SCRATCH = re.compile(r"\.(?P<kind>tmp|old)-(?P<pid>[0-9]+)(-.*)?$")


class OutputError(UsageError):
    """The output folder cannot be used as asked; the message says why, in a sentence."""


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # alive but not ours, or cannot tell: keep its files
    return True


def _is_result_summary(path: Path) -> bool:
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(summary, dict) and RESULT_KEYS <= set(summary) and "fluxopt" in (summary.get("versions") or {})


def foreign_files(folder: Path) -> list[str]:
    """What in ``folder`` is not a previous result's file (every entry when its summary.json is not
    a fluxopt result); empty for an absent or empty folder, or an earlier result."""
    if not folder.is_dir():
        return []
    names = sorted(p.name for p in folder.iterdir())
    if not names:
        return []
    if not _is_result_summary(folder / SUMMARY_FILE):
        return names
    return [n for n in names if n not in RESULT_FILES or (folder / n).is_dir()]


def _contains(outer: Path, inner: Path) -> bool:
    return outer == inner or outer in inner.parents


def check_output(folder: str | Path, *, force: bool = False, protect: Iterable[str | Path] = ()) -> Path:
    """Check, before any work, that ``folder`` can receive a result; return it resolved.

    ``protect``: paths (the input instance) that the folder must not be, hold or lie in, even
    with ``force``. Raises :class:`OutputError` with a sentence.
    """
    try:
        return _check_output(folder, force, protect)
    except OSError as exc:  # a name too long, a folder that cannot be listed, ...
        raise OutputError(f"'{folder}' cannot be used as the output folder "
                          f"({exc.strerror or type(exc).__name__})") from None


def _check_output(folder: str | Path, force: bool, protect: Iterable[str | Path]) -> Path:
    out = Path(folder).expanduser().resolve()
    shown = str(folder)
    for path in protect:
        guarded = Path(path).expanduser().resolve()
        if _contains(out, guarded) or (guarded.is_dir() and _contains(guarded, out)):
            raise OutputError(f"the output folder '{shown}' is, holds or lies in the input instance '{path}'; "
                              "choose a folder outside it (the instance is never replaced, even with --force)")
    if out.exists() and not out.is_dir():
        raise OutputError(f"'{shown}' is a file, not a folder; choose a folder for the results")
    if out.parent == out:
        raise OutputError(f"'{shown}' is the root of the file system; choose a folder for the results")
    ancestor = out.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(f"'{shown}' cannot be created: '{ancestor}' is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputError(f"'{shown}' cannot be written: no permission to write in '{ancestor}' "
                          "(or a read-only file system)")
    try:
        name_max = os.pathconf(ancestor, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        name_max = 255
    longest = max(len(part.encode("utf-8", "surrogateescape")) for part in out.relative_to(ancestor).parts)
    if longest + 32 > name_max:  # room for '.<name>.tmp-<pid>-<random>'
        raise OutputError(f"'{shown}' cannot be written: a folder name is too long for the file system "
                          f"(at most {name_max - 32} characters here)")
    foreign = foreign_files(out)
    if foreign and not force:
        listed = ", ".join(foreign[:10]) + (f" and {len(foreign) - 10} more" if len(foreign) > 10 else "")
        raise OutputError(f"'{shown}' holds files that are not an earlier fluxopt result ({listed}); "
                          "choose another folder, or use --force to replace its content")
    return out


def instance_paths(source: str | Path) -> list[Path]:
    """The paths an output folder must keep clear of for an instance read from ``source``: the
    folder or file itself, and the folder of a CSV instance named by one of its files."""
    path = Path(source)
    try:
        if not path.exists():
            return []
        if path.is_file() and path.suffix.lower() in (".csv", ".toml"):
            return [path, path.parent]
    except OSError:
        return []
    return [path]


class _Lock:
    """An exclusive lock on ``.<name>.lock`` beside a result folder (not waiting: OutputError if held)."""

    def __init__(self, folder: Path):
        self.path = folder.with_name(f".{folder.name}.lock")
        self.handle: IO[str] | None = None
        self.created: list[Path] = []  # parent folders made for the lock, removed again if left empty

    def acquire(self) -> None:
        try:
            missing = self.path.parent
            while not missing.exists():
                self.created.append(missing)
                missing = missing.parent
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._acquire()
        except OSError as exc:
            raise OutputError(f"the lock file '{self.path}' cannot be created ({exc.strerror or exc})") from None

    def _acquire(self) -> None:
        try:
            import fcntl
        except ImportError:  # Windows
            self._acquire_exclusive()
            return
        for _ in range(20):  # the file may be unlinked by its holder between open and flock: retry
            handle = open(self.path, "a+", encoding="utf-8")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.seek(0)
                holder = handle.read().strip()
                handle.close()
                raise OutputError(f"another fluxopt run{f' (pid {holder})' if holder else ''} is writing to "
                                  f"'{self.path.parent / self.path.name[1:-5]}'; wait for it to finish or choose "
                                  "another folder") from None
            try:
                same = os.path.samestat(os.fstat(handle.fileno()), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                handle.seek(0)
                handle.truncate()
                handle.write(str(os.getpid()))
                handle.flush()
                self.handle = handle
                return
            handle.close()
        raise OutputError(f"the lock file '{self.path}' keeps changing; try again")

    def _acquire_exclusive(self) -> None:
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                try:
                    holder = int(self.path.read_text(encoding="utf-8").strip() or 0)
                except (OSError, ValueError):
                    holder = 0
                if holder and _pid_alive(holder):
                    raise OutputError(f"another fluxopt run (pid {holder}) is writing beside '{self.path}'") from None
                self.path.unlink(missing_ok=True)  # a stale lock of a dead run
                continue
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            return
        raise OutputError(f"the lock file '{self.path}' cannot be taken; remove it if no fluxopt run is writing")

    def release(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()  # while still held: a waiting opener sees another inode and retries
        if self.handle is not None:
            self.handle.close()
            self.handle = None
        for folder in self.created:  # innermost first; a folder holding the result is not empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        self.created = []


def clean_stale(folder: Path) -> list[Path]:
    """Remove the scratch folders of earlier runs on ``folder`` whose process is dead (call with the
    lock held); an earlier result left aside by a run killed between its two renames is put back."""
    removed: list[Path] = []
    prefix = f".{folder.name}."
    try:
        entries = sorted(folder.parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(prefix) or not entry.is_dir():
            continue
        match = _SCRATCH.fullmatch(entry.name[len(prefix) - 1:])
        if match is None or _pid_alive(int(match["pid"])):
            continue
        if match["kind"] == "old" and not folder.exists():
            entry.rename(folder)
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


class OutputFolder:
    """A checked, locked output folder (see the module's docstring); use as a context manager."""

    def __init__(self, folder: str | Path, *, force: bool = False, protect: Iterable[str | Path] = ()):
        self.requested = Path(folder)
        self.path = check_output(folder, force=force, protect=protect)
        self.force = force
        self._lock = _Lock(self.path)
        self.cleaned: list[Path] = []

    def __enter__(self) -> "OutputFolder":
        self._lock.acquire()
        try:
            self.cleaned = clean_stale(self.path)
        except BaseException:
            self._lock.release()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self._lock.release()

    def write(self, result: Result, *, workbook: bool = True, explanation: Explanation | bool = True) -> Path:
        """Write ``result`` atomically into the folder (checked again: it may have changed meanwhile)."""
        check_output(self.requested, force=self.force)
        return _write_atomic(result, self.path, workbook=workbook, explanation=explanation)


@contextlib.contextmanager
def output_folder(folder: str | Path, *, force: bool = False,
                  protect: Iterable[str | Path] = ()) -> Iterator[OutputFolder]:
    """Check and lock ``folder`` for the duration of the block (:class:`OutputError` if it cannot be used)."""
    with OutputFolder(folder, force=force, protect=protect) as out:
        yield out


def write_result(result: Result, folder: str | Path, *, workbook: bool = True,
                 explanation: Explanation | bool = True, force: bool = False) -> Path:
    """Write the result folder as ``fluxopt solve`` does: summary.json, the CSV tables,
    resultats.xlsx (unless ``workbook`` is false) and, when the proposal departs from
    equivalence, explication.md (``explanation``: one already computed, True to compute it
    without counterfactual solves, False for none) and, when the explanation's reasons were
    checked (``fluxopt.explain(result)``), sensibilite.csv. ``fluxopt batch`` writes the CSV
    tables and summary.json only.

    Checked, locked and atomic like ``fluxopt solve``'s (module docstring): an existing folder
    is replaced only when it is an earlier result (or with ``force``), and only once everything
    is written. Raises :class:`OutputError` when the folder cannot be used. What people read is
    in ``result.langue``.
    """
    with output_folder(folder, force=force, protect=instance_paths(result.instance.source)) as out:
        return out.write(result, workbook=workbook, explanation=explanation)


def _write_atomic(result: Result, folder: Path, *, workbook: bool, explanation: Explanation | bool) -> Path:
    """Write into a scratch folder beside ``folder``, then put it in its place; what people read
    is in ``result.langue``."""
    with using(result.langue):
        return _write_scratch(result, folder, workbook=workbook, explanation=explanation)


def _write_scratch(result: Result, folder: Path, *, workbook: bool, explanation: Explanation | bool) -> Path:
    start = time.perf_counter()
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-{os.getpid()}-", dir=folder.parent))
    except OSError as exc:
        raise OutputError(f"'{folder}' cannot be written ({exc.strerror or exc})") from None
    umask = os.umask(0)
    os.umask(umask)
    try:
        tmp.chmod(0o777 & ~umask)
        computed = explain(result, counterfactuals=False) if explanation is True else explanation \
            if isinstance(explanation, Explanation) else None
        if result.has_solution:
            write_tables(result, tmp)
            if workbook:
                write_workbook(result, tmp / WORKBOOK_FILE, computed)
        if computed is not None and not computed.is_empty():
            (tmp / EXPLANATION_FILE).write_text(computed.to_markdown(), encoding="utf-8")
        if computed is not None and computed.checked and computed.pairs:
            computed.sensitivity().to_csv(tmp / SENSITIVITY_FILE, index=False, lineterminator="\n")
        write_summary(result, tmp, time.perf_counter() - start)
        if os.environ.get(PAUSE_ENV):
            time.sleep(float(os.environ[PAUSE_ENV]))
        _replace(tmp, folder)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(f"'{folder}' cannot be written ({exc.strerror or exc}); nothing was changed") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def _replace(tmp: Path, folder: Path) -> None:
    """Put ``tmp`` in the place of ``folder`` (an earlier folder is moved aside, then removed)."""
    if not folder.exists():
        tmp.rename(folder)
        return
    old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
    if old.exists():
        shutil.rmtree(old)
    folder.rename(old)
    try:
        tmp.rename(folder)
    except BaseException:
        old.rename(folder)  # the earlier result stays where it was
        raise
    shutil.rmtree(old, ignore_errors=True)
