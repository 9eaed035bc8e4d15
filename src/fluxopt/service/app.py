"""The HTTP service (issue 14): the JSON API under ``/api/v1``, the page at ``/``, the health check.

Requests carry an instance as the JSON document of SPEC §2 (``Content-Type: application/json``) or as
a multipart upload (field ``fichier``: an .xlsx workbook or a .zip of the CSV folder). Options go in
the query string for JSON (``?politique=elan-2020&temps_max=30&surcharges={"cil.strict":true}``) and
as form fields for multipart. Every validation and solve runs in a worker process (:mod:`.jobs`).

What people read is in the request's language: the ``langue`` option, else the first language of
``Accept-Language`` that fluxopt has, else French. The service's refusals are
``{"code", "erreur", "parametres"}``: a stable code and its values for programs, the sentence for people.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import math
import shutil
import tempfile
import time
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, AsyncIterator, BinaryIO

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.datastructures import UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from swagger_ui_bundle import swagger_ui_path

from fluxopt._version import __version__
from fluxopt.i18n import N_, _, using
from fluxopt.service import documents
from fluxopt.jsondoc import INSTANCE_SCHEMA_VERSION, RESULT_SCHEMA_VERSION
from fluxopt.service.langues import LANGUES, request_language
from fluxopt.service.jobs import ANNULE, ECHEC, EN_COURS, TERMINE, Job, JobManager, Overloaded, failure
from fluxopt.service.policies import policies
from fluxopt.service.settings import Settings
from fluxopt.service.worker import Task

PACKAGE = resources.files("fluxopt.service")
#: Seconds a client is asked to wait when the queue is full.
RETRY_AFTER = 5


class TooLarge(Exception):
    pass


class Refusal(HTTPException):
    """A refusal of the service: a stable ``code`` for programs, and ``message`` (English, marked with
    ``N_``; translated in the request's language when answered) filled with ``params``."""

    def __init__(self, status: int, code: str, message: str, params: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(status, message, headers)
        self.code, self.params = code, params or {}


class BodyLimit:
    """Refuse a request body larger than ``limit`` bytes with 413, announced or streamed."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, send)
            return
        received, started = 0, False

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise TooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, tracked)
        except TooLarge:
            if not started:
                await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        request = Request(scope)
        langue = request_language(request.query_params.get("langue"), request.headers.get("accept-language"))
        refusal = Refusal(413, "requete_trop_grande", N_("the request exceeds the size the server allows ({mo} MB)"),
                          {"mo": _megabytes(self.limit), "octets": self.limit})
        await _error(refusal, langue)(scope, _no_receive, send)


def _megabytes(size: int) -> float | int:
    """``size`` bytes in MB, whole when it is, else to a tenth."""
    mb = round(size / 1024 ** 2, 1)
    return int(mb) if mb.is_integer() else mb


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def _error(refusal: Refusal, langue: str) -> JSONResponse:
    """``refusal`` as JSON: its code, its sentence in ``langue`` and its parameters."""
    with using(langue):
        sentence = _(refusal.detail).format(**refusal.params)
    return JSONResponse({"code": refusal.code, "erreur": sentence, "parametres": refusal.params},
                        status_code=refusal.status_code, headers=refusal.headers)


def _schema_dir() -> Path:
    """schemas/ of the installed package, else of the source tree."""
    packaged = Path(str(resources.files("fluxopt"))) / "schemas"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[3] / "schemas"


def _option_float(value: Any, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Refusal(422, "option_non_numerique", N_("the option '{option}' must be a number of seconds, not "
                                                      "'{valeur}'"), {"option": name, "valeur": str(value)[:40]}) from None
    if not math.isfinite(number) or number <= 0:
        raise Refusal(422, "option_non_positive", N_("the option '{option}' must be a positive number of seconds"),
                      {"option": name, "valeur": str(value)[:40]})
    return number


#: The yes/no values of a boolean option (``sensibilite``).
_YES, _NO = ("1", "true", "oui", "vrai", "yes"), ("0", "false", "non", "faux", "no")


def _option_bool(value: Any, name: str) -> bool:
    text = str(value).strip().lower()
    if text in _YES or text in _NO:
        return text in _YES
    raise Refusal(422, "option_non_booleenne", N_("the option '{option}' is true or false, not '{valeur}'"),
                  {"option": name, "valeur": str(value)[:40]})


def _surcharges(text: Any) -> dict[str, Any]:
    if text in (None, ""):
        return {}
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        raise Refusal(422, "surcharges_invalides", N_("the option 'surcharges' must be a JSON object, for example "
                                                      "{exemple}"), {"exemple": '{"plafonds.prefet": 0.25}'}) from None
    if not isinstance(value, dict):
        raise Refusal(422, "surcharges_invalides", N_("the option 'surcharges' must be a JSON object of policy keys "
                                                      "and values"))
    return value


def _openapi_instance(result: bool) -> dict[str, Any]:
    """The OpenAPI description of a request carrying an instance (read by hand from the raw request)."""
    folder = _schema_dir()
    instance = json.loads((folder / f"instance-{INSTANCE_SCHEMA_VERSION.split('.')[0]}.json").read_text(encoding="utf-8"))
    options = {
        "politique": {"type": "string", "description": "a policy name (GET /api/v1/politiques)"},
        "surcharges": {"type": "string", "description": 'JSON object of dotted policy keys, e.g. {"plafonds.prefet": 0.25}'},
        "temps_max": {"type": "number", "description": "solver time limit in seconds"},
        "langue": {"type": "string", "enum": list(LANGUES)},
    }
    extra: dict[str, Any] = {
        "parameters": [{"name": k, "in": "query", "required": False, "schema": v,
                        "description": "for a JSON body (multipart: a form field)"} for k, v in options.items()],
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": {k: v for k, v in instance.items() if not k.startswith("$")}},
            "multipart/form-data": {"schema": {"type": "object", "required": ["fichier"], "properties": {
                "fichier": {"type": "string", "format": "binary",
                            "description": "an .xlsx workbook, a .zip of the CSV folder or a .json document"},
                **options}}}}},
    }
    if result:
        extra["responses"] = {"200": {"description": "the result document (schemas/resultat-1.json) under `resultat`"},
                              "422": {"description": "invalid input: `problemes`"},
                              "503": {"description": "queue full; see Retry-After"}}
    return extra


def create_app(settings: Settings | None = None) -> FastAPI:
    """The ASGI application with its own job manager (started and stopped with the app)."""
    settings = settings or Settings.from_env()
    manager = JobManager(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await manager.start()
        yield
        await manager.stop()

    app = FastAPI(title="fluxopt", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Conversion des droits de réservation en stock en flux annuels (loi ELAN, "
                              "décret 2020-145) : API JSON et page web.")
    app.state.manager = manager
    app.state.settings = settings
    templates = Jinja2Templates(directory=str(PACKAGE / "templates"))
    app.mount("/static", StaticFiles(directory=str(PACKAGE / "static")), name="static")

    @app.exception_handler(Refusal)
    async def refused(request: Request, exc: Refusal) -> JSONResponse:
        chosen = getattr(request.state, "langue", None) or request.query_params.get("langue")
        return _error(exc, request_language(chosen, request.headers.get("accept-language")))

    def authorised(request: Request) -> None:
        if settings.jeton is None:
            return
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {settings.jeton}".encode()):
            raise Refusal(401, "jeton_invalide", N_("missing or wrong access token (header Authorization: Bearer ...)"),
                          headers={"WWW-Authenticate": "Bearer"})

    api = APIRouter(prefix="/api/v1", dependencies=[Depends(authorised)])

    async def read_request(request: Request) -> tuple[Path, str, str, dict[str, Any]]:
        """Save the uploaded instance to a temporary file; return it, its form, its name and the options."""
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        tmp = Path(tempfile.mkstemp(prefix="envoi-", dir=manager.root)[1])
        try:
            if kind == "multipart/form-data":
                form = await request.form(max_files=1, max_fields=20)
                upload = form.get("fichier")
                request.state.langue = form.get("langue")
                if not isinstance(upload, UploadFile):
                    raise Refusal(422, "champ_fichier_manquant", N_("the field 'fichier' (an .xlsx workbook or a .zip "
                                                                    "of the folder) is missing"))
                name = Path(upload.filename or "instance").name
                suffix = Path(name).suffix.lower()
                if suffix not in (".xlsx", ".zip", ".json"):
                    raise Refusal(422, "format_non_accepte", N_("the file '{fichier}' is neither an .xlsx workbook, nor "
                                                                "a .zip of CSV files, nor a .json document"),
                                  {"fichier": name[:80]})
                await asyncio.to_thread(_save, upload.file, tmp)
                options: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
                return tmp, suffix[1:], name, options
            if kind in ("application/json", ""):
                body = bytearray()  # at most --max-taille (BodyLimit)
                async for chunk in request.stream():
                    body += chunk
                await asyncio.to_thread(tmp.write_bytes, body)  # a disk write may wait: not in the event loop
                return tmp, "json", "instance (JSON)", dict(request.query_params)
            raise Refusal(415, "type_non_accepte", N_("send a JSON document (application/json) or a file "
                                                      "(multipart/form-data, field 'fichier')"))
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def make_task(kind: str, forme: str, name: str, options: dict[str, Any], synchrone: bool, langue: str) -> Task:
        if options.get("langue") and options["langue"] not in LANGUES:
            raise Refusal(422, "langue_inconnue", N_("the option 'langue' is {langues}, not '{valeur}'"),
                          {"langues": " / ".join(LANGUES), "valeur": str(options["langue"])[:20]})
        temps = _option_float(options["temps_max"], "temps_max") if options.get("temps_max") else settings.temps_defaut
        if temps > settings.temps_max:
            raise Refusal(422, "temps_max_trop_grand", N_("the option 'temps_max' exceeds the server's maximum "
                                                          "({maximum} s)"), {"maximum": settings.temps_max})
        return Task(kind=kind, forme=forme, nom=name, politique=options.get("politique") or None,
                    surcharges=_surcharges(options.get("surcharges")), temps_max=temps, ecrire=not synchrone,
                    etapes=not synchrone, max_segments=settings.max_segments, max_droits=settings.max_droits,
                    max_segments_synchrone=settings.max_segments_synchrone if synchrone and kind == "resoudre" else None,
                    langue=langue, sensibilite=_option_bool(options.get("sensibilite", "true"), "sensibilite"))

    async def submit(request: Request, kind: str, synchrone: bool) -> Job:
        start = time.perf_counter()
        path, forme, name, options = await read_request(request)
        langue = request_language(options.get("langue"), request.headers.get("accept-language"))
        try:
            job = manager.submit(make_task(kind, forme, name, options, synchrone, langue), path)
            job.durees["requete"] = time.perf_counter() - start
            return job
        except Overloaded:
            raise Refusal(503, "serveur_occupe", N_("the server is busy: every place in its queue is taken; try again "
                                                    "in a few seconds"), {"reessayer_dans": RETRY_AFTER},
                          headers={"Retry-After": str(RETRY_AFTER)}) from None
        finally:
            path.unlink(missing_ok=True)

    def with_result(view: dict[str, Any], result: bytes | None, status: int = 200) -> Response:
        """``view`` as JSON, with the worker's result document spliced in as ``resultat`` (never re-parsed)."""
        text = json.dumps(view, ensure_ascii=False, separators=(",", ":")).encode()
        if result is not None:
            text = text[:-1] + b',"resultat":' + result + b"}"
        return Response(text, status_code=status, media_type="application/json")

    async def answer(job: Job, ok: str) -> Response:
        """Wait for a synchronous job, answer with its outcome (422 invalid input, 500 failure), remove it."""
        try:
            await job.done.wait()
            start = time.perf_counter()
            sortie = job.sortie or failure("travail_annule", N_("the job was cancelled"), {}, job.task.langue)
            status = 200 if sortie["etat"] == ok else 422 if sortie["etat"] == "invalide" else 500
            result = await asyncio.to_thread(job.result_bytes)
            response = with_result({k: v for k, v in sortie.items() if k != "trace"}, result, status)
            job.durees["reponse"] = time.perf_counter() - start
            response.headers["Server-Timing"] = ", ".join(f"{name};dur={1000 * seconds:.1f}"
                                                          for name, seconds in job.durees.items())
            return response
        finally:
            if job.etat != EN_COURS:
                manager.remove(job)

    @api.post("/valider", summary="Valider une instance", tags=["instances"], openapi_extra=_openapi_instance(False))
    async def valider(request: Request) -> Response:
        """Every problem of the instance (code, file, row, column, message; 422 when there are errors), or its summary."""
        return await answer(await submit(request, "valider", True), "valide")

    @api.post("/resoudre", summary="Résoudre une instance (synchrone)", tags=["instances"],
              openapi_extra=_openapi_instance(True))
    async def resoudre(request: Request) -> Response:
        """The result document (schemas/resultat-1.json) for an instance up to the server's synchronous size."""
        return await answer(await submit(request, "resoudre", True), "termine")

    def job_view(job: Job) -> dict[str, Any]:
        view: dict[str, Any] = {"id": job.id, "etat": job.etat, "etape": job.etape, "cree": job.cree, "fin": job.fin}
        base = f"/api/v1/travaux/{job.id}"
        if job.sortie is not None:
            view.update({k: v for k, v in job.sortie.items() if k in ("problemes", "code", "message", "parametres")})
        view["documents"] = {name: f"{base}/{name}" for name in documents.NAMES} if job.etat == TERMINE else {}
        return view

    def find(job_id: str) -> Job:
        job = manager.jobs.get(job_id)
        if job is None:
            raise Refusal(404, "travail_inconnu", N_("this job does not exist (or no longer: jobs are removed after "
                                                     "{minutes} minutes)"), {"minutes": round(settings.duree_vie / 60)})
        return job

    @api.post("/travaux", status_code=202, summary="Soumettre un travail", tags=["travaux"],
              openapi_extra=_openapi_instance(False))
    async def travaux(request: Request) -> JSONResponse:
        """Queue a solve of an instance of any size; answers 202 with the job's id and address."""
        job = await submit(request, "resoudre", False)
        return JSONResponse({"id": job.id, "etat": job.etat, "adresse": f"/api/v1/travaux/{job.id}"},
                            status_code=202, headers={"Location": f"/api/v1/travaux/{job.id}"})

    @api.get("/travaux/{job_id}", summary="État d'un travail", tags=["travaux"])
    async def travail(job_id: str) -> Response:
        """en_attente, en_cours (with its stage), termine (with the result) or echec (with the problems)."""
        job = find(job_id)
        return with_result(job_view(job), await asyncio.to_thread(job.result_bytes))

    @api.delete("/travaux/{job_id}", summary="Annuler ou supprimer un travail", tags=["travaux"])
    async def supprimer(job_id: str) -> JSONResponse:
        return JSONResponse({"id": job_id, "etat": manager.remove(find(job_id))})

    @api.get("/travaux/{job_id}/{document}", summary="Télécharger un document du travail", tags=["travaux"])
    async def document(job_id: str, document: str) -> Response:
        """resultats.xlsx, rapport.pdf or annexes.zip of a finished job."""
        job = find(job_id)
        if document not in documents.NAMES:
            raise Refusal(404, "document_inconnu", N_("unknown document; the documents are {documents}"),
                          {"documents": ", ".join(documents.NAMES)})
        if job.etat in (ECHEC, ANNULE):
            raise Refusal(404, "travail_echoue", N_("the job failed: it has no documents"))
        if job.etat != TERMINE:
            raise Refusal(409, "travail_non_termine", N_("the job is not finished"))
        path = await documents.produce(document, job.results, job.folder)
        if path is None:
            raise Refusal(404, "document_indisponible", documents.MISSING[document], {"document": document})
        return FileResponse(path, media_type=documents.MEDIA[document], filename=document)

    @api.get("/politiques", summary="Politiques disponibles", tags=["référentiel"])
    async def politiques() -> JSONResponse:
        """Each policy's name, values and the legal source each value cites."""
        return JSONResponse(policies())

    @api.get("/modele.xlsx", summary="Classeur modèle à remplir", tags=["référentiel"])
    async def modele() -> Response:
        path = await documents.template()
        if path is None:
            raise Refusal(404, "document_indisponible", documents.MISSING["modele.xlsx"], {"document": "modele.xlsx"})
        return FileResponse(path, media_type=documents.MEDIA["resultats.xlsx"], filename="modele.xlsx")

    @api.get("/schemas/{name}", summary="Schémas JSON publiés", tags=["référentiel"])
    async def schema(name: str) -> Response:
        """``instance`` or ``resultat``: the JSON Schema of the current version."""
        files = {"instance": f"instance-{INSTANCE_SCHEMA_VERSION.split('.')[0]}.json",
                 "resultat": f"resultat-{RESULT_SCHEMA_VERSION.split('.')[0]}.json"}
        if name not in files:
            raise Refusal(404, "schema_inconnu", N_("unknown schema: {schemas}"), {"schemas": " / ".join(files)})
        return FileResponse(_schema_dir() / files[name], media_type="application/schema+json")

    app.include_router(api)
    app.mount("/docs-static", StaticFiles(directory=swagger_ui_path), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        """The interactive documentation, served from the swagger-ui-bundle package (no CDN)."""
        return get_swagger_ui_html(openapi_url="/openapi.json", title="fluxopt — API",
                                   swagger_js_url="/docs-static/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-static/swagger-ui.css",
                                   swagger_favicon_url="/docs-static/favicon-32x32.png")

    @app.get("/sante", summary="État du service", tags=["service"])
    async def sante() -> dict[str, Any]:
        alive = sum(w.process.is_alive() for w in manager.workers)
        return {"etat": "ok", "version": __version__, "workers": settings.workers, "workers_vivants": alive,
                "en_cours": manager.busy,
                "file_attente": settings.file_attente}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "index.html", {
            "version": __version__, "jeton_requis": settings.jeton is not None,
            "max_mo": settings.max_taille / 1024 ** 2})

    app.add_middleware(BodyLimit, limit=settings.max_taille)
    return app


def _save(source: BinaryIO, path: Path) -> None:
    """Copy an uploaded file to ``path`` (in a thread: a disk write may wait)."""
    source.seek(0)
    with path.open("wb") as fh:
        shutil.copyfileobj(source, fh, 1 << 20)


__all__ = ["create_app"]
