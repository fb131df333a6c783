"""Batch ingest commits in chunks: jobs are queued per chunk, and a failed chunk leaves nothing behind."""

import io

import pytest

from apps.catalog.models import Recording
from apps.catalog.services import ingest_batch, recordings_ingest_many
from apps.processing.models import ProcessingJob
from tests.conftest import make_audio

pytestmark = pytest.mark.django_db


def _files(n, seed=0):
    return [(f"clip{i}.wav", io.BytesIO(make_audio(0.2, seed=seed + i))) for i in range(n)]


def _stored(media):
    return [p for p in media.rglob("*") if p.is_file()]


def test_batch_across_chunks_queues_one_job_per_accepted_file(project_with_roles, monkeypatch, _media_storage):
    project, users = project_with_roles
    monkeypatch.setattr(ingest_batch, "_BATCH", 3)
    files = _files(7) + [("bad.wav", io.BytesIO(b"not audio at all"))] + _files(1)  # a duplicate of clip0
    results = recordings_ingest_many(project=project, files=files, created_by=users["manager"])
    assert [r.status for r in results] == ["accepted"] * 7 + ["rejected", "duplicate"]
    accepted = {r.recording_id for r in results if r.status == "accepted"}
    assert set(ProcessingJob.objects.filter(project=project).values_list("recording_id", flat=True)) == accepted
    assert ProcessingJob.objects.filter(project=project).count() == 7
    assert len(_stored(_media_storage)) == 7


def test_a_chunk_that_fails_leaves_no_row_and_no_object(project_with_roles, monkeypatch, _media_storage):
    project, users = project_with_roles
    monkeypatch.setattr(ingest_batch, "_BATCH", 4)

    def broken_queue(**_):
        raise RuntimeError("broker down")

    monkeypatch.setattr("apps.processing.services.recording_jobs_create_new", broken_queue)
    with pytest.raises(RuntimeError):
        recordings_ingest_many(project=project, files=_files(3), created_by=users["manager"])
    assert Recording.objects.filter(project=project).count() == 0
    assert _stored(_media_storage) == []


def test_a_batch_publishes_one_fan_out_message_per_chunk(
    project_with_roles, monkeypatch, django_capture_on_commit_callbacks
):
    from apps.processing import tasks

    project, users = project_with_roles
    monkeypatch.setattr(ingest_batch, "_BATCH", 4)
    sent = []
    monkeypatch.setattr(tasks.jobs_dispatch_task, "delay", lambda job_ids: sent.append(list(job_ids)))
    with django_capture_on_commit_callbacks(execute=True):
        results = recordings_ingest_many(project=project, files=_files(6, seed=50), created_by=users["manager"])
    jobs = dict(ProcessingJob.objects.filter(project=project).values_list("recording_id", "id"))
    assert [len(ids) for ids in sent] == [4, 2]
    assert sorted(sum(sent, [])) == sorted(jobs[r.recording_id] for r in results)
    from config.celery import app

    assert app.amqp.router.route({}, tasks.jobs_dispatch_task.name)["queue"].name == "default"
