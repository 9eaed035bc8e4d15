"""Jobs: a pool of long-lived worker processes, a bounded queue, cancellation, time limits and clean-up.

``settings.workers`` worker processes are started from a fork server that has imported fluxopt and
solved a tiny instance once; each takes one job at a time, so that a solve never blocks the event
loop and a worker keeps its warm memory from one job to the next. A worker that crashes, is killed
by a cancellation or exceeds its time is replaced: it fails its job only. The event loop learns
that a job ended through the worker's pipe or its process sentinel (no polling).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from fluxopt.i18n import N_, _, using
from fluxopt.service.settings import Settings
from fluxopt.service.worker import OUTPUT_FILE, RESULT_FILE, RESULT_FOLDER, STATE_FILE, UPLOADS, Task, serve_tasks

EN_ATTENTE, EN_COURS, TERMINE, ECHEC, ANNULE = "en_attente", "en_cours", "termine", "echec", "annule"


class Overloaded(Exception):
    """Every worker is busy and the queue is full."""


def failure(code: str, message: str, params: dict[str, Any], langue: str) -> dict[str, Any]:
    """The outcome of a failed job: ``message`` (English, marked with ``N_``) in ``langue``, with its code."""
    with using(langue):
        return {"etat": ECHEC, "code": code, "message": _(message).format(**params), "parametres": params}


@dataclass(eq=False)
class Worker:
    """A worker process and the parent's end of its pipe."""

    process: BaseProcess
    connection: Connection

    @classmethod
    def start(cls, context: Any) -> "Worker":
        parent, child = context.Pipe()
        process = context.Process(target=serve_tasks, args=(child,), daemon=True)
        process.start()
        child.close()
        return cls(process, parent)

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()

    def close(self) -> None:
        self.kill()
        self.process.join(5)
        self.connection.close()


@dataclass(eq=False)
class Job:
    id: str
    folder: Path
    task: Task
    cree: float = field(default_factory=time.time)
    etat: str = EN_ATTENTE
    fin: float | None = None
    worker: Worker | None = None
    sortie: dict[str, Any] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    runner: asyncio.Task | None = None
    #: Seconds of each phase, in order (the service's ``Server-Timing``): ``requete`` (reading the body,
    #: set by the app), ``attente`` (for a worker), the worker's stages (``lecture``, ``construction``, ...),
    #: ``transmission`` (pipe and wake-ups, both ways), ``collecte`` (reading its outcome), ``reponse``.
    durees: dict[str, float] = field(default_factory=dict)
    #: When the job was queued (``time.perf_counter``).
    queued_at: float = field(default_factory=time.perf_counter)

    @property
    def etape(self) -> str | None:
        """The stage the worker reached (read from its ``etat.json``)."""
        if self.etat != EN_COURS:
            return None
        try:
            return str(json.loads((self.folder / STATE_FILE).read_text(encoding="utf-8"))["etape"])
        except (OSError, ValueError, KeyError):
            return "demarrage"

    @property
    def results(self) -> Path:
        """The result folder written by :func:`fluxopt.write_result`."""
        return self.folder / RESULT_FOLDER

    def result_bytes(self) -> bytes | None:
        """The result document as the worker wrote it (JSON bytes), or None."""
        try:
            return (self.folder / RESULT_FILE).read_bytes() if self.etat == TERMINE else None
        except OSError:
            return None


def _ended(worker: Worker) -> asyncio.Future:
    """A future set when ``worker`` answers on its pipe or its process ends."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future = loop.create_future()
    fds = (worker.connection.fileno(), worker.process.sentinel)

    def ready() -> None:
        if not future.done():
            future.set_result(None)

    for fd in fds:
        loop.add_reader(fd, ready)

    def forget(_: asyncio.Future) -> None:
        for fd in fds:
            loop.remove_reader(fd)

    future.add_done_callback(forget)
    return future


class JobManager:
    """The jobs of one service: at most ``settings.workers`` run at once, ``settings.file_attente`` wait."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._own_root = settings.dossier is None
        #: The jobs' folder: made when the service starts, removed when it stops (unless given).
        self.root = settings.dossier or Path(tempfile.gettempdir())
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(list(settings.preload))
        self.jobs: dict[str, Job] = {}
        self.workers: list[Worker] = []
        self._idle: asyncio.Queue[Worker] | None = None
        self._cleaner: asyncio.Task | None = None

    async def start(self) -> None:
        if self._own_root:
            self.root = Path(tempfile.mkdtemp(prefix="fluxopt-service-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self._idle = asyncio.Queue()
        for _index in range(self.settings.workers):
            await self._add_worker()
        self._cleaner = asyncio.create_task(self._clean_loop())

    async def _add_worker(self) -> None:
        assert self._idle is not None
        worker = await asyncio.to_thread(Worker.start, self.context)
        self.workers.append(worker)
        self._idle.put_nowait(worker)

    async def _replace(self, worker: Worker) -> None:
        await asyncio.to_thread(worker.close)
        self.workers.remove(worker)
        await self._add_worker()

    async def stop(self) -> None:
        if self._cleaner is not None:
            self._cleaner.cancel()
        for worker in self.workers:
            worker.kill()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    @property
    def busy(self) -> int:
        """Jobs waiting or running."""
        return sum(job.etat in (EN_ATTENTE, EN_COURS) for job in self.jobs.values())

    def submit(self, task: Task, upload: Path) -> Job:
        """Queue ``task`` on the uploaded file ``upload`` (moved into the job's folder); Overloaded when full."""
        if self.busy >= self.settings.workers + self.settings.file_attente:
            raise Overloaded
        job_id = uuid.uuid4().hex
        folder = self.root / job_id
        folder.mkdir()
        shutil.move(str(upload), folder / UPLOADS[task.forme])
        job = Job(job_id, folder, task)
        self.jobs[job_id] = job
        job.runner = asyncio.create_task(self._run(job))
        return job

    def time_limit(self, task: Task) -> float:
        """Wall-clock seconds a worker may take: the solver's limit plus a margin for reading and writing."""
        return (task.temps_max or self.settings.temps_max) + self.settings.marge

    async def _run(self, job: Job) -> None:
        assert self._idle is not None
        try:
            worker = await self._idle.get()
            if job.etat != EN_ATTENTE:  # cancelled while waiting
                self._idle.put_nowait(worker)
                return
            job.etat, job.worker = EN_COURS, worker
            sent = time.perf_counter()
            job.durees["attente"] = sent - job.queued_at
            try:
                worker.connection.send((job.task, str(job.folder)))
                await asyncio.wait_for(_ended(worker), self.time_limit(job.task))
            except asyncio.TimeoutError:
                worker.kill()
                self._finish(job, ECHEC, failure("temps_depasse", N_("the computation exceeded the time the server "
                                                                     "allows ({secondes} s); it was stopped"),
                                                 {"secondes": self.time_limit(job.task)}, job.task.langue))
                await self._replace(worker)
                return
            except OSError:  # the worker died before it got the task
                pass
            stages = self._answered(job, worker)
            if stages is not None:
                self._idle.put_nowait(worker)
                job.durees.update(stages)
                job.durees["transmission"] = time.perf_counter() - sent - sum(stages.values())
            else:
                await self._replace(worker)
            if job.etat == EN_COURS:
                collected = time.perf_counter()
                await self._collect(job, worker.process.exitcode)
                job.durees["collecte"] = time.perf_counter() - collected
        except Exception as exc:  # a fault of the service itself: the job fails with it, the service goes on
            if job.etat in (EN_ATTENTE, EN_COURS):
                self._finish(job, ECHEC, failure("erreur_service", N_("error of the service: {erreur}"),
                                                 {"erreur": f"{type(exc).__name__}: {exc}"}, job.task.langue))
        finally:
            job.done.set()

    @staticmethod
    def _answered(job: Job, worker: Worker) -> dict[str, float] | None:
        """The seconds of each stage if ``worker`` finished ``job`` and can take another (not killed, not
        crashed), else None."""
        if job.etat != EN_COURS:
            return None
        try:
            if not worker.connection.poll():
                return None
            stages = worker.connection.recv()
        except (EOFError, OSError):
            return None
        return stages if worker.process.is_alive() else None

    async def _collect(self, job: Job, exitcode: int | None) -> None:
        path = job.folder / OUTPUT_FILE
        try:
            sortie = await asyncio.to_thread(lambda: json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            self._finish(job, ECHEC, failure("calcul_interrompu", N_("the computing process stopped without a result "
                                                                     "(exit code {code_sortie})"),
                                             {"code_sortie": exitcode}, job.task.langue))
            return
        self._finish(job, TERMINE if sortie["etat"] in ("termine", "valide") else ECHEC, sortie)

    @staticmethod
    def _finish(job: Job, etat: str, sortie: dict[str, Any]) -> None:
        job.etat, job.sortie, job.fin = etat, sortie, time.time()

    def remove(self, job: Job) -> str:
        """Cancel ``job`` if it waits or runs (its worker is killed, then replaced), and remove it and its
        files; returns what was done."""
        cancelled = job.etat in (EN_ATTENTE, EN_COURS)
        if cancelled:
            if job.etat == EN_COURS and job.worker is not None:
                job.worker.kill()
            job.etat, job.fin = ANNULE, time.time()
        self.jobs.pop(job.id, None)
        # In a thread: unlinking a job's few files waits about 4 ms on the disk, which the event loop
        # (and the answer being sent) should not.
        asyncio.get_running_loop().run_in_executor(None, shutil.rmtree, job.folder, True)
        return "annule" if cancelled else "supprime"

    def expired(self, now: float) -> list[Job]:
        ttl = self.settings.duree_vie
        return [job for job in self.jobs.values() if job.fin is not None and now - job.fin > ttl]

    async def _clean_loop(self) -> None:
        period = max(1.0, min(60.0, self.settings.duree_vie / 4))
        while True:
            await asyncio.sleep(period)
            for job in self.expired(time.time()):
                self.remove(job)
