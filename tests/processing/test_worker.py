"""Processing on a real Celery worker process (Redis), with local storage and S3 on moto; SIGKILL mid-job."""

import io

import pytest
from django.core.files.storage import default_storage

from apps.processing.models import Artifact, JobStatus, ProcessingJob
from tests.conftest import make_audio, s3_keys
from tests.processing.test_pipeline import BASE_KINDS, _storage_keys

pytestmark = [pytest.mark.services, pytest.mark.xdist_group("worker")]


def _upload(api, project, user, *, seconds, seed=0):
    data = make_audio(seconds=seconds, sr=16000, seed=seed)
    res = api(user).post(
        f"/api/v1/projects/{project.id}/recordings/", {"files": [io.BytesIO(data)]}, format="multipart"
    )
    assert res.status_code == 201, res.json()
    return res.json()["results"][0]["recording_id"]


def _job(recording_id):
    return ProcessingJob.objects.filter(recording_id=recording_id).order_by("-id").first()


def _serves_everything(client, recording_id):
    peaks = client.get(f"/api/v1/recordings/{recording_id}/peaks")
    assert peaks.status_code == 200 and peaks.json()["length"] > 0, peaks.json()
    index = client.get(f"/api/v1/recordings/{recording_id}/spectrogram/tiles/")
    assert index.status_code == 200
    assert client.get(f"/api/v1/recordings/{recording_id}/features/voiced_segments").json()["segments"]
    for path in ("features/mel", "spectrogram.png", "spectrogram/tiles/0/0.png"):
        res = client.get(f"/api/v1/recordings/{recording_id}/{path}")
        assert res.status_code in (200, 302), (path, res.status_code)


def test_upload_is_processed_by_a_real_worker_local_storage(live_worker, project_with_roles, api):
    project, users = project_with_roles
    worker = live_worker()
    recording_id = _upload(api, project, users["manager"], seconds=3.0)
    worker.wait_for(
        lambda: _job(recording_id).status in (JobStatus.DONE, JobStatus.FAILED), timeout=120, what="the processing job"
    )
    job = _job(recording_id)
    assert job.status == JobStatus.DONE, job.error
    assert job.attempts == 1 and job.worker
    # Worker hygiene: the warm-up ran once, in the worker, before it took tasks.
    log = worker.output()
    assert log.count("processing warm-up took") == 1 and "processing warm-up failed" not in log
    assert log.index("processing warm-up took") < log.index(" ready.")
    kinds = set(Artifact.objects.filter(recording_id=recording_id).values_list("kind", flat=True))
    assert BASE_KINDS <= kinds
    assert sorted(Artifact.objects.values_list("key", flat=True)) == _storage_keys()
    # A viewer streams every usable recording; an annotator only those in their work (docs/roles.md).
    _serves_everything(api(users["viewer"]), recording_id)


@pytest.mark.s3
def test_upload_is_processed_by_a_real_worker_on_s3(s3_storage, live_worker, project_with_roles, api):
    client, bucket = s3_storage
    project, users = project_with_roles
    worker = live_worker()
    recording_id = _upload(api, project, users["manager"], seconds=2.0, seed=3)
    worker.wait_for(
        lambda: _job(recording_id).status in (JobStatus.DONE, JobStatus.FAILED), timeout=120, what="the processing job"
    )
    assert _job(recording_id).status == JobStatus.DONE, _job(recording_id).error
    assert sorted(Artifact.objects.values_list("key", flat=True)) == s3_keys(client, bucket, "artifacts/")
    assert BASE_KINDS <= set(Artifact.objects.values_list("kind", flat=True))
    api_client = api(users["viewer"])
    _serves_everything(api_client, recording_id)
    # On S3 the binary artifacts are presigned redirects to the bucket.
    png = api_client.get(f"/api/v1/recordings/{recording_id}/spectrogram.png")
    assert png.status_code == 302 and bucket in png["Location"]
    peaks = api_client.get(f"/api/v1/recordings/{recording_id}/peaks").json()
    assert peaks["samples_per_pixel"] == 256


def test_sigkill_mid_job_completes_exactly_once_without_orphans(live_worker, project_with_roles, api, monkeypatch):
    project, users = project_with_roles
    # Short lease so the redelivered message can take the job over soon after the visibility timeout (30 s).
    monkeypatch.setenv("EARMARK_PROCESSING_LEASE_SECONDS", "3")
    first = live_worker()
    recording_id = _upload(api, project, users["manager"], seconds=600.0, seed=5)

    def mid_job():
        job = _job(recording_id)
        return job.status == JobStatus.RUNNING and job.percent >= 35 and Artifact.objects.exists()

    first.wait_for(mid_job, timeout=240, what="the job to be part-way through")
    written_before_kill = Artifact.objects.count()
    first.kill()
    job = _job(recording_id)
    assert job.status == JobStatus.RUNNING and job.percent < 100
    assert written_before_kill > 0

    second = live_worker()
    second.wait_for(
        lambda: _job(recording_id).status in (JobStatus.DONE, JobStatus.FAILED),
        timeout=300,
        what="the job to complete on the second worker",
    )
    assert ProcessingJob.objects.filter(recording_id=recording_id).count() == 1
    job = _job(recording_id)
    assert job.status == JobStatus.DONE, job.error
    assert job.attempts == 2
    # Exactly one run finished it: the killed worker never reported success, the new one did once.
    # The redelivered message and the stale-lease sweep may both reach the second worker: wait for the run that
    # finished the job (the other one reports the job already done, or lost, in its own line).
    second.wait_for(lambda: ": 'done'" in second.output(), timeout=30, what="the task's success log line")
    assert "succeeded" not in first.output()
    assert second.output().count(": 'done'") == 1
    keys = sorted(Artifact.objects.values_list("key", flat=True))
    assert keys == _storage_keys(), "storage holds objects without rows (orphans) or rows without objects"
    assert len(keys) == len(set(Artifact.objects.values_list("kind", flat=True)))
    assert all(default_storage.size(k) > 0 for k in keys[:50])
    _serves_everything(api(users["manager"]), recording_id)
