"""Thin Celery entry points: ids in, one service call, retry decisions here."""

import logging
import socket

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from apps.processing.services import JobOutcome, job_fail, job_run, jobs_requeue_stale
from apps.processing.services.jobs import jobs_publish
from apps.processing.services.runner import TRANSIENT_ERRORS

log = logging.getLogger(__name__)

SOFT_LIMIT = settings.EARMARK_PROCESSING_SOFT_TIME_LIMIT


class ProcessingTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """Failure hook: whatever ended the task (retries exhausted, a bug), the job must not stay active."""
        job_id = args[0] if args else kwargs.get("job_id")
        if job_id is not None:
            job_fail(job_id=job_id, error=f"Processing failed: {type(exc).__name__}: {exc}")


@shared_task(
    bind=True,
    base=ProcessingTask,
    name="processing.recording_process",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=SOFT_LIMIT,
    time_limit=SOFT_LIMIT + 120,
    max_retries=5,
    retry_backoff=True,
)
def recording_process_task(self, job_id: int) -> str:
    """Process one recording job (see apps.processing.services.runner.job_run)."""
    worker = f"{self.request.hostname or socket.gethostname()}"
    try:
        outcome = job_run(job_id=job_id, worker=worker)
    except SoftTimeLimitExceeded:
        job_fail(job_id=job_id, error=f"Processing took longer than the {SOFT_LIMIT} s limit.")
        return JobOutcome.FAILED
    except TRANSIENT_ERRORS as exc:
        # Exponential backoff: 2, 4, 8, ... seconds (capped), then on_failure marks the job failed.
        raise self.retry(exc=exc, countdown=min(2 ** (self.request.retries + 1), 300)) from exc
    if outcome == JobOutcome.HELD:
        # Another run holds a live lease. If it dies, the lease expires and this retry takes over;
        # if it finishes, the retry finds the job closed and stops.
        lease = settings.EARMARK_PROCESSING_LEASE_SECONDS
        raise self.retry(countdown=lease + 1, max_retries=None)
    return outcome


@shared_task(name="processing.jobs_requeue_stale", soft_time_limit=120, time_limit=180)
def jobs_requeue_stale_task() -> int:
    """Periodic: re-send jobs whose worker died without redelivery (lease expired) or whose message was lost."""
    return jobs_requeue_stale()


@shared_task(name="processing.jobs_dispatch", acks_late=True, soft_time_limit=120, time_limit=180)
def jobs_dispatch_task(job_ids: list[int]) -> int:
    """Fan a batch's jobs out to the dsp queue, one message per job (routed to the default queue)."""
    jobs_publish(job_ids)
    return len(job_ids)
