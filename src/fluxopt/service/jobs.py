"""Jobs: a bounded number of worker processes, a bounded queue, cancellation, time limits and clean-up.

Each job runs in its own process, started from a fork server that has imported fluxopt once, so that
a start costs a fork, a solve never blocks the event loop, and a worker that crashes or is killed
fails its job only. The event loop learns that a worker ended through its sentinel (no polling).
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
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from fluxopt.service.settings import Settings
from fluxopt.service.worker import OUTPUT_FILE, RESULT_FILE, RESULT_FOLDER, STATE_FILE, UPLOADS, Task, run

EN_ATTENTE, EN_COURS, TERMINE, ECHEC, ANNULE = "en_attente", "en_cours", "termine", "echec", "annule"


class Overloaded(Exception):
    """Every worker is busy and the queue is full."""


@dataclass(eq=False)
class Job:
    id: str
    folder: Path
    task: Task
    cree: float = field(default_factory=time.time)
    etat: str = EN_ATTENTE
    fin: float | None = None
    process: BaseProcess | None = None
    sortie: dict[str, Any] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    runner: asyncio.Task | None = None

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


def _wait_sentinel(process: BaseProcess) -> asyncio.Future:
    """A future set when ``process`` ends."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future = loop.create_future()

    def ended() -> None:
        loop.remove_reader(process.sentinel)
        if not future.done():
            future.set_result(None)

    loop.add_reader(process.sentinel, ended)
    future.add_done_callback(lambda _: loop.remove_reader(process.sentinel))
    return future


def _warm(context: Any) -> None:
    """Start the fork server (it imports fluxopt once) by running an empty process."""
    process = context.Process(target=int)
    process.start()
    process.join()


class JobManager:
    """The jobs of one service: at most ``settings.workers`` run at once, ``settings.file_attente`` wait."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._own_root = settings.dossier is None
        self.root = Path(tempfile.mkdtemp(prefix="fluxopt-service-")) if settings.dossier is None else settings.dossier
        self.root.mkdir(parents=True, exist_ok=True)
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(list(settings.preload))
        self.jobs: dict[str, Job] = {}
        self._slots: asyncio.Semaphore | None = None
        self._cleaner: asyncio.Task | None = None

    async def start(self) -> None:
        self._slots = asyncio.Semaphore(self.settings.workers)
        await asyncio.to_thread(_warm, self.context)
        self._cleaner = asyncio.create_task(self._clean_loop())

    async def stop(self) -> None:
        if self._cleaner is not None:
            self._cleaner.cancel()
        for job in list(self.jobs.values()):
            self._kill(job)
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
        assert self._slots is not None
        try:
            async with self._slots:
                if job.etat != EN_ATTENTE:
                    return
                job.etat = EN_COURS
                process = self.context.Process(target=run, args=(job.task, str(job.folder)), daemon=True)
                process.start()
                job.process = process
                try:
                    await asyncio.wait_for(_wait_sentinel(process), self.time_limit(job.task))
                except asyncio.TimeoutError:
                    process.kill()
                    await asyncio.to_thread(process.join)
                    self._finish(job, ECHEC, {"etat": "echec", "message":
                                              "le calcul a dépassé le temps permis par le serveur ; il a été arrêté"})
                    return
                process.join()
                if job.etat == ANNULE:
                    return
                await self._collect(job, process.exitcode)
        finally:
            job.done.set()

    async def _collect(self, job: Job, exitcode: int | None) -> None:
        path = job.folder / OUTPUT_FILE
        try:
            sortie = await asyncio.to_thread(lambda: json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            self._finish(job, ECHEC, {"etat": "echec", "message":
                                      f"le processus de calcul s'est arrêté sans résultat (code {exitcode})"})
            return
        self._finish(job, TERMINE if sortie["etat"] in ("termine", "valide") else ECHEC, sortie)

    @staticmethod
    def _finish(job: Job, etat: str, sortie: dict[str, Any]) -> None:
        job.etat, job.sortie, job.fin = etat, sortie, time.time()

    @staticmethod
    def _kill(job: Job) -> None:
        if job.process is not None and job.process.is_alive():
            job.process.kill()

    def remove(self, job: Job) -> str:
        """Cancel ``job`` if it waits or runs, and remove it and its files; returns what was done."""
        cancelled = job.etat in (EN_ATTENTE, EN_COURS)
        if cancelled:
            job.etat, job.fin = ANNULE, time.time()
            self._kill(job)
        self.jobs.pop(job.id, None)
        shutil.rmtree(job.folder, ignore_errors=True)
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
