"""SIGKILL a real Celery worker mid-job, on the filesystem broker (the embedded default) and on Redis, with the
default lease (30 s) and sweep interval (15 s): after a new worker starts, the job is done exactly once within
90 s, with no duplicate or orphan artifacts. Neither broker hands the killed job's message back in that time
(the filesystem transport deleted it when the dead worker took it; Redis keeps it unacked for the visibility
timeout, an hour by default): the lease running out and the sweeper re-sending the job is what resumes it.
"""

import io

import pytest
from django.core.files.storage import default_storage

from apps.processing.models import Artifact, JobStatus, ProcessingJob
from tests.conftest import make_audio
from tests.processing.test_pipeline import BASE_KINDS, _storage_keys

pytestmark = [pytest.mark.xdist_group("worker")]


def _upload(api, project, user, *, seconds, seed):
    res = api(user).post(
        f"/api/v1/projects/{project.id}/recordings/",
        {"files": [io.BytesIO(make_audio(seconds=seconds, sr=16000, seed=seed))]},
        format="multipart",
    )
    assert res.status_code == 201, res.json()
    return res.json()["results"][0]["recording_id"]


def _job(recording_id):
    return ProcessingJob.objects.filter(recording_id=recording_id).order_by("-id").first()


def _killed_mid_job_then_resumed(start_worker, api, project_with_roles, *, env=None):
    project, users = project_with_roles
    first = start_worker(beat=True, env=env)
    recording_id = _upload(api, project, users["manager"], seconds=600.0, seed=41)

    def mid_job():
        job = _job(recording_id)
        return job.status == JobStatus.RUNNING and job.percent >= 20 and Artifact.objects.exists()

    first.wait_for(mid_job, timeout=240, what="the job to be part-way through")
    first.kill()
    job = _job(recording_id)
    assert job.status == JobStatus.RUNNING and job.percent < 100 and job.attempts == 1

    # Default lease and sweep interval: the new worker (with beat, as `make run` starts it) resumes the job.
    second = start_worker(beat=True, env=env)
    second.wait_for(
        lambda: _job(recording_id).status in (JobStatus.DONE, JobStatus.FAILED),
        timeout=90,
        what="the job to be done within 90 s of the new worker's start",
    )
    job = _job(recording_id)
    assert job.status == JobStatus.DONE, job.error
    assert ProcessingJob.objects.filter(recording_id=recording_id).count() == 1
    assert job.attempts == 2, "exactly one run after the kill claimed the job"
    second.wait_for(lambda: ": 'done'" in second.output(), timeout=30, what="the task's success log line")
    assert second.output().count(": 'done'") == 1 and ": 'done'" not in first.output()
    assert "processing.jobs_requeue_stale" in second.output(), "the sweeper, not a redelivery, resumed it"
    keys = sorted(Artifact.objects.values_list("key", flat=True))
    assert keys == _storage_keys(), "storage holds objects without rows (orphans) or rows without objects"
    kinds = list(Artifact.objects.values_list("kind", flat=True))
    assert len(kinds) == len(set(kinds)) and BASE_KINDS <= set(kinds)
    assert all(default_storage.size(k) > 0 for k in keys)


def test_sigkill_mid_job_on_the_filesystem_broker_resumes_within_90_s(live_worker_filesystem, api, project_with_roles):
    _killed_mid_job_then_resumed(live_worker_filesystem, api, project_with_roles)


@pytest.mark.services
def test_sigkill_mid_job_on_redis_resumes_within_90_s(live_worker, api, project_with_roles):
    # Redis's own redelivery waits for the visibility timeout (3600 s by default): keep the default here.
    _killed_mid_job_then_resumed(live_worker, api, project_with_roles, env={"CELERY_VISIBILITY_TIMEOUT": "3600"})
