"""The HTTP service against a real `fluxopt serve` subprocess (fixtures ``service`` and ``small_service``
in conftest.py): every endpoint, bad inputs, concurrency, overload, cancellation and a killed worker."""

from __future__ import annotations

import io
import json
import os
import signal
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor

import httpx
import jsonschema
import pytest
from openpyxl import Workbook, load_workbook
from pypdf import PdfReader
from service_support import INSTANCES, ROOT, descendants, document, golden, merged, workbook, zipped

BUNDLED = ["exemple", "gironde-33", "pyrenees-atlantiques-64", "haute-vienne-87", "charente-16", "creuse-23"]
SLOW = ["gironde-33", "pyrenees-atlantiques-64", "haute-vienne-87", "charente-16", "creuse-23"]
AUTH = {"Authorization": "Bearer secret"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def schema(name: str) -> dict:
    return json.loads((ROOT / "schemas" / name).read_text(encoding="utf-8"))


def wait_for(client: httpx.Client, job: str, states: tuple[str, ...], timeout: float = 60, **kw) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        view = client.get(f"/api/v1/travaux/{job}", **kw).json()
        if view["etat"] in states:
            return view
        assert time.monotonic() < deadline, view
        time.sleep(0.02)


def parts_by_reservataire(result: dict) -> dict[str, float]:
    return {row["reservataire"]: row["logements"] for row in result["tables"]["parts"]}


# -- endpoints ---------------------------------------------------------------------------------

def test_health_openapi_docs_and_page_need_no_internet(service):
    assert httpx.get(f"{service}/sante").json()["etat"] == "ok"
    paths = httpx.get(f"{service}/openapi.json").json()["paths"]
    assert set(paths["/api/v1/resoudre"]["post"]["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    for path in ("/api/v1/valider", "/api/v1/resoudre", "/api/v1/travaux", "/api/v1/travaux/{job_id}",
                 "/api/v1/travaux/{job_id}/{document}", "/api/v1/politiques", "/api/v1/modele.xlsx", "/sante"):
        assert path in paths
    docs = httpx.get(f"{service}/docs").text
    assert "/docs-static/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    assert httpx.get(f"{service}/docs-static/swagger-ui-bundle.js").status_code == 200
    page = httpx.get(f"{service}/").text
    assert 'lang="fr"' in page and "Déposez votre classeur" in page
    assert "http://" not in page and "https://" not in page  # every asset is served by the service itself
    for asset in ("app.js", "style.css"):
        assert httpx.get(f"{service}/static/{asset}").status_code == 200


def test_valider_json_gives_the_summary_and_the_warnings(service):
    """exemple: 1 bailleur, 3 segments, 3 réservataires, 8 rights; flux base (30-2-8) + (0.1·500+10) + 40 = 120;
    the rights of row 9 of stock.csv ended in 2020 (a warning)."""
    answer = httpx.post(f"{service}/api/v1/valider", json=document(INSTANCES / "exemple"))
    assert answer.status_code == 200
    body = answer.json()
    assert body["etat"] == "valide"
    summary = body["resume"]
    assert (summary["bailleurs"], summary["segments"], summary["reservataires"], summary["droits"]) == (1, 3, 3, 8)
    assert summary["flux_base"] == 120.0
    [warning] = body["problemes"]
    assert (warning["fichier"], warning["ligne"], warning["colonne"], warning["gravite"]) == \
        ("stock (JSON)", 8, "fin_droits", "warning")
    assert set(warning) == {"code", "parametres", "fichier", "ligne", "colonne", "message", "gravite"}
    assert warning["code"] == "droits_expires" and warning["parametres"]


def test_valider_zip_of_the_csv_folder(service):
    files = {"fichier": ("gironde-33.zip", zipped(INSTANCES / "gironde-33"), "application/zip")}
    body = httpx.post(f"{service}/api/v1/valider", files=files).json()
    assert body["etat"] == "valide" and body["resume"]["segments"] == 160


def test_valider_xlsx_with_errors_lists_every_problem_with_sheet_row_and_column(service, tmp_path):
    path = workbook(INSTANCES / "exemple", tmp_path / "exemple.xlsx")
    book = load_workbook(path)
    book["patrimoine"]["E3"] = "beaucoup"          # logements of the second segment, Excel row 3
    book["stock"]["B4"] = "INCONNU"                # a réservataire that does not exist, Excel row 4
    book.save(path)
    answer = httpx.post(f"{service}/api/v1/valider", files={"fichier": ("exemple.xlsx", path.read_bytes(), XLSX)})
    assert answer.status_code == 422
    errors = {(p["fichier"], p["ligne"], p["colonne"]) for p in answer.json()["problemes"] if p["gravite"] == "error"}
    assert ("patrimoine (sheet)", 3, "logements") in errors
    assert ("stock (sheet)", 4, "reservataire") in errors


def test_resoudre_json_gives_the_golden_result_in_the_published_schema(service):
    """exemple by hand (tests/test_core.py): AL 31, BX 8, PREF 27 dwellings a year, all at their targets."""
    answer = httpx.post(f"{service}/api/v1/resoudre", json=document(INSTANCES / "exemple"))
    assert answer.status_code == 200
    result = answer.json()["resultat"]
    jsonschema.validate(result, schema("resultat-1.json"))
    assert result["version_schema"] == "1.0" and result["statut"] == "optimal"
    assert result["objectifs"] == pytest.approx(golden("exemple"), rel=1e-6, abs=1e-6)
    assert parts_by_reservataire(result) == pytest.approx({"AL": 31.0, "BX": 8.0, "PREF": 27.0}, abs=1e-4)
    assert result["syntheses"]["bailleurs"][0]["flux_base"] == 120.0
    assert result["avertissements"][0]["colonne"] == "fin_droits"
    # Server-Timing: each phase in ms, in order, the worker's stages between the service's own phases.
    timing = [part.split(";dur=") for part in answer.headers["server-timing"].split(", ")]
    assert [name for name, _ in timing] == ["requete", "attente", "lecture", "construction", "resolution",
                                            "explication", "document", "transmission", "collecte", "reponse"]
    assert all(float(ms) >= 0 for _, ms in timing)


def test_resoudre_with_options(service):
    """plafonds.prefet = 0.20: the préfet's cap is 0.20 · 120 = 24 dwellings (target 27), explained by the cap,
    checked by a counterfactual solve: at 25 % (30 dwellings) the préfet would get its 27."""
    options = {"surcharges": json.dumps({"plafonds.prefet": 0.2}), "temps_max": "30", "langue": "fr"}
    result = httpx.post(f"{service}/api/v1/resoudre", json=document(INSTANCES / "exemple"), params=options).json()["resultat"]
    assert parts_by_reservataire(result)["PREF"] == pytest.approx(24.0, abs=1e-4)
    [pair] = [e for e in result["explications"]["elements"] if e["code"] == "ecart_equivalence"]
    (reason,) = pair["raisons"]
    assert pair["reservataire"] == "PREF" and reason["code"] == "plafond_prefet"
    params = reason["parametres"]
    assert {k: params[k] for k in ("bailleur", "taux", "logements", "sens", "relache")} == \
        {"bailleur": "B1", "taux": 0.2, "logements": 24.0, "sens": "retient", "relache": 0.25}
    assert params["contrefactuel"] == pytest.approx(27.0, abs=1e-4)
    assert reason["texte"].startswith("plafond du préfet")  # langue=fr
    # sensibilite=false: the departure without its reasons (no counterfactual solve); a bad value is refused.
    quick = httpx.post(f"{service}/api/v1/resoudre", json=document(INSTANCES / "exemple"),
                       params={**options, "sensibilite": "non"}).json()["resultat"]
    [pair] = [e for e in quick["explications"]["elements"] if e["code"] == "ecart_equivalence"]
    assert pair["reservataire"] == "PREF" and pair["raisons"] == []
    refused = httpx.post(f"{service}/api/v1/resoudre", json=document(INSTANCES / "exemple"),
                         params={**options, "sensibilite": "peut-être"})
    assert refused.status_code == 422 and refused.json()["code"] == "option_non_booleenne"


def test_the_time_limit_of_a_request_reaches_the_solver(service):
    """temps_max = 0.0001 s: HiGHS stops in the first stage; the answer says so, with no tables."""
    answer = httpx.post(f"{service}/api/v1/resoudre", json=document(INSTANCES / "gironde-33"),
                        params={"temps_max": "0.0001"})
    assert answer.status_code == 200
    result = answer.json()["resultat"]
    jsonschema.validate(result, schema("resultat-1.json"))
    assert (result["statut"], result["a_une_solution"], result["tables"]["parts"]) == ("time_limit", False, [])
    assert result["resume"]["options"]["time_limit"] == 0.0001


def test_instance_schema_accepts_the_bundled_instances(service):
    published = httpx.get(f"{service}/api/v1/schemas/instance").json()
    assert published == schema("instance-1.json")
    assert httpx.get(f"{service}/api/v1/schemas/resultat").json() == schema("resultat-1.json")
    for name in BUNDLED:
        jsonschema.validate(document(INSTANCES / name), published)


def test_travaux_from_a_workbook_to_its_documents(service, tmp_path):
    client = httpx.Client(base_url=service)
    path = workbook(INSTANCES / "exemple", tmp_path / "exemple.xlsx")
    answer = client.post("/api/v1/travaux", files={"fichier": ("exemple.xlsx", path.read_bytes(), XLSX)})
    assert answer.status_code == 202
    job = answer.json()["id"]
    assert answer.headers["location"] == f"/api/v1/travaux/{job}"
    view = wait_for(client, job, ("termine", "echec"))
    assert view["etat"] == "termine", view
    assert view["resultat"]["objectifs"] == pytest.approx(golden("exemple"), rel=1e-6, abs=1e-6)
    xlsx = client.get(view["documents"]["resultats.xlsx"])
    assert xlsx.status_code == 200 and xlsx.headers["content-type"] == XLSX
    assert "Synthèse" in load_workbook(io.BytesIO(xlsx.content)).sheetnames
    report = client.get(view["documents"]["rapport.pdf"])
    assert report.status_code == 200 and report.content.startswith(b"%PDF")
    assert "31" in "".join(page.extract_text() for page in PdfReader(io.BytesIO(report.content)).pages)
    annexes = client.get(view["documents"]["annexes.zip"])
    assert annexes.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(annexes.content)).namelist()
    assert {"B1/AL.docx", "B1/BX.docx", "B1/PREF.docx"} <= set(names), names
    assert client.delete(f"/api/v1/travaux/{job}").json()["etat"] == "supprime"
    gone = client.get(f"/api/v1/travaux/{job}")
    assert gone.status_code == 404 and "n'existe pas" in gone.json()["erreur"]


def test_politiques_and_modele(service):
    [policy] = httpx.get(f"{service}/api/v1/politiques").json()
    values = {v["cle"]: v for v in policy["valeurs"]}
    assert policy["nom"] == "elan-2020" and values["plafonds.prefet"]["valeur"] == 0.3
    assert "R441-5" in values["plafonds.prefet"]["source"]
    modele = httpx.get(f"{service}/api/v1/modele.xlsx")
    assert modele.status_code == 200
    assert {"patrimoine", "reservataires", "stock"} <= set(load_workbook(io.BytesIO(modele.content)).sheetnames)


# -- bad inputs and limits ---------------------------------------------------------------------

@pytest.mark.parametrize("body, params, where", [
    (b'{"instance": {"territoire": "33",', {"langue": "en"}, "line 1"),        # malformed JSON, in English
    (json.dumps({"instance": {"territoire": "33", "annee": 2025}, "patrimoine": "beaucoup",
                 "reservataires": [], "stock": []}).encode(), {}, "patrimoine"),  # wrong type
    (json.dumps({**document(INSTANCES / "exemple"), "instance": {"territoire": "33", "annee": 2025,
                                                                 "politique": "/etc/passwd"}}).encode(), {}, "politique"),
    (json.dumps(document(INSTANCES / "exemple")).encode(), {"politique": "../models/elan-2020.toml"}, "politique"),
    (json.dumps(document(INSTANCES / "exemple")).encode(), {"surcharges": '{"plafonds.prefett": 0.2}'}, "prefett"),
])
def test_bad_json_inputs_are_422_with_the_problems(service, body, params, where):
    answer = httpx.post(f"{service}/api/v1/resoudre", content=body, params=params,
                        headers={"content-type": "application/json"})
    assert answer.status_code == 422
    problems = answer.json()["problemes"]
    assert any(where in json.dumps(p, ensure_ascii=False) for p in problems), problems


@pytest.mark.parametrize("params, code, sentence", [
    ({"temps_max": "vite"}, "option_non_numerique", "temps_max"), ({"temps_max": "-1"}, "option_non_positive", "positif"),
    ({"langue": "de"}, "langue_inconnue", "langue"), ({"surcharges": "[1, 2]"}, "surcharges_invalides", "surcharges"),
    ({"temps_max": "100000"}, "temps_max_trop_grand", "maximum"),
])
def test_bad_options_are_422_with_a_code_and_a_sentence(service, params, code, sentence):
    answer = httpx.post(f"{service}/api/v1/resoudre", json=document(INSTANCES / "exemple"), params=params)
    assert answer.status_code == 422 and answer.json()["code"] == code and sentence in answer.json()["erreur"]


def test_refusals_follow_langue_then_accept_language_and_keep_their_code(service):
    """The same refusal in French (default), in English (langue=en, or Accept-Language preferring en), with the
    same code and parameters; a job's problems follow Accept-Language too when langue is not given."""
    url = f"{service}/api/v1/resoudre"

    def refusal(**kw) -> dict:
        answer = httpx.post(url, json=document(INSTANCES / "exemple"), **kw)
        assert answer.status_code == 422
        return answer.json()

    french = refusal(params={"temps_max": "vite"})
    english = refusal(params={"temps_max": "vite", "langue": "en"})
    preferred = refusal(params={"temps_max": "vite"}, headers={"Accept-Language": "de-DE, en;q=0.8, fr;q=0.5"})
    chosen = refusal(params={"temps_max": "vite", "langue": "fr"}, headers={"Accept-Language": "en"})
    assert french["erreur"] == chosen["erreur"] == "l'option 'temps_max' doit être un nombre de secondes, pas 'vite'"
    assert english["erreur"] == preferred["erreur"] == "the option 'temps_max' must be a number of seconds, not 'vite'"
    assert {r["code"] for r in (french, english, preferred)} == {"option_non_numerique"}
    assert french["parametres"] == english["parametres"] == {"option": "temps_max", "valeur": "vite"}
    broken = httpx.post(f"{service}/api/v1/valider", files={"fichier": ("casse.xlsx", b"not a zip", XLSX)},
                        headers={"Accept-Language": "en-GB"})
    [problem] = broken.json()["problemes"]
    assert problem["code"] == "archive_illisible" and problem["message"].startswith("the file is not a readable archive")
    missing = httpx.get(f"{service}/api/v1/travaux/inconnu", headers={"Accept-Language": "en"}).json()
    assert missing["code"] == "travail_inconnu" and missing["erreur"].startswith("this job does not exist")


def test_uploads_that_are_not_instances(service):
    url = f"{service}/api/v1/valider"
    assert httpx.post(url, content=b"x", headers={"content-type": "text/plain"}).status_code == 415
    assert "fichier" in httpx.post(url, files={"autre": ("a.xlsx", b"x")}).json()["erreur"]
    assert ".xlsx" in httpx.post(url, files={"fichier": ("notes.txt", b"x")}).json()["erreur"]
    broken = httpx.post(url, files={"fichier": ("casse.xlsx", b"not a zip", XLSX)})
    assert broken.status_code == 422 and "archive" in broken.json()["problemes"][0]["message"]


def test_zip_bomb_and_huge_sheet_are_refused_before_they_are_opened(service, tmp_path):
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive, archive.open("patrimoine.csv", "w") as fh:
        for _ in range(30):
            fh.write(bytes(1 << 20))                  # 30 MB of zeros, about 30 kB compressed
    assert len(bomb.getvalue()) < 100_000
    answer = httpx.post(f"{service}/api/v1/valider", files={"fichier": ("bombe.zip", bomb.getvalue(), "application/zip")})
    assert answer.status_code == 422 and "bombe zip" in answer.json()["problemes"][0]["message"]
    assert answer.json()["problemes"][0]["code"] == "bombe_zip"
    book = Workbook()
    book.active.title = "patrimoine"
    book.active.cell(row=1_048_000, column=1, value="x")   # a tiny file declaring a million rows
    book.save(tmp_path / "huge.xlsx")
    answer = httpx.post(f"{service}/api/v1/valider",
                        files={"fichier": ("huge.xlsx", (tmp_path / "huge.xlsx").read_bytes(), XLSX)})
    assert answer.status_code == 422 and "1048000 lignes" in answer.json()["problemes"][0]["message"]


def test_oversized_bodies_get_413_announced_or_streamed(service):
    big = b" " * (3 * 1024 ** 2)
    answer = httpx.post(f"{service}/api/v1/valider", content=big, headers={"content-type": "application/json"})
    assert answer.status_code == 413 and "(2 Mo)" in answer.json()["erreur"]
    assert answer.json()["code"] == "requete_trop_grande" and answer.json()["parametres"]["mo"] == 2
    streamed = httpx.post(f"{service}/api/v1/valider", content=iter([big[:1 << 20]] * 3),
                          headers={"content-type": "application/json"})
    assert streamed.status_code == 413


def test_instances_over_the_size_limits_get_422(service, small_service):
    url, _ = small_service
    too_many = httpx.post(f"{service}/api/v1/travaux", json=merged(SLOW))    # 439 segments > 400
    view = wait_for(httpx.Client(base_url=service), too_many.json()["id"], ("termine", "echec"))
    assert view["etat"] == "echec" and "au plus" in view["problemes"][0]["message"]
    sync = httpx.post(f"{url}/api/v1/resoudre", json=document(INSTANCES / "gironde-33"), headers=AUTH)  # 160 > 100
    assert sync.status_code == 422 and "/api/v1/travaux" in sync.json()["problemes"][0]["message"]
    assert sync.json()["problemes"][0]["code"] == "trop_grande_pour_synchrone"


def test_token_is_needed_on_the_api_only(small_service):
    url, _ = small_service
    assert httpx.get(f"{url}/api/v1/politiques").status_code == 401
    assert httpx.get(f"{url}/api/v1/politiques", headers={"Authorization": "Bearer faux"}).status_code == 401
    assert httpx.get(f"{url}/api/v1/politiques", headers=AUTH).status_code == 200
    assert httpx.get(f"{url}/sante").status_code == 200 and httpx.get(f"{url}/").status_code == 200


# -- concurrency, overload, cancellation, crashes ----------------------------------------------

def test_twenty_simultaneous_solves_give_the_golden_optima(service):
    names = [BUNDLED[i % len(BUNDLED)] for i in range(20)]
    documents = [document(INSTANCES / n) for n in names]
    with httpx.Client(base_url=service, timeout=120) as client, ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda d: client.post("/api/v1/resoudre", json=d), documents))
    for name, answer in zip(names, answers):
        assert answer.status_code == 200, answer.text
        assert answer.json()["resultat"]["objectifs"] == pytest.approx(golden(name), rel=1e-6, abs=1e-6)


def _worker_pids(server_pid: int) -> list[int]:
    """Worker processes (long-lived, one per --workers): the children of the fork server, itself a child
    of the service."""
    return [pid for child in descendants(server_pid) for pid in descendants(child)]


def test_overload_503_then_recovery_and_cancel_midway(small_service):
    url, process = small_service
    client = httpx.Client(base_url=url, headers=AUTH, timeout=60)
    slow = merged(SLOW)
    running = client.post("/api/v1/travaux", json=slow).json()["id"]
    waiting = client.post("/api/v1/travaux", json=slow).json()["id"]
    refused = client.post("/api/v1/travaux", json=slow)
    assert refused.status_code == 503 and refused.headers["retry-after"] == "5"
    assert refused.json()["code"] == "serveur_occupe" and "occupé" in refused.json()["erreur"]
    view = wait_for(client, running, ("en_cours",))
    assert client.get(f"/api/v1/travaux/{waiting}").json()["etat"] == "en_attente"
    assert view["etape"] in ("demarrage", "lecture", "construction", "resolution", "explication", "ecriture")
    assert client.delete(f"/api/v1/travaux/{waiting}").json()["etat"] == "annule"
    [worker] = _worker_pids(process.pid)
    assert client.delete(f"/api/v1/travaux/{running}").json()["etat"] == "annule"   # midway: the worker is killed
    deadline = time.monotonic() + 10
    while _worker_pids(process.pid) in ([], [worker]):                               # ... and replaced
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert worker not in _worker_pids(process.pid)
    assert client.get(f"/api/v1/travaux/{running}").status_code == 404
    again = client.post("/api/v1/resoudre", json=document(INSTANCES / "exemple"))    # recovery
    assert again.status_code == 200
    assert again.json()["resultat"]["objectifs"] == pytest.approx(golden("exemple"), rel=1e-6, abs=1e-6)


def test_a_killed_worker_fails_its_job_not_the_server(small_service):
    url, process = small_service
    client = httpx.Client(base_url=url, headers=AUTH, timeout=60)
    job = client.post("/api/v1/travaux", json=merged(SLOW)).json()["id"]
    wait_for(client, job, ("en_cours",))
    [worker] = _worker_pids(process.pid)
    os.kill(worker, signal.SIGKILL)
    view = wait_for(client, job, ("termine", "echec"))
    assert view["etat"] == "echec" and view["code"] == "calcul_interrompu" and "sans résultat" in view["message"]
    after = client.post("/api/v1/resoudre", json=document(INSTANCES / "exemple"))
    assert after.status_code == 200 and after.json()["resultat"]["statut"] == "optimal"
    assert httpx.get(f"{url}/sante").json()["workers_vivants"] == 1


def test_finished_jobs_are_removed_after_their_time_to_live(small_service):
    url, _ = small_service
    client = httpx.Client(base_url=url, headers=AUTH, timeout=60)
    job = client.post("/api/v1/travaux", json=document(INSTANCES / "exemple")).json()["id"]
    assert wait_for(client, job, ("termine", "echec"))["etat"] == "termine"
    deadline = time.monotonic() + 10
    while client.get(f"/api/v1/travaux/{job}").status_code == 200:
        assert time.monotonic() < deadline
        time.sleep(0.2)
