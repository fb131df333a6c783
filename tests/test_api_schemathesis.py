"""Schemathesis over every operation of /api/schema/ with a manager's token, against the app on a live server.

The server is Django's threaded live server on 127.0.0.1 (an ephemeral port); schemathesis runs as its own
process, bounded by --max-examples and --max-time so the whole test stays under three minutes on two cores.
One schemathesis worker: with two, CPython 3.11's ast module, which hypothesis uses to describe strategies
from threads, fails now and then ("AST constructor recursion depth mismatch"), an error of the tool, not the API.
Checks: no server error, every response's status documented and its body and content type as documented.
Path ids are pinned to seeded rows so detail operations answer from real data, not only 404s.
"""

import io
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from django.core.servers.basehttp import WSGIServer
from django.test.testcases import LiveServerThread, QuietWSGIRequestHandler, _StaticFilesHandler

from tests.conftest import make_audio

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("schemathesis")]

CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance"


class _LiveServer(LiveServerThread):
    """Django's live server, one request at a time with "Connection: close" on every answer: the threaded
    server keeps connections alive without reading a body a view never read, and then parses that body as
    the next request (a dev-server artefact schemathesis reports as a network error; gunicorn has no such)."""

    def _create_server(self, connections_override=None):
        return WSGIServer((self.host, self.port), QuietWSGIRequestHandler, allow_reuse_address=False)


@pytest.fixture
def live_server_127(transactional_db, settings):
    settings.ALLOWED_HOSTS = ["127.0.0.1", "testserver"]
    thread = _LiveServer("127.0.0.1", _StaticFilesHandler, connections_override={}, port=0)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://127.0.0.1:{thread.port}"
    thread.terminate()


def _seed(api, project_with_roles) -> dict:
    """A project with a processed recording, labels, a submitted annotation, a speaker with consent, a release."""
    from apps.annotation.models import Label
    from apps.annotation.services import labels_set
    from apps.catalog.models import ImportBatch
    from apps.consent.models import ConsentRecord
    from apps.datasets.services import release_build, release_create
    from apps.processing.models import ProcessingJob
    from tests.catalog.factories import SpeakerFactory
    from tests.datasets.conftest import stored_recording
    from tests.review.conftest import do_work, region

    project, users = project_with_roles
    manager = users["manager"]
    res = api(manager).post(
        f"/api/v1/projects/{project.id}/recordings/",
        {"files": [io.BytesIO(make_audio(seconds=2.0, seed=11))]},
        format="multipart",
    )
    assert res.status_code == 201, res.content
    recording_id = res.json()["results"][0]["recording_id"]
    labels_set(project_id=project.id, region_labels=[{"name": "speech"}], clip_labels=[{"name": "good"}])
    label = Label.objects.get(project=project, name="speech")
    speaker = SpeakerFactory(project=project, code="spk-seed")
    stored_recording(project, speaker, seed=12)
    annotation = do_work(users["annotator"], project, [region("r1", 0.1, 0.9, label.id, "hi")])
    consent = ConsentRecord.objects.filter(speaker__project=project).first()
    release = release_create(
        actor=manager, project_id=project.id, spec={"unit": "recording", "formats": ["jsonl"]}, enqueue=False
    )
    release_build(release_id=release.id)
    batch = ImportBatch.objects.create(project=project, source="folder", location="/nowhere", status="done")
    ids = {
        "project_id": project.id,
        "recording_id": recording_id,
        "annotation_id": annotation.id,
        "release_id": release.id,
        "speaker_id": speaker.id,
        "import_id": batch.id,
        "job_id": ProcessingJob.objects.filter(recording_id=recording_id).values_list("id", flat=True).first(),
    }
    if consent is not None:
        ids["consent_id"] = consent.id
    return ids


def test_schemathesis_finds_no_server_error_and_no_undocumented_response(
    api, project_with_roles, live_server_127, tmp_path
):
    ids = _seed(api, project_with_roles)
    from apps.accounts.services import token_create

    token = token_create(user=project_with_roles[1]["manager"], name="schemathesis").key
    config = tmp_path / "schemathesis.toml"
    config.write_text("[parameters]\n" + "".join(f'"path.{k}" = {v}\n' for k, v in ids.items() if v))
    junit = tmp_path / "junit.xml"
    cmd = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(config),
        "run",
        f"{live_server_127}/api/schema/",
        "--url",
        f"{live_server_127}",
        "-H",
        f"Authorization: Token {token}",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        "8",
        "--max-time",
        "120",
        "--workers",
        "1",
        "--seed",
        "13",
        "--no-shrink",
        "--request-timeout",
        "30",
        "--suppress-health-check",
        "all",
        "--report",
        "junit",
        "--report-junit-path",
        str(junit),
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=170, cwd=tmp_path)  # its cache stays there
    (tmp_path / "schemathesis.log").write_text(run.stdout + run.stderr)
    output = run.stdout[-6000:] + run.stderr[-2000:]
    assert junit.exists(), output
    cases = list(ET.parse(junit).getroot().iter("testcase"))
    assert len(cases) >= 68, f"schemathesis tested {len(cases)} operations, not all of them:\n{output}"
    failures = [
        f"{case.get('name')}: {(problem.get('message') or problem.text or '')[:1500]}"
        for case in cases
        for problem in [*case.iter("failure"), *case.iter("error")]
    ]
    details = run.stdout[run.stdout.find("FAILURES") :][:12000]
    assert not failures, "\n\n".join(failures) + "\n\n" + details
    assert run.returncode == 0, output
