"""Run one processing job end to end: re-check, claim, pipeline, finish (the task calls only this)."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404
from django.utils import timezone

from apps.catalog.models import RecordingStatus
from apps.catalog.services import recording_status_set
from apps.consent.purposes import Purpose
from apps.consent.selectors import recording_get_usable
from apps.core.hooks import RECORDING_PROCESSED, hook_call
from apps.core.leases import lease_heartbeat
from apps.processing.models import ACTIVE_STATUSES, JobKind, JobStatus, ProcessingJob
from apps.processing.services.artifacts import artifacts_purge_for_recording
from apps.processing.services.jobs import (
    JobLost,
    job_claim,
    job_fail,
    job_finish,
    job_release,
    job_skip,
)
from apps.processing.services.pipeline import (
    UndecodableAudio,
    local_measures,
    local_original,
    pipeline_run,
)
from apps.processing.services.vad import recording_speech_verdict, recording_voice_activity

log = logging.getLogger(__name__)


def _transient_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [OSError, OperationalError, InterfaceError]
    try:
        from botocore.exceptions import BotoCoreError

        errors.append(BotoCoreError)
    except ImportError:  # pragma: no cover - boto3 is a runtime dependency
        pass
    return tuple(errors)


# Storage and database hiccups: give the job back and let the task retry with backoff.
TRANSIENT_ERRORS = _transient_errors()


class JobOutcome:
    DONE = "done"
    HELD = "held"  # another live run holds the claim
    CLOSED = "closed"  # already done/failed/skipped, or missing
    SKIPPED = "skipped"
    FAILED = "failed"
    LOST = "lost"


def job_run(*, job_id: int, worker: str = "") -> str:
    """Process one recording job; returns a JobOutcome. Transient errors propagate after releasing the claim.

    Writes ProcessingJob, Artifacts and storage objects, the recording's status; calls review's qa_on_processed.
    """
    job = ProcessingJob.objects.select_related("recipe").filter(id=job_id, kind=JobKind.RECORDING).first()
    if job is None or job.status not in ACTIVE_STATUSES:
        return JobOutcome.CLOSED
    try:
        recording = recording_get_usable(None, Purpose.STORE, job.recording_id)
    except Http404:
        job_skip(job_id=job_id, reason="The recording is gone or may no longer be stored.")
        return JobOutcome.SKIPPED
    if (
        job.attempts >= settings.EARMARK_MAX_ATTEMPTS
        and job.status == JobStatus.RUNNING
        and job.lease_expires_at
        and job.lease_expires_at < timezone.now()
    ):
        # Killed mid-run again and again (a hard time limit, memory): stop instead of looping forever.
        job_fail(
            job_id=job_id,
            error=f"Processing was interrupted {job.attempts} times (the worker died or hit "
            f"its time limit); giving up.",
        )
        return JobOutcome.FAILED
    claim = job_claim(job_id=job_id, worker=worker)
    if claim is None:
        return JobOutcome.HELD
    recording_status_set(
        recording_id=recording.id,
        status=RecordingStatus.PROCESSING,
        only_from=(RecordingStatus.INGESTED, RecordingStatus.FAILED),
    )
    # The pipeline's folder outlives it until QA has read the downloaded original: one download, not two.
    workdir = Path(tempfile.mkdtemp(prefix="earmark-job-", dir=settings.EARMARK_TEMP_DIR))
    try:
        # The heartbeat keeps the lease short (a killed worker's job is taken over within a minute) without
        # depending on how often the pipeline reports progress.
        with lease_heartbeat(claim.renew, every=max(settings.EARMARK_PROCESSING_LEASE_SECONDS / 3.0, 0.5)):
            return _run_claimed(job_id=job_id, recording=recording, recipe=job.recipe, claim=claim, workdir=workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _run_claimed(*, job_id: int, recording, recipe, claim, workdir: Path) -> str:
    try:
        notes = pipeline_run(recording=recording, recipe=recipe, progress=claim.progress, workdir=workdir)
        # Silero VAD's regions are part of the job: written under the claim, so a killed run's object is rewritten
        # by the retry and a finished job has a row for every object.
        activity = recording_voice_activity(recording=recording, workdir=workdir)
    except JobLost:
        log.warning("job %s: lost its claim to another run; stopping", job_id)
        return JobOutcome.LOST
    except UndecodableAudio as exc:
        job_fail(job_id=job_id, error=str(exc), token=claim.token)
        return JobOutcome.FAILED
    except TRANSIENT_ERRORS as exc:
        try:
            job_release(claim=claim, error=f"Retrying after a transient error: {exc}")
        except DatabaseError:  # the database itself is away: the lease expires and a retry takes over
            pass
        raise
    except Exception as exc:
        from celery.exceptions import SoftTimeLimitExceeded

        reason = (
            "Processing took longer than its time limit."
            if isinstance(exc, SoftTimeLimitExceeded)
            else f"Processing failed: {type(exc).__name__}: {exc}"
        )
        job_fail(job_id=job_id, error=reason, token=claim.token)
        raise
    try:  # consent may have been withdrawn while this ran: leave nothing of it behind
        recording_get_usable(None, Purpose.STORE, recording.id)
    except Http404:
        artifacts_purge_for_recording(recording=recording)
        job_skip(
            job_id=job_id,
            reason="The recording stopped being usable while it was processed; its artifacts were removed.",
        )
        return JobOutcome.SKIPPED
    if not job_finish(claim=claim, notes=notes):
        return JobOutcome.LOST
    # Consent's verdict on speech with no speaker comes before the recording is ready: never usable in between.
    recording_speech_verdict(recording_id=recording.id, activity=activity)
    recording_status_set(recording_id=recording.id, status=RecordingStatus.READY)
    try:  # review runs automatic QA
        hook_call(
            RECORDING_PROCESSED,
            recording_id=recording.id,
            original=local_original(workdir),
            measured=local_measures(workdir),
        )
    except Exception:  # QA is review's business; a bug there must not undo finished processing
        log.exception("recording_processed hook failed for recording %s", recording.id)
    return JobOutcome.DONE
