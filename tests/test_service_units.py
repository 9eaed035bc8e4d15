"""The service's pure parts, without a server: sizes, policy sources, archive unpacking, the app object."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from service_support import INSTANCES, document

from fluxopt.problems import InstanceError
from fluxopt.service.langues import accepted_languages, request_language
from fluxopt.service.policies import comment_sources
from fluxopt.service.settings import parse_size
from fluxopt.service.uploads import unpack_folder
from fluxopt.service.worker import OUTPUT_FILE, RESULT_FILE, STATE_FILE, UPLOADS, Task, run


@pytest.mark.parametrize("text, size", [("20MB", 20 * 1024 ** 2), ("512kB", 512 * 1024), ("1000", 1000),
                                        ("1.5 Go", int(1.5 * 1024 ** 3)), ("2m", 2 * 1024 ** 2)])
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "vingt", "20 TB", "-1MB"])
def test_parse_size_refuses(text):
    with pytest.raises(ValueError):
        parse_size(text)


def test_comment_sources_take_the_comment_above_a_key_or_the_one_opening_its_section():
    text = "# file header\n\n[plafonds]\n# CCH R441-5\nprefet = 0.3\n\n# agents: idem\nprefet_agents = 0.05\n" \
           "\n[cil]\n# L441-1 targets\n\npart_q1_hors_qpv = 0.25\nstrict = false\n"
    assert comment_sources(text) == {"plafonds.prefet": "CCH R441-5", "plafonds.prefet_agents": "agents: idem",
                                     "cil.part_q1_hors_qpv": "L441-1 targets", "cil.strict": "L441-1 targets"}


def _zip(tmp: Path, members: dict[str, bytes]) -> Path:
    path = tmp / "envoi.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), min_size=1,
                        max_size=30).map(lambda n: n + ".csv"), min_size=1, max_size=5, unique=True))
def test_no_member_name_reaches_outside_the_job_folder(tmp_path_factory, names):
    """Whatever the members are called ('../../x.csv', '/etc/x.csv', 'a\\\\b.csv'), only files directly in
    the target folder are written."""
    tmp = tmp_path_factory.mktemp("zip")
    target = tmp / "job" / "instance"
    try:
        unpack_folder(_zip(tmp, {n: b"a,b\n" for n in names}), target, "envoi.zip")
    except InstanceError:
        pass  # two members with the same base name, or none usable
    written = {p for p in tmp.rglob("*") if p.is_file()} - {tmp / "envoi.zip"}
    assert all(p.parent == target for p in written)


def test_unpack_folder_takes_the_files_of_one_folder_and_ignores_the_rest(tmp_path):
    path = _zip(tmp_path, {"exemple/instance.toml": b"x", "exemple/patrimoine.csv": b"y", "__MACOSX/._a.csv": b"",
                           "exemple/notes.txt": b"z", "../../evil.csv": b"w"})
    folder = unpack_folder(path, tmp_path / "out", "envoi.zip")
    assert sorted(p.name for p in folder.iterdir()) == ["evil.csv", "instance.toml", "patrimoine.csv"]


def test_unpack_folder_refuses_two_files_of_the_same_name(tmp_path):
    with pytest.raises(InstanceError, match="two files patrimoine.csv"):  # FLUXOPT_LANGUE=en in the tests
        unpack_folder(_zip(tmp_path, {"a/patrimoine.csv": b"", "b/patrimoine.csv": b""}), tmp_path / "o", "x.zip")


def test_the_asgi_app_is_importable_and_lists_the_api(monkeypatch):
    monkeypatch.setenv("FLUXOPT_WORKERS", "1")
    import fluxopt.service

    app = fluxopt.service.app
    assert app.state.settings.workers == 1
    assert {"/api/v1/resoudre", "/api/v1/travaux/{job_id}", "/sante"} <= set(app.openapi()["paths"])


@pytest.mark.parametrize("header, tags", [
    ("en-US,en;q=0.9,fr;q=0.8", ["en", "en", "fr"]), ("fr;q=0.2, en", ["en", "fr"]),
    ("de, fr;q=0, en;q=oops", ["de"]), ("", []), ("*", ["*"]),
])
def test_accepted_languages_by_decreasing_weight(header, tags):
    assert accepted_languages(header) == tags


def test_request_language_is_langue_then_accept_language_then_french():
    assert request_language("en", "fr") == "en"
    assert request_language(None, "de-DE,en;q=0.5") == "en"
    assert request_language("de", "de") == "fr"
    assert request_language(None, None) == "fr"


@pytest.mark.parametrize("synchronous", [True, False])
def test_a_worker_answers_with_its_stages_and_writes_the_stage_only_for_asynchronous_jobs(tmp_path, synchronous):
    """The stages' seconds go back on the pipe (Server-Timing); etat.json, read by GET /travaux only, is not
    written for a synchronous job."""
    (tmp_path / UPLOADS["json"]).write_text(json.dumps(document(INSTANCES / "exemple")), encoding="utf-8")
    stages = run(Task(kind="resoudre", forme="json", nom="exemple", ecrire=False, etapes=not synchronous), str(tmp_path))
    assert list(stages) == ["lecture", "construction", "resolution", "explication", "document"]
    assert all(seconds >= 0 for seconds in stages.values())
    assert json.loads((tmp_path / OUTPUT_FILE).read_text(encoding="utf-8")) == {"etat": "termine"}
    assert (tmp_path / RESULT_FILE).is_file()
    assert (tmp_path / STATE_FILE).exists() is not synchronous
