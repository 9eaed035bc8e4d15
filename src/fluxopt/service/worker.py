"""What runs in a worker process: read an uploaded instance, validate or solve it, write the job's files.

The parent (:mod:`fluxopt.service.jobs`) and the worker only share the job's folder:

- ``entree.json``, ``entree.xlsx`` or ``entree.zip``: the upload, as received;
- ``etat.json``: the stage reached (``lecture``, ``construction``, ``resolution``, ``explication``,
  ``ecriture``), rewritten atomically as the work goes on (asynchronous jobs only);
- ``sortie.json``: the outcome (``valide``, ``invalide``, ``termine``, ``echec``) with the problems, the
  instance's summary or the failure's message;
- ``resultat.json``: the result document (:func:`~fluxopt.jsondoc.result_document`), served
  as it is written (the service never parses it again);
- ``resultats/``: the result folder of :func:`fluxopt.write_result` (``resultats.xlsx``...).

A worker is a long-lived process (:func:`serve_tasks`): it takes one task at a time from its pipe
and answers on the same pipe, with the seconds each stage took, when the job's files are written. A
worker that dies leaves no ``sortie.json``: the parent then fails the job and starts another worker.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from fluxopt.api import solve_built
from fluxopt.builder import build
from fluxopt.explanations import explain
from fluxopt.flux import policy_problems
from fluxopt.instance import Instance, build_instance
from fluxopt.policy import available_policies
from fluxopt.problems import InstanceError, Problem, UsageError
from fluxopt.readers import RawInstance, read_raw
from fluxopt.i18n import _, using
from fluxopt.jsondoc import instance_summary, problems_list, result_document
from fluxopt.service.uploads import ServiceProblem, check_workbook, unpack_folder
from fluxopt.write import write_result

STATE_FILE = "etat.json"
OUTPUT_FILE = "sortie.json"
RESULT_FILE = "resultat.json"
RESULT_FOLDER = "resultats"
#: Upload file names by form.
UPLOADS = {"json": "entree.json", "xlsx": "entree.xlsx", "zip": "entree.zip"}


@dataclass(frozen=True)
class Task:
    """What a worker is asked: ``kind`` is ``valider`` or ``resoudre``; ``forme`` the upload's form."""

    kind: str
    forme: str
    nom: str
    politique: str | None = None
    surcharges: dict[str, Any] = field(default_factory=dict)
    temps_max: float | None = None
    ecrire: bool = True
    #: Write the stage reached to ``etat.json``, for ``GET /travaux`` (a synchronous job's is never read,
    #: and replacing a file costs about a millisecond of disk wait on a journaled file system).
    etapes: bool = True
    max_segments: int = 200_000
    max_droits: int = 1_000_000
    #: Segments beyond which the task is refused with a pointer to /travaux (synchronous solves).
    max_segments_synchrone: int | None = None
    #: Language of what people read in the result (workbook, explanations' texts).
    langue: str = "fr"
    #: Check the departures' reasons by counterfactual solves (``fluxopt explain``); else none is given.
    sensibilite: bool = True


def write_json(path: Path, value: Any) -> None:
    """Write ``value`` as compact JSON atomically (a reader never sees half a file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")), encoding="utf-8")
    os.replace(tmp, path)


def _source(task: Task, folder: Path) -> Path:
    upload = folder / UPLOADS[task.forme]
    if task.forme == "xlsx":
        check_workbook(upload, task.nom)
        return upload
    if task.forme == "zip":
        return unpack_folder(upload, folder / "instance", task.nom)
    return upload


def _service_problems(raw: RawInstance, task: Task) -> list[Problem]:
    """What the service refuses on top of the core checks: policy paths, and instances over its size limits."""
    problems: list[Problem] = []
    named = raw.meta.get("politique")
    known = available_policies()
    for where, name in (("politique", named), ("options", task.politique)):
        if isinstance(name, str) and name and name not in known:
            problems.append(ServiceProblem.coded(
                raw.meta_source if where == "politique" else "options", None, "politique", "politique_non_nommee",
                _("the service accepts only the named policies ({connues}), not '{politique}'"),
                {"connues": ", ".join(known), "politique": name[:60]}))
    sizes = {name: len(table.rows) for name, table in raw.tables.items()}
    if sizes.get("patrimoine", 0) > task.max_segments:
        problems.append(ServiceProblem.coded(raw.tables["patrimoine"].source, None, None, "instance_trop_grande",
                                             _("the instance has {segments} segments; the service accepts "
                                               "{maximum} at most"),
                                             {"segments": sizes["patrimoine"], "maximum": task.max_segments}))
    if sizes.get("stock", 0) > task.max_droits:
        problems.append(ServiceProblem.coded(raw.tables["stock"].source, None, None, "instance_trop_grande",
                                             _("the instance has {droits} rights; the service accepts {maximum} at most"),
                                             {"droits": sizes["stock"], "maximum": task.max_droits}))
    limit = task.max_segments_synchrone
    if limit is not None and sizes.get("patrimoine", 0) > limit:
        problems.append(ServiceProblem.coded(raw.tables["patrimoine"].source, None, None, "trop_grande_pour_synchrone",
                                             _("the instance has {segments} segments: beyond {limite}, submit it as "
                                               "an asynchronous job (POST /api/v1/travaux)"),
                                             {"segments": sizes["patrimoine"], "limite": limit}))
    return problems


def _load(task: Task, folder: Path) -> Instance:
    start = time.perf_counter()
    raw = read_raw(_source(task, folder))
    refused = _service_problems(raw, task)
    if refused:
        raise InstanceError([*refused, *raw.problems])
    return dataclasses.replace(build_instance(raw), load_seconds=time.perf_counter() - start)


class Stages:
    """The stage a job reached, written to ``etat.json`` for the parent, and the seconds each took."""

    def __init__(self, folder: Path, written: bool = True):
        self.folder, self.written = folder, written
        self.seconds: dict[str, float] = {}
        self._current: str | None = None
        self._start = time.perf_counter()

    def step(self, etape: str | None, shown: bool = True) -> None:
        """End the current stage; start ``etape`` (None: the job's files are written), written to
        ``etat.json`` when ``shown`` (the stages of the documented ``etape``) and the stages are written."""
        now = time.perf_counter()
        if self._current is not None:
            self.seconds[self._current] = now - self._start
        self._current, self._start = etape, now
        if etape is not None and shown and self.written:
            write_json(self.folder / STATE_FILE, {"etape": etape})


def run(task: Task, folder_name: str) -> dict[str, float]:
    """The body of a worker process: do ``task`` on the job folder ``folder_name`` and write ``sortie.json``;
    return the seconds each stage took. What people read (problems, result) is in the task's language,
    French unless asked otherwise."""
    stages = Stages(Path(folder_name), task.etapes)
    with using(task.langue):
        _run(task, stages)
    stages.step(None)
    return stages.seconds


def _run(task: Task, stages: Stages) -> None:
    folder = stages.folder
    try:
        stages.step("lecture")
        instance = _load(task, folder)
        if task.kind == "valider":
            policy = instance.policy.with_overrides(task.surcharges, "surcharges") if task.surcharges else instance.policy
            errors = policy_problems(instance, policy)
            out: dict[str, Any] = {"etat": "invalide" if errors else "valide",
                                   "problemes": problems_list([*instance.warnings, *errors])}
            if not errors:
                out["resume"] = instance_summary(instance)
            write_json(folder / OUTPUT_FILE, out)
            return
        stages.step("construction")
        built = build(instance, policy=task.politique, overrides=task.surcharges or None)
        stages.step("resolution")
        # temps_max covers the stages and then the counterfactual solves of the explanation.
        deadline = None if task.temps_max is None else time.monotonic() + task.temps_max
        result = solve_built(built, time_limit=task.temps_max, keep_duals=True, deadline=deadline, langue=task.langue,
                             keep_bases=task.sensibilite)
        stages.step("explication")
        with using(result.langue):
            explanation = explain(result, counterfactuals=task.sensibilite, deadline=deadline)
            if task.ecrire:
                stages.step("ecriture")
                write_result(result, folder / RESULT_FOLDER, explanation=explanation)
            stages.step("document", shown=False)
            write_json(folder / RESULT_FILE, result_document(result, explanation))
        write_json(folder / OUTPUT_FILE, {"etat": "termine"})
    except InstanceError as exc:
        write_json(folder / OUTPUT_FILE, {"etat": "invalide", "problemes": problems_list(exc.problems)})
    except UsageError as exc:
        write_json(folder / OUTPUT_FILE, {"etat": "invalide", "problemes": problems_list(
            [ServiceProblem("options", None, None, str(exc), code="option_invalide")])})
    except Exception as exc:  # a bug or a solver failure: the job fails with what happened
        write_json(folder / OUTPUT_FILE, {"etat": "echec", "code": "erreur_calcul", "message": f"{type(exc).__name__}: {exc}",
                                          "trace": traceback.format_exc(limit=5)})


def serve_tasks(connection: Connection) -> None:
    """A worker process's loop: receive (task, folder), run it, answer with its stages' seconds; stop at end
    of pipe."""
    while True:
        try:
            task, folder = connection.recv()
        except (EOFError, OSError):
            return
        connection.send(run(task, folder))
