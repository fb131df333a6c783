"""Job services: claims and leases, failures and retries, recipes' variants, purge, stale jobs."""

import io
import json
from datetime import timedelta

import numpy as np
import pytest
import soundfile as sf
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from apps.catalog.models import RecordingStatus
from apps.processing import services
from apps.processing.models import Artifact, JobStatus, ProcessingJob
from apps.processing.services.jobs import JobLost
from apps.processing.tasks import recording_process_task
from tests.processing.helpers import artifact_kinds, ingest, stored_feature
from tests.processing.test_pipeline import _storage_keys

pytestmark = pytest.mark.django_db


def _queued(project, user, **kwargs):
    recording = ingest(project, user, **kwargs)  # on_commit not run: the job stays queued
    return recording, ProcessingJob.objects.get(recording=recording)


def test_only_one_claim_wins_until_the_lease_expires(project_with_roles):
    project, users = project_with_roles
    _, job = _queued(project, users["manager"], seconds=0.5)
    first = services.job_claim(job_id=job.id, worker="a")
    assert first is not None
    assert services.job_claim(job_id=job.id, worker="b") is None
    first.progress("features", 40)
    job.refresh_from_db()
    assert (job.status, job.stage, job.percent, job.attempts, job.worker) == (
        JobStatus.RUNNING,
        "features",
        40.0,
        1,
        "a",
    )
    # The first run's worker dies: once its lease is past, a redelivery takes over and the old run is out.
    ProcessingJob.objects.filter(id=job.id).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    second = services.job_claim(job_id=job.id, worker="b")
    assert second is not None and second.token != first.token
    with pytest.raises(JobLost):
        first.progress("tiles", 80)
    assert services.jobs.job_finish(claim=first) is False
    assert services.jobs.job_finish(claim=second) is True
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.attempts == 2


def test_undecodable_audio_fails_the_job_once_with_the_reason(project_with_roles):
    project, users = project_with_roles
    recording, job = _queued(project, users["manager"], seconds=0.5)
    default_storage.delete(recording.original_key)
    default_storage.save(recording.original_key, ContentFile(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk" * 10))
    result = recording_process_task.apply(args=[job.id])
    assert result.get() == "failed"
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.attempts == 1
    assert "cannot be decoded" in job.error
    recording.refresh_from_db()
    assert recording.status == RecordingStatus.FAILED
    assert not Artifact.objects.exists() and _storage_keys() == []


def test_transient_storage_error_releases_the_job_and_the_retry_finishes_it(project_with_roles, monkeypatch):
    project, users = project_with_roles
    recording, job = _queued(project, users["manager"], seconds=0.5)
    from apps.processing.services import pipeline

    real = pipeline._Run._download
    calls = {"n": 0}

    def flaky(self):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("storage is having a moment")
        return real(self)

    monkeypatch.setattr(pipeline._Run, "_download", flaky)
    with pytest.raises(ConnectionError):
        services.job_run(job_id=job.id)
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and "transient" in job.error and job.claim_token == ""
    assert recording_process_task.apply(args=[job.id]).get() == "done"
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.attempts == 2 and job.error == ""


def test_retries_exhausted_the_failure_hook_marks_the_job_failed(project_with_roles, monkeypatch):
    project, users = project_with_roles
    _, job = _queued(project, users["manager"], seconds=0.5)
    from apps.processing.services import pipeline

    def down(self):
        raise ConnectionError("storage is down")

    monkeypatch.setattr(pipeline._Run, "_download", down)
    from celery.exceptions import Retry

    with pytest.raises(Retry):  # an early attempt asks for a retry, with the job given back
        recording_process_task.apply(args=[job.id], retries=0).get()
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    # The last allowed attempt fails for good (throw=False: as on a worker, where the failure hook runs).
    result = recording_process_task.apply(args=[job.id], retries=5, throw=False)
    assert isinstance(result.result, ConnectionError)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "storage is down" in job.error
    assert job.attempts == 2 and job.finished_at is not None


def test_a_recording_no_longer_usable_is_skipped(project_with_roles):
    project, users = project_with_roles
    recording, job = _queued(project, users["manager"], seconds=0.5)
    from apps.catalog.services import recording_status_set

    recording_status_set(recording_id=recording.id, status=RecordingStatus.PURGED)
    assert services.job_run(job_id=job.id) == "skipped"
    job.refresh_from_db()
    assert job.status == JobStatus.SKIPPED and job.attempts == 0 and not Artifact.objects.exists()


def test_stale_running_job_is_requeued_and_finished(project_with_roles):
    project, users = project_with_roles
    _, job = _queued(project, users["manager"], seconds=0.5)
    ProcessingJob.objects.filter(id=job.id).update(
        status=JobStatus.RUNNING, claim_token="dead", lease_expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert services.jobs_requeue_stale() == 1  # eager in tests: the re-sent task runs here
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.claim_token != "dead"
    assert services.jobs_requeue_stale() == 0


def test_queued_jobs_are_not_resent_and_a_job_that_keeps_dying_is_given_up(project_with_roles):
    project, users = project_with_roles
    _, job = _queued(project, users["manager"], seconds=0.5)
    ProcessingJob.objects.filter(id=job.id).update(created_at=timezone.now() - timedelta(days=1))
    assert services.jobs_requeue_stale() == 0  # its message is in the broker
    ProcessingJob.objects.filter(id=job.id).update(
        status=JobStatus.RUNNING, attempts=5, claim_token="dead", lease_expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert services.jobs_requeue_stale() == 1
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "interrupted 5 times" in job.error


def _padded_tone_wav(sr=22050, before=0.5, tone=1.5, after=1.0) -> bytes:
    t = np.arange(int(tone * sr)) / sr
    y = np.concatenate([np.zeros(int(before * sr)), 0.3 * np.sin(2 * np.pi * 440 * t), np.zeros(int(after * sr))])
    buf = io.BytesIO()
    sf.write(buf, y.astype(np.float32), sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def test_full_recipe_trim_loudness_windows_float16_deltas_augment(
    project_with_roles, django_capture_on_commit_callbacks
):
    project, users = project_with_roles
    services.project_recipe_set(
        project=project,
        spec={
            "target_sample_rate": 16000,
            "trim": {"top_db": 30},
            "normalise": {"loudness_lufs": -23},
            "length": {"mode": "windows", "seconds": 0.5, "hop_seconds": 0.25},
            "feature_dtype": "float16",
            "features": {"deltas": True, "chroma_tuning": "estimate"},
            "augmentations": [{"kind": "noise", "snr_db": 20}, {"kind": "spec_augment", "n_time_masks": 1}],
            "artifacts": ["peaks", "voiced_segments", "mel", "mfcc", "chroma", "processed_audio", "tiles"],
        },
    )
    from apps.catalog.services import recording_ingest

    with django_capture_on_commit_callbacks(execute=True):
        result = recording_ingest(
            project=project, fileobj=io.BytesIO(_padded_tone_wav()), name="padded.wav", created_by=users["manager"]
        )
    job = ProcessingJob.objects.get(recording_id=result.recording_id)
    assert job.status == JobStatus.DONE, job.error
    kinds = {
        k
        for k in Artifact.objects.values_list("kind", flat=True)
        if not k.startswith("tile_") and k != "voice_activity"
    }  # speakerless: tests/consent/test_speech_*
    assert kinds == {
        "peaks",
        "voiced_segments",
        "mel",
        "mfcc",
        "mfcc_delta",
        "mfcc_delta2",
        "chroma",
        "audio",
        "tiles_index",
        "audio_aug_0",
        "mel_specaug_1",
    }

    def load(kind):
        return default_storage.open(Artifact.objects.get(kind=kind).key, "rb").read()

    audio, sr = sf.read(io.BytesIO(load("audio")))
    assert sr == 16000 and len(audio) / sr == pytest.approx(1.5, abs=0.05)  # trimmed to the tone
    from apps.processing.dsp.preprocess import loudness_lufs

    assert loudness_lufs(audio, sr) == pytest.approx(-23, abs=0.5)
    mel = stored_feature("mel")
    assert (
        Artifact.objects.get(kind="mel").meta["dtype"] == "float16" and mel.shape[0] == 5 and mel.shape[1] == 80
    )  # 5 windows of 0.5 s every 0.25 s
    assert isinstance(Artifact.objects.get(kind="chroma").meta["tuning"], float)
    # Region suggestions stay on the original's timeline even though the processed audio is trimmed.
    segments = json.loads(load("voiced_segments"))["segments"]
    assert len(segments) == 1 and segments[0][0] == pytest.approx(0.5, abs=0.05)
    assert segments[0][1] == pytest.approx(2.0, abs=0.05)
    noisy, _ = sf.read(io.BytesIO(load("audio_aug_0")))
    assert noisy.shape == audio.shape and not np.allclose(noisy, audio, atol=1e-3)
    masked = np.load(io.BytesIO(load("mel_specaug_1")))
    assert masked.shape == mel.shape


def test_whole_signal_recipe_over_the_limit_fails_with_a_sentence(
    project_with_roles, settings, django_capture_on_commit_callbacks
):
    project, users = project_with_roles
    settings.EARMARK_PROCESSING_WHOLE_SIGNAL_MAX_SECONDS = 1
    services.project_recipe_set(project=project, spec={"trim": {"top_db": 30}})
    with django_capture_on_commit_callbacks(execute=True):
        recording = ingest(project, users["manager"], seconds=2.0)
    job = ProcessingJob.objects.get(recording=recording)
    assert job.status == JobStatus.FAILED and "limit is 1 s" in job.error
    assert not Artifact.objects.exists()


def test_purge_deletes_objects_then_rows_and_is_idempotent(processed):
    _, _, recording = processed
    keys = set(Artifact.objects.values_list("key", flat=True))
    assert keys and set(_storage_keys()) == keys
    # A leftover object without a row (a killed run) goes too.
    stray = next(iter(keys)).rsplit("/", 1)[0] + "/stray.png"
    default_storage.save(stray, ContentFile(b"x"))
    deleted = services.artifacts_purge_for_recording(recording=recording)
    assert set(deleted) == keys | {stray}
    assert _storage_keys() == [] and not Artifact.objects.exists()
    assert services.artifacts_purge_for_recording(recording=recording) == []


def test_purge_keeps_artifacts_another_live_recording_shares(processed, make_user):
    project, users, recording = processed
    from apps.catalog.services import project_create, recording_ingest

    other_project = project_create(name="Copy", created_by=users["manager"])
    data = default_storage.open(recording.original_key, "rb").read()
    twin = recording_ingest(
        project=other_project, fileobj=io.BytesIO(data), name="twin.wav", created_by=users["manager"]
    )
    assert twin.status == "accepted"
    before = set(Artifact.objects.values_list("key", flat=True))
    assert services.artifacts_purge_for_recording(recording=recording) == []
    assert set(Artifact.objects.values_list("key", flat=True)) == before
    assert set(_storage_keys()) == before


def test_rerun_of_a_finished_recording_writes_nothing(processed):
    _, _, recording = processed
    before = list(Artifact.objects.order_by("id").values_list("id", "key"))
    job = ProcessingJob.objects.get(recording=recording)
    from apps.processing.services.pipeline import pipeline_run

    notes = pipeline_run(recording=recording, recipe=job.recipe, progress=lambda stage, pct: None)
    assert notes == ["every artifact already existed; nothing to do"]
    assert list(Artifact.objects.order_by("id").values_list("id", "key")) == before
    assert artifact_kinds(recording) >= {"peaks", "tiles_index"}


def test_recording_withdrawn_during_the_run_leaves_no_artifacts(project_with_roles, monkeypatch):
    project, users = project_with_roles
    recording, job = _queued(project, users["manager"], seconds=0.5)
    from apps.catalog.services import recording_status_set
    from apps.processing.services import pipeline

    real = pipeline.pipeline_run

    def run_then_withdraw(**kwargs):
        notes = real(**kwargs)
        assert Artifact.objects.exists()
        recording_status_set(recording_id=recording.id, status=RecordingStatus.PURGED)
        return notes

    monkeypatch.setattr("apps.processing.services.runner.pipeline_run", run_then_withdraw)
    assert services.job_run(job_id=job.id) == "skipped"
    job.refresh_from_db()
    assert job.status == JobStatus.SKIPPED and "stopped being usable" in job.error
    assert not Artifact.objects.exists() and _storage_keys() == []


def test_soft_time_limit_fails_the_job_with_a_sentence(project_with_roles, monkeypatch):
    project, users = project_with_roles
    recording, job = _queued(project, users["manager"], seconds=0.5)
    from celery.exceptions import SoftTimeLimitExceeded

    from apps.processing.services import pipeline

    def slow(self):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(pipeline._Run, "_download", slow)
    assert recording_process_task.apply(args=[job.id]).get() == "failed"
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error == "Processing took longer than its time limit."
    recording.refresh_from_db()
    assert recording.status == RecordingStatus.FAILED


def test_windows_policy_keeps_the_window_axis_for_a_single_window(
    project_with_roles, django_capture_on_commit_callbacks
):
    project, users = project_with_roles
    services.project_recipe_set(
        project=project, spec={"length": {"mode": "windows", "seconds": 2.0, "hop_seconds": 1.0}, "artifacts": ["mel"]}
    )
    with django_capture_on_commit_callbacks(execute=True):
        ingest(project, users["manager"], seconds=1.0)
    mel = stored_feature("mel")
    assert mel.shape == (1, 80, 1 + 32000 // 160)  # one window, padded to 2 s


def test_qa_after_processing_reads_the_pipelines_copy_not_storage_again(project_with_roles, monkeypatch):
    """One download per recording: review's QA measures the original the pipeline fetched; the folder goes after."""
    import tempfile
    from pathlib import Path

    from apps.review.models import QAResult
    from apps.review.services import qa as qa_module

    project, users = project_with_roles
    recording, job = _queued(project, users["manager"], seconds=0.5)
    monkeypatch.setattr(qa_module, "_original_file", lambda key: pytest.fail("QA fetched the original again"))
    made = []
    real_mkdtemp = tempfile.mkdtemp
    monkeypatch.setattr(tempfile, "mkdtemp", lambda **kw: made.append(real_mkdtemp(**kw)) or made[-1])
    assert services.job_run(job_id=job.id) == "done"
    result = QAResult.objects.get(recording=recording)
    assert result.error == "" and result.fingerprint and result.loudness_lufs is not None
    assert made and not any(Path(p).exists() for p in made)  # the job's folder is removed


def test_batched_artifacts_store_objects_first_rows_together_and_replace_leftovers(project_with_roles):
    """Tiles go through ArtifactWriter.batched(): one listing instead of a lookup per key, one insert for the rows;
    the object-first order and the replacement of a killed run's leftovers hold as for single writes."""
    from apps.processing.services.artifacts import ArtifactWriter, artifact_key

    project, users = project_with_roles
    recording, _ = _queued(project, users["manager"], seconds=0.5)
    leftover = artifact_key(source_sha256=recording.sha256, recipe_hash="r" * 64, kind="tile_0_1", ext="png")
    default_storage.save(leftover, ContentFile(b"partial"))  # a killed run's object without a row
    writer = ArtifactWriter(recording=recording, recipe_hash="r" * 64)
    with writer.batched():
        assert writer.put_bytes("tile_0_0", b"zero", "png") is True
        assert writer.put_bytes("tile_0_1", b"one", "png") is True
        assert writer.put_bytes("tile_0_0", b"again", "png") is False  # already written in this batch
        assert Artifact.objects.filter(recipe_hash="r" * 64).count() == 0  # rows wait for the batch's end
        with default_storage.open(leftover) as fh:
            assert fh.read() == b"one"  # the leftover was replaced at its key, not saved under another name
    rows = dict(Artifact.objects.filter(recipe_hash="r" * 64).values_list("kind", "bytes"))
    assert rows == {"tile_0_0": 4, "tile_0_1": 3}
    assert sorted(writer.written) == ["tile_0_0", "tile_0_1"]
    # A batch interrupted by an error keeps the rows of the objects it stored, and the error itself.
    again = ArtifactWriter(recording=recording, recipe_hash="r" * 64)
    with pytest.raises(RuntimeError, match="killed"), again.batched():
        again.put_bytes("tile_0_2", b"two", "png")
        raise RuntimeError("killed")
    assert Artifact.objects.filter(recipe_hash="r" * 64, kind="tile_0_2").exists()


def test_batched_artifacts_count_only_the_rows_they_inserted(project_with_roles):
    """A row another run of the same job inserted first (same keys, same bytes) is skipped by the batch's insert,
    and it is not counted as written by this one."""
    from apps.processing.services.artifacts import ArtifactWriter

    project, users = project_with_roles
    recording, _ = _queued(project, users["manager"], seconds=0.5)
    writer = ArtifactWriter(recording=recording, recipe_hash="q" * 64)
    with writer.batched():
        writer.put_bytes("tile_0_0", b"zero", "png")
        writer.put_bytes("tile_0_1", b"one", "png")
        other = ArtifactWriter(recording=recording, recipe_hash="q" * 64)  # the other run, unbatched, inserts first
        assert other.put_bytes("tile_0_1", b"one", "png") is True
    assert writer.written == ["tile_0_0"] and other.written == ["tile_0_1"]
    assert sorted(Artifact.objects.filter(recipe_hash="q" * 64).values_list("kind", flat=True)) == [
        "tile_0_0",
        "tile_0_1",
    ]
    row = Artifact.objects.get(recipe_hash="q" * 64, kind="tile_0_0")
    assert row.bytes == 4 and row.meta == {} and row.created_at is not None and row.recording_id == recording.id
    # Nothing new: the insert itself reports 0 rows.
    again = [Artifact(recording=recording, source_sha256=recording.sha256, recipe_hash="q" * 64, kind="tile_0_0",
                      key=row.key, bytes=4)]  # fmt: skip
    assert ArtifactWriter(recording=recording, recipe_hash="q" * 64)._insert(again) == 0
