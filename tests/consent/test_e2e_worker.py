"""End to end on a real Celery worker (Redis) with local storage and S3 on moto:
withdraw -> excluded at once -> purged after the grace period (0) -> objects gone -> audit clean -> releases told.
"""

import io
from pathlib import Path
from unittest import mock

import pytest
from django.core.files.storage import default_storage

from apps.consent.models import AuditEvent, RecordingPurge, SpeakerTombstone
from apps.processing.models import Artifact, JobStatus, ProcessingJob
from tests.conftest import make_audio, s3_keys

pytestmark = [pytest.mark.services, pytest.mark.xdist_group("worker")]

SECRET = "SECRET-TRANSCRIPT-E2E-5521"


def _speaker_with_consent(client, project, code, name):
    res = client.post(
        "/api/v1/speakers/",
        {"project": project.id, "code": code, "identity": {"full_name": name, "email": f"{code}@example.org"}},
        format="json",
    )
    assert res.status_code == 201, res.content
    evidence = io.BytesIO(b"%PDF-1.4 consent of " + code.encode())
    evidence.name = "consent.pdf"
    res = client.post(
        f"/api/v1/speakers/{res.json()['id']}/consents/",
        {"purposes": ["store", "annotate", "review", "train_models"], "evidence": evidence},
        format="multipart",
    )
    assert res.status_code == 201, res.content
    return res.json()


def _upload(client, project, code, seed):
    f = io.BytesIO(make_audio(seconds=1.5, seed=seed))
    f.name = f"{code}-{seed}.wav"
    sidecar = io.BytesIO(f"file,speaker\n{f.name},{code}\n".encode())
    sidecar.name = "meta.csv"
    res = client.post(
        f"/api/v1/projects/{project.id}/recordings/", {"files": [f], "sidecar": sidecar}, format="multipart"
    )
    assert res.status_code == 201, res.content
    return res.json()["results"][0]["recording_id"]


def _processed(recording_id):
    job = ProcessingJob.objects.filter(recording_id=recording_id).order_by("-id").first()
    return job is not None and job.status in (JobStatus.DONE, JobStatus.FAILED)


def _keys_local() -> list[str]:
    root = Path(default_storage.location)
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _run(api, project_with_roles, live_worker, settings, list_keys):
    from apps.catalog.models import Recording

    settings.EARMARK_PURGE_GRACE_DAYS = 0
    project, users = project_with_roles
    manager = api(users["manager"])
    worker = live_worker()
    gone = _speaker_with_consent(manager, project, "gone-spk", "Gina Gone")
    kept = _speaker_with_consent(manager, project, "kept-spk", "Kim Kept")
    gone_ids = [_upload(manager, project, "gone-spk", 1), _upload(manager, project, "gone-spk", 2)]
    kept_id = _upload(manager, project, "kept-spk", 3)
    worker.wait_for(lambda: all(_processed(i) for i in gone_ids + [kept_id]), timeout=180, what="processing")
    shas = {r.id: r.sha256 for r in Recording.objects.filter(id__in=gone_ids + [kept_id])}
    assert Artifact.objects.filter(source_sha256=shas[gone_ids[0]]).exists(), "processing made no artifacts"
    before = list_keys()
    assert any(shas[gone_ids[0]] in k for k in before) and any("consent-evidence" in k for k in before)
    # A transcript the purge must redact.
    from apps.annotation.models import Annotation, Region

    annotation = Annotation.objects.create(
        project=project, recording_id=gone_ids[0], annotator=users["annotator"], status="submitted", version=1
    )
    Region.objects.create(annotation=annotation, uid="r1", start=0.1, end=0.4, text=SECRET)

    with mock.patch("apps.datasets.services.releases.releases_on_withdrawal", return_value=1) as releases:
        res = manager.post(f"/api/v1/consents/{gone['id']}/withdraw/", {"reason": "Gina asked by phone"}, format="json")
    assert res.status_code == 200, res.content
    assert sorted(releases.call_args.kwargs["recording_ids"]) == sorted(gone_ids)
    # Excluded at once, before any purge ran.
    for rid in gone_ids:
        assert manager.get(f"/api/v1/recordings/{rid}/").status_code == 404
        assert manager.get(f"/api/v1/recordings/{rid}/audio").status_code == 404
    assert manager.get(f"/api/v1/recordings/{kept_id}/").status_code == 200

    worker.wait_for(
        lambda: SpeakerTombstone.objects.filter(speaker_id=gone["speaker"]).exists(),
        timeout=120,
        what="the purge on the worker",
    )
    after = list_keys()
    # Only the tombstones (a content hash named, a date inside) may name a purged recording's hash.
    leftovers = [
        k for k in after if (shas[gone_ids[0]] in k or shas[gone_ids[1]] in k) and not k.startswith("tombstones/")
    ]
    assert not leftovers, leftovers
    assert {f"tombstones/recordings/{shas[i]}" for i in gone_ids} <= set(after)
    from apps.consent.models import ConsentRecord

    kept_evidence = ConsentRecord.objects.get(pk=kept["id"]).evidence_key
    assert [k for k in after if "consent-evidence" in k] == [kept_evidence]
    assert any(shas[kept_id] in k for k in after), "the kept speaker's objects must stay"
    assert set(RecordingPurge.objects.values_list("state", flat=True)) == {"done"}
    assert not Region.objects.filter(text=SECRET).exists()
    actions = [e.action for e in AuditEvent.objects.order_by("id")]
    assert actions.count("recording.purged") == 2 and "speaker.purged" in actions and "consent.withdrawn" in actions
    dump = str(list(AuditEvent.objects.values()))
    for personal in ("Gina", "gone-spk@example.org", SECRET, "asked by phone", "Kim"):
        assert personal not in dump
    return kept


def test_withdrawal_purge_end_to_end_local(api, project_with_roles, live_worker, settings):
    _run(api, project_with_roles, live_worker, settings, _keys_local)


@pytest.mark.s3
def test_withdrawal_purge_end_to_end_s3(s3_storage, api, project_with_roles, live_worker, settings):
    client, bucket = s3_storage
    _run(api, project_with_roles, live_worker, settings, lambda: s3_keys(client, bucket))


@pytest.mark.s3
def test_purge_survives_a_worker_killed_midway(s3_storage, api, project_with_roles, live_worker, settings):
    """SIGKILL the worker in the middle of a purge; a new worker's run finishes it, nothing left, nothing redone."""
    from django.core.files.base import ContentFile

    from apps.catalog.models import Recording
    from apps.consent.tasks import purge_due
    from tests.catalog.factories import RecordingFactory, SpeakerFactory

    client, bucket = s3_storage
    settings.EARMARK_PURGE_GRACE_DAYS = 0
    project, users = project_with_roles
    speaker = SpeakerFactory(project=project, code="many")
    ids = []
    for i in range(60):
        rec = RecordingFactory(project=project, speaker=speaker)
        default_storage.save(rec.original_key, ContentFile(b"RIFF" + bytes([i]) * 64))
        ids.append(rec.id)
    assert len(s3_keys(client, bucket, "originals/")) == 60
    res = api(users["manager"]).post(
        f"/api/v1/consents/{speaker.consent_records.get().id}/withdraw/", {}, format="json"
    )
    assert res.status_code == 200 and res.json()["purges_scheduled"] == 60
    worker = live_worker()  # picks up the purge queued on commit
    done = lambda: RecordingPurge.objects.filter(state="done").count()  # noqa: E731
    worker.wait_for(lambda: done() >= 3, timeout=120, what="the purge to start")
    worker.kill()
    killed_at = done()
    assert killed_at < 60, "the purge finished before the kill; raise the number of recordings"
    steps_before = {p.recording_id: list(p.steps_done) for p in RecordingPurge.objects.filter(state="done")}
    second = live_worker()
    purge_due.delay()
    second.wait_for(
        lambda: done() == 60 and SpeakerTombstone.objects.filter(speaker=speaker).exists(),
        timeout=180,
        what="the rerun to finish",
    )
    assert s3_keys(client, bucket, "originals/") == []
    assert Recording.objects.filter(id__in=ids).exclude(status="purged").count() == 0
    purges = {p.recording_id: p for p in RecordingPurge.objects.all()}
    assert all(purges[i].steps_done == steps_before[i] and purges[i].attempts == 1 for i in steps_before)
    assert sum(1 for p in purges.values() if p.attempts > 1) <= 1  # at most the one cut off mid-steps ran twice
    assert AuditEvent.objects.filter(action="recording.purged").count() == 60
