"""Crash recovery without a real worker: leases, sweepers, failure hooks, orphan and temp-file sweeps.

A dead worker is simulated the way it looks from the database: the work is claimed ("running"/"building")
and its lease is in the past. The real-worker SIGKILL tests are in tests/processing/test_crash_recovery.py.
"""

import io
import os
import time
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from apps.catalog.models import ImportBatch, ImportStatus, Recording
from apps.catalog.services import import_batch_run, imports_requeue_stale
from apps.core.sweep import storage_orphans_sweep, temp_files_sweep
from apps.datasets.models import DatasetRelease, ReleaseStatus
from apps.datasets.services import release_create, releases_requeue_stale
from apps.processing.models import Artifact, JobStatus, ProcessingJob
from apps.processing.services import jobs_requeue_stale
from tests.conftest import make_audio
from tests.datasets.conftest import corpus  # noqa: F401 - the release fixture

pytestmark = pytest.mark.django_db(transaction=True)
PAST = timedelta(seconds=5)


def _upload(api, project, user, seed=0):
    res = api(user).post(
        f"/api/v1/projects/{project.id}/recordings/",
        {"files": [io.BytesIO(make_audio(seconds=0.5, seed=seed))]},
        format="multipart",
    )
    assert res.status_code == 201, res.content
    return res.json()["results"][0]["recording_id"]


# --- processing jobs -----------------------------------------------------------------------------------


def test_sweeper_resumes_a_job_whose_worker_died(api, project_with_roles):
    project, users = project_with_roles
    rid = _upload(api, project, users["manager"])
    job = ProcessingJob.objects.get(recording_id=rid)
    Artifact.objects.filter(recording_id=rid).delete()
    # As a worker killed mid-job leaves it: running, claimed, lease in the past.
    ProcessingJob.objects.filter(id=job.id).update(
        status=JobStatus.RUNNING, claim_token="dead", percent=40, lease_expires_at=timezone.now() - PAST, attempts=1
    )
    assert jobs_requeue_stale() == 1  # eager in unit tests: the re-sent message ran here
    job.refresh_from_db()
    assert (job.status, job.attempts, job.percent) == (JobStatus.DONE, 2, 100.0)
    assert Artifact.objects.filter(recording_id=rid).exists()
    assert jobs_requeue_stale() == 0


def test_a_job_whose_lease_is_alive_is_not_taken_over(api, project_with_roles):
    project, users = project_with_roles
    rid = _upload(api, project, users["manager"])
    job = ProcessingJob.objects.get(recording_id=rid)
    ProcessingJob.objects.filter(id=job.id).update(
        status=JobStatus.RUNNING, claim_token="alive", lease_expires_at=timezone.now() + timedelta(seconds=30)
    )
    assert jobs_requeue_stale() == 0
    assert ProcessingJob.objects.get(id=job.id).claim_token == "alive"


def test_a_job_interrupted_too_often_fails_with_a_sentence(api, project_with_roles, settings):
    project, users = project_with_roles
    rid = _upload(api, project, users["manager"])
    job = ProcessingJob.objects.get(recording_id=rid)
    ProcessingJob.objects.filter(id=job.id).update(
        status=JobStatus.RUNNING,
        claim_token="dead",
        lease_expires_at=timezone.now() - PAST,
        attempts=settings.EARMARK_MAX_ATTEMPTS,
    )
    jobs_requeue_stale()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "interrupted 5 times" in job.error


def test_the_heartbeat_renews_a_running_jobs_lease(api, project_with_roles, settings):
    from apps.core.leases import lease_heartbeat
    from apps.processing.services.jobs import job_claim

    project, users = project_with_roles
    rid = _upload(api, project, users["manager"])
    job = ProcessingJob.objects.get(recording_id=rid)
    ProcessingJob.objects.filter(id=job.id).update(status=JobStatus.QUEUED)
    settings.EARMARK_PROCESSING_LEASE_SECONDS = 1
    claim = job_claim(job_id=job.id)
    first = ProcessingJob.objects.get(id=job.id).lease_expires_at
    with lease_heartbeat(claim.renew, every=0.2):
        time.sleep(1.5)  # longer than the lease: without the heartbeat it would have run out
        assert jobs_requeue_stale() == 0
    assert ProcessingJob.objects.get(id=job.id).lease_expires_at > first


# --- imports -------------------------------------------------------------------------------------------


@pytest.fixture
def folder_batch(tmp_path, project_with_roles, settings):
    project, users = project_with_roles
    root = tmp_path / "imports" / "drop"
    root.mkdir(parents=True)
    for i in range(4):
        (root / f"f{i}.wav").write_bytes(make_audio(seconds=0.3, seed=100 + i))
    settings.EARMARK_IMPORT_ROOTS = [str(root.parent)]
    from apps.catalog.services import import_source_create

    # Imports read only from registered sources (issue 13): a folder source allowed for this project.
    source = import_source_create(name="recovery drop", kind="folder", path=str(root), projects=[project])
    batch = ImportBatch.objects.create(
        project=project, source="folder", import_source=source, location="", created_by=users["manager"]
    )
    return batch, root


def test_sweeper_resumes_a_dead_import_and_counts_files_the_dead_run_stored_as_accepted(folder_batch):
    from apps.catalog.services import import_folder

    batch, root = folder_batch
    # The dead run: claimed, stored two files, then its worker was killed (lease in the past).
    ImportBatch.objects.filter(id=batch.id).update(
        status=ImportStatus.RUNNING,
        claim_token="dead",
        attempts=1,
        started_at=timezone.now() - timedelta(minutes=1),
        processed=2,
        accepted=2,
    )
    partial = root.parent / "partial"
    partial.mkdir()
    for name in ("f0.wav", "f1.wav"):
        (partial / name).write_bytes((root / name).read_bytes())
    import_folder(project=batch.project, path=str(partial))
    assert Recording.objects.filter(project=batch.project).count() == 2
    ImportBatch.objects.filter(id=batch.id).update(lease_expires_at=timezone.now() - PAST)

    assert imports_requeue_stale() == 1
    batch.refresh_from_db()
    assert (batch.status, batch.attempts, batch.total, batch.processed) == (ImportStatus.DONE, 2, 4, 4)
    assert (batch.accepted, batch.duplicates, batch.rejected) == (4, 0, 0)
    assert Recording.objects.filter(project=batch.project).count() == 4
    assert sum(1 for r in batch.results if r.get("resumed")) == 2
    assert imports_requeue_stale() == 0


def test_an_import_hitting_an_unexpected_error_fails_with_a_sentence(folder_batch, monkeypatch):
    from apps.catalog.services import imports as imports_module

    batch, _ = folder_batch

    def broken(**_kwargs):
        raise KeyError("boom")  # anything but a DomainError: the bug class that used to leave it "running"

    monkeypatch.setattr(imports_module, "import_folder", broken)
    with pytest.raises(KeyError):
        import_batch_run(batch_id=batch.id)
    batch.refresh_from_db()
    assert batch.status == ImportStatus.FAILED and batch.lease_expires_at is None
    assert batch.error.startswith("The import stopped on an unexpected error (KeyError)")
    assert "Traceback" not in batch.error


def test_the_import_tasks_failure_hook_fails_the_batch(folder_batch):
    from apps.catalog.tasks import import_batch_run_task

    batch, _ = folder_batch
    ImportBatch.objects.filter(id=batch.id).update(status=ImportStatus.RUNNING, claim_token="x")
    import_batch_run_task.on_failure(MemoryError(), "task-id", (batch.id,), {}, None)
    batch.refresh_from_db()
    assert batch.status == ImportStatus.FAILED and "(MemoryError)" in batch.error


def test_an_import_interrupted_too_often_fails(folder_batch, settings):
    batch, _ = folder_batch
    ImportBatch.objects.filter(id=batch.id).update(
        status=ImportStatus.RUNNING,
        claim_token="dead",
        attempts=settings.EARMARK_MAX_ATTEMPTS,
        lease_expires_at=timezone.now() - PAST,
    )
    assert imports_requeue_stale() == 0
    batch.refresh_from_db()
    assert batch.status == ImportStatus.FAILED and "interrupted 5 times" in batch.error


# --- release builds ------------------------------------------------------------------------------------


@pytest.fixture
def queued_release(corpus):
    release = release_create(
        actor=corpus["users"]["manager"],
        project_id=corpus["project"].id,
        spec={"unit": "recording", "formats": ["jsonl"]},
        enqueue=False,
    )
    return release


def test_sweeper_rebuilds_a_release_whose_worker_died_from_an_empty_prefix(queued_release):
    release = queued_release
    # The dead run: building, lease in the past, a partial file written.
    DatasetRelease.objects.filter(id=release.id).update(
        status=ReleaseStatus.BUILDING, claim_token="dead", attempts=1, lease_expires_at=timezone.now() - PAST
    )
    leftover = default_storage.save(
        f"{release.storage_prefix}jsonl/leftover-from-the-dead-run.tmp", ContentFile(b"partial")
    )
    assert releases_requeue_stale() == 1
    release.refresh_from_db()
    assert (release.status, release.attempts, release.error) == (ReleaseStatus.READY, 2, "")
    assert not default_storage.exists(leftover)
    assert release.items.count() == 12
    assert releases_requeue_stale() == 0


def test_a_release_build_interrupted_too_often_fails_and_its_files_go(queued_release, settings):
    release = queued_release
    DatasetRelease.objects.filter(id=release.id).update(
        status=ReleaseStatus.BUILDING,
        claim_token="dead",
        attempts=settings.EARMARK_MAX_ATTEMPTS,
        lease_expires_at=timezone.now() - PAST,
    )
    partial = default_storage.save(f"{release.storage_prefix}jsonl/part.jsonl", ContentFile(b"x"))
    assert releases_requeue_stale() == 0
    release.refresh_from_db()
    assert release.status == ReleaseStatus.FAILED and "interrupted 5 times" in release.error
    assert not default_storage.exists(partial)


def test_a_stale_build_run_cannot_publish_or_fail_the_run_that_took_over(queued_release):
    from apps.datasets.services.build import release_fail

    release = queued_release
    DatasetRelease.objects.filter(id=release.id).update(
        status=ReleaseStatus.BUILDING, claim_token="new-run", lease_expires_at=timezone.now() + timedelta(seconds=30)
    )
    kept = default_storage.save(f"{release.storage_prefix}jsonl/new-run.jsonl", ContentFile(b"x"))
    release_fail(release_id=release.id, message="from the old run", token="old-run")
    release.refresh_from_db()
    assert release.status == ReleaseStatus.BUILDING and default_storage.exists(kept)


def test_the_release_tasks_failure_hook_fails_a_building_release(queued_release):
    from apps.datasets.tasks import release_build_task

    release = queued_release
    DatasetRelease.objects.filter(id=release.id).update(status=ReleaseStatus.BUILDING, claim_token="x")
    release_build_task.on_failure(MemoryError(), "task-id", (release.id,), {}, None)
    release.refresh_from_db()
    assert release.status == ReleaseStatus.FAILED and "(MemoryError)" in release.error


# --- orphans and temp files ----------------------------------------------------------------------------


def _age(key, seconds):
    path = default_storage.path(key)
    old = time.time() - seconds
    os.utime(path, (old, old))


def test_storage_sweep_removes_old_objects_no_row_points_at_and_nothing_else(api, project_with_roles, settings):
    project, users = project_with_roles
    rid = _upload(api, project, users["manager"])
    owned = [Recording.objects.get(id=rid).original_key, *Artifact.objects.values_list("key", flat=True)]
    orphans = [
        default_storage.save(key, ContentFile(b"orphan"))
        for key in (
            "originals/ab/cd/" + "ab" * 32 + ".wav",  # a web server killed between storing and committing
            "artifacts/ab/" + "ab" * 32 + "/x/peaks.json",  # a worker killed between storing and its row
            "consent-evidence/00/11/" + "0" * 64 + ".p",
            "releases/1/999999/jsonl/train.jsonl",  # a release row that does not exist
        )
    ]
    young = default_storage.save("originals/ee/ff/" + "e" * 64 + ".wav", ContentFile(b"being ingested now"))
    foreign = default_storage.save("somebody-else/file.bin", ContentFile(b"not ours"))
    for key in [*owned, *orphans, foreign]:
        _age(key, settings.EARMARK_SWEEP_MIN_AGE_SECONDS + 60)

    deleted = storage_orphans_sweep()
    assert deleted == {"originals/": 1, "consent-evidence/": 1, "artifacts/": 1, "releases/": 1}
    assert not any(default_storage.exists(k) for k in orphans)
    assert all(default_storage.exists(k) for k in owned), "an object a row points at was deleted"
    assert default_storage.exists(young) and default_storage.exists(foreign)
    assert storage_orphans_sweep() == {"originals/": 0, "consent-evidence/": 0, "artifacts/": 0, "releases/": 0}


@pytest.mark.s3
def test_storage_sweep_on_s3(s3_storage, api, project_with_roles):
    from tests.conftest import s3_keys

    client, bucket = s3_storage
    project, users = project_with_roles
    rid = _upload(api, project, users["manager"], seed=7)
    owned = Recording.objects.get(id=rid).original_key
    orphan = default_storage.save("originals/ab/cd/" + "ab" * 32 + ".wav", ContentFile(b"orphan"))
    assert storage_orphans_sweep()["originals/"] == 0  # everything is younger than the safe age
    assert storage_orphans_sweep(min_age_seconds=0)["originals/"] == 1
    keys = s3_keys(client, bucket, "originals/")
    assert owned in keys and orphan not in keys


def test_temp_sweep_removes_only_old_entries_of_earmarks_temp_folder(settings, tmp_path):
    temp = tmp_path / "earmark-tmp"
    temp.mkdir()
    settings.EARMARK_TEMP_DIR = str(temp)
    old_file, old_dir, new_file = temp / "tmpab12.upload.wav", temp / "earmark-job-x", temp / "tmpcd34.upload.wav"
    old_file.write_bytes(b"x" * 100)
    old_dir.mkdir()
    (old_dir / "original.wav").write_bytes(b"y")
    new_file.write_bytes(b"z")
    outside = tmp_path / "not-ours.tmp"
    outside.write_bytes(b"w")
    old = time.time() - settings.EARMARK_SWEEP_MIN_AGE_SECONDS - 60
    for path in (old_dir / "original.wav", old_file, old_dir, outside):
        os.utime(path, (old, old))
    assert temp_files_sweep() == 2
    assert not old_file.exists() and not old_dir.exists()
    assert new_file.exists() and outside.exists()


def test_uploads_spool_into_earmarks_temp_folder(settings):
    assert settings.FILE_UPLOAD_TEMP_DIR == settings.EARMARK_TEMP_DIR
