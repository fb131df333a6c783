"""Issue 12, point 6: quarantine has its own result status everywhere ingest reports — the API upload (one file
and a batch), a zip import, a folder import run and ``manage.py import_audio`` — with the reason and the
speaker code; a held file queues no processing until consent releases it, and then it is queued at once."""

import io
import zipfile

import pytest
from django.core.management import call_command

from apps.catalog.models import ImportBatch, Recording, Speaker
from apps.processing.models import ProcessingJob
from tests.conftest import make_audio

pytestmark = pytest.mark.django_db

SIDECAR = "file,speaker\nheld.wav,nobody-yet\n"


def _file(name, seed):
    f = io.BytesIO(make_audio(seconds=0.3, seed=seed))
    f.name = name
    return f


def _sidecar():
    f = io.BytesIO(SIDECAR.encode())
    f.name = "meta.csv"
    return f


def _assert_quarantined(result):
    assert result["status"] == "quarantined", result
    assert result["speaker"] == "nobody-yet"
    assert result["reason"] == "speaker nobody-yet has no consent on record for store"
    assert "quarantine" in result["message"] and "nobody-yet" in result["message"]
    assert Recording.objects.filter(id=result["recording_id"]).exists()


def test_single_upload_reports_quarantined_and_queues_processing_when_consent_lifts_it(
    api, project_with_roles, django_capture_on_commit_callbacks
):
    from apps.consent.services import consent_record

    project, users = project_with_roles
    response = api(users["manager"]).post(
        f"/api/v1/projects/{project.id}/recordings/",
        {"files": [_file("held.wav", 1)], "sidecar": _sidecar()},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    _assert_quarantined(body["results"][0])
    assert (body["accepted"], body["quarantined"]) == (0, 1)
    assert body["detail"] == body["results"][0]["message"]
    rid = body["results"][0]["recording_id"]
    assert not ProcessingJob.objects.filter(recording_id=rid).exists()  # nothing to process while held
    with django_capture_on_commit_callbacks(execute=False):
        consent_record(speaker=Speaker.objects.get(code="nobody-yet"), actor=users["manager"], purposes=["store"])
    assert ProcessingJob.objects.filter(recording_id=rid, status="queued").count() == 1


def test_batch_upload_counts_quarantined_apart_from_accepted(api, project_with_roles):
    project, users = project_with_roles
    response = api(users["manager"]).post(
        f"/api/v1/projects/{project.id}/recordings/",
        {"files": [_file("held.wav", 2), _file("free.wav", 3)], "sidecar": _sidecar()},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    by_name = {r["name"]: r for r in body["results"]}
    _assert_quarantined(by_name["held.wav"])
    assert by_name["free.wav"]["status"] == "accepted" and "reason" not in by_name["free.wav"]
    assert (body["accepted"], body["quarantined"], body["duplicate"], body["rejected"]) == (1, 1, 0, 0)
    # only the accepted file has a processing job
    assert set(ProcessingJob.objects.values_list("recording_id", flat=True)) == {by_name["free.wav"]["recording_id"]}


def test_zip_import_reports_quarantined(api, project_with_roles):
    project, users = project_with_roles
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("held.wav", make_audio(seconds=0.3, seed=4))
        zf.writestr("free.wav", make_audio(seconds=0.3, seed=5))
        zf.writestr("metadata.csv", SIDECAR)
    buf.seek(0)
    buf.name = "batch.zip"
    response = api(users["manager"]).post(
        f"/api/v1/projects/{project.id}/imports/", {"source": "zip", "file": buf}, format="multipart"
    )
    assert response.status_code in (200, 201), response.content
    body = response.json()
    assert (body["accepted"], body["quarantined"], body["duplicates"], body["rejected"]) == (1, 1, 0, 0)
    _assert_quarantined(next(r for r in body["results"] if r["name"] == "held.wav"))


@pytest.fixture
def held_folder(tmp_path, settings):
    root = tmp_path / "imports" / "drop"
    root.mkdir(parents=True)
    (root / "held.wav").write_bytes(make_audio(seconds=0.3, seed=6))
    (root / "free.wav").write_bytes(make_audio(seconds=0.3, seed=7))
    (root / "metadata.csv").write_text(SIDECAR)
    settings.EARMARK_IMPORT_ROOTS = [str(root.parent)]
    return root


def test_folder_import_run_counts_quarantined(api, project_with_roles, held_folder, django_capture_on_commit_callbacks):
    from apps.catalog.services import import_source_create

    project, users = project_with_roles
    source = import_source_create(name="drop", kind="folder", path=str(held_folder), projects=[project])
    client = api(users["manager"])
    with django_capture_on_commit_callbacks(execute=True):  # the run is sent on commit (eager Celery)
        response = client.post(f"/api/v1/projects/{project.id}/imports/", {"source_id": source.id}, format="json")
    assert response.status_code == 202, response.content
    detail = client.get(f"/api/v1/imports/{response.json()['id']}/").json()
    assert detail["status"] == "done"
    assert (detail["accepted"], detail["quarantined"], detail["duplicates"], detail["rejected"]) == (1, 1, 0, 0)
    _assert_quarantined(next(r for r in detail["results"] if r["name"] == "held.wav"))
    assert ImportBatch.objects.get(id=detail["id"]).quarantined == 1


def test_import_audio_command_prints_quarantined_with_reason(project_with_roles, held_folder):
    out = io.StringIO()
    call_command("import_audio", "Speech", str(held_folder), "--no-progress", stdout=out, stderr=io.StringIO())
    lines = out.getvalue().splitlines()
    held = next(line for line in lines if "held.wav" in line)
    assert held.startswith("quarantined held.wav") and "speaker nobody-yet has no consent on record for store" in held
    assert lines[-1] == "1 accepted, 1 quarantined, 0 duplicates, 0 rejected"
