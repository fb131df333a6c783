"""Processing jobs: queue after commit, claim by conditional update, report progress, finish or fail."""

from __future__ import annotations

import logging
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Count, F, FloatField, Q, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.catalog.models import RecordingStatus
from apps.catalog.services import recording_status_set
from apps.consent.purposes import Purpose
from apps.consent.selectors import recordings_usable
from apps.core.bulk import rows_insert
from apps.core.errors import DomainError
from apps.processing.models import (
    ACTIVE_STATUSES,
    JobKind,
    JobStatus,
    ProcessingJob,
    Recipe,
)
from apps.processing.services.plan import recordings_missing_artifacts
from apps.processing.services.recipes import project_recipe_get

log = logging.getLogger(__name__)


class JobLost(Exception):
    """This run no longer holds the job's claim (its lease expired and another run took over)."""


@dataclass
class Claim:
    """A run's hold on a job: progress and completion only count while the token still matches."""

    job_id: int
    token: str

    def _rows(self):
        return ProcessingJob.objects.filter(id=self.job_id, claim_token=self.token, status=JobStatus.RUNNING)

    def renew(self) -> bool:
        """Push the lease forward (the heartbeat's call); False when another run holds the job now."""
        lease = timezone.now() + timedelta(seconds=settings.EARMARK_PROCESSING_LEASE_SECONDS)
        return bool(self._rows().update(lease_expires_at=lease))

    def progress(self, stage: str, percent: float) -> None:
        """Record stage/percent and renew the lease; raises JobLost when another run holds the job."""
        lease = timezone.now() + timedelta(seconds=settings.EARMARK_PROCESSING_LEASE_SECONDS)
        if not self._rows().update(
            stage=stage, percent=round(min(max(percent, 0.0), 100.0), 1), lease_expires_at=lease
        ):
            raise JobLost(f"job {self.job_id} is no longer held by this run")


def jobs_publish(job_ids: list[int]) -> None:
    """One dsp-queue message per job (on one broker connection)."""
    # Tasks import these services: a module-level import cycles
    from apps.processing.tasks import recording_process_task

    with recording_process_task.app.producer_or_acquire() as producer:
        for job_id in job_ids:
            recording_process_task.apply_async((job_id,), producer=producer)


def _enqueue(job_ids: list[int]) -> None:
    if len(job_ids) > 1:
        # A batch sends ONE message; a worker fans it out. An upload of a thousand files then costs
        # the web request one publish, not a thousand. A redelivered fan-out only re-sends messages,
        # which the jobs' conditional claim makes harmless.
        # Tasks import these services (see jobs_publish)
        from apps.processing.tasks import jobs_dispatch_task

        jobs_dispatch_task.delay(job_ids)
    else:
        jobs_publish(job_ids)


def job_enqueue_on_commit(job_ids: list[int]) -> None:
    """Send the jobs to the dsp queue once the surrounding transaction commits (never for a rollback)."""
    ids = list(job_ids)
    if ids:
        transaction.on_commit(lambda: _enqueue(ids))


def recording_job_create(
    *, recording, recipe: Recipe, parent: ProcessingJob | None = None, created_by=None, enqueue: bool = True
) -> ProcessingJob:
    """A queued job for one recording (or the active one already queued/running for the same recipe).

    Writes ProcessingJob; enqueues after commit.
    """
    with transaction.atomic():
        active = (
            ProcessingJob.objects.filter(
                recording=recording, recipe=recipe, kind=JobKind.RECORDING, status__in=ACTIVE_STATUSES
            )
            .order_by("-id")
            .first()
        )
        if active is not None:
            return active
        job = ProcessingJob.objects.create(
            kind=JobKind.RECORDING,
            project_id=recording.project_id,
            recording=recording,
            recipe=recipe,
            parent=parent,
            created_by=created_by,
        )
        if enqueue:
            job_enqueue_on_commit([job.id])
    return job


def recording_jobs_create_new(*, project, recording_ids, recipe: Recipe) -> list[ProcessingJob]:
    """Queued jobs for recordings created in this transaction (so none can have a job yet), in one insert.

    Writes ProcessingJob; enqueues after commit.
    """
    jobs = rows_insert(
        ProcessingJob,
        [
            ProcessingJob(kind=JobKind.RECORDING, project_id=project.id, recording_id=recording_id, recipe=recipe)
            for recording_id in recording_ids
        ],
    )
    job_enqueue_on_commit([job.id for job in jobs])
    return jobs


def job_claim(*, job_id: int, worker: str = "") -> Claim | None:
    """Take a queued job (or a running one whose lease expired) for this run; None if another run holds it.

    Conditional update: only one of any number of concurrent deliveries changes the row.
    """
    now = timezone.now()
    token = uuid.uuid4().hex
    taken = (
        ProcessingJob.objects.filter(id=job_id, kind=JobKind.RECORDING)
        .filter(Q(status=JobStatus.QUEUED) | Q(status=JobStatus.RUNNING, lease_expires_at__lt=now))
        .update(
            status=JobStatus.RUNNING,
            claim_token=token,
            stage="starting",
            error="",
            lease_expires_at=now + timedelta(seconds=settings.EARMARK_PROCESSING_LEASE_SECONDS),
            started_at=Coalesce("started_at", now),
            worker=(worker or socket.gethostname())[:200],
        )
    )
    if not taken:
        return None
    ProcessingJob.objects.filter(id=job_id).update(attempts=F("attempts") + 1)
    return Claim(job_id=job_id, token=token)


def job_release(*, claim: Claim, error: str = "") -> None:
    """Give a claimed job back to the queue (a transient error: the task retries it). Writes ProcessingJob."""
    claim._rows().update(status=JobStatus.QUEUED, claim_token="", lease_expires_at=None, error=error[:2000])


def job_finish(*, claim: Claim, notes: list[str] | None = None) -> bool:
    """Mark a claimed job done; False if the claim was lost meanwhile. Writes ProcessingJob (+ parent progress)."""
    done = claim._rows().update(
        status=JobStatus.DONE,
        stage="done",
        percent=100.0,
        finished_at=timezone.now(),
        lease_expires_at=None,
        notes=notes or [],
    )
    if done:
        _parent_refresh(claim.job_id)
    return bool(done)


def job_fail(*, job_id: int, error: str, token: str | None = None) -> bool:
    """Mark a job failed with a sentence (only an active one; with ``token``, only while that claim holds).

    Writes ProcessingJob, and the recording's status (failed) through the catalogue.
    """
    qs = ProcessingJob.objects.filter(id=job_id, status__in=ACTIVE_STATUSES)
    if token is not None:
        qs = qs.filter(claim_token=token)
    changed = qs.update(status=JobStatus.FAILED, error=error[:2000], finished_at=timezone.now(), lease_expires_at=None)
    if changed:
        job = ProcessingJob.objects.only("recording_id").get(id=job_id)
        if job.recording_id:
            recording_status_set(recording_id=job.recording_id, status=RecordingStatus.FAILED)
        _parent_refresh(job_id)
    return bool(changed)


def job_skip(*, job_id: int, reason: str) -> None:
    """Close a job that no longer qualifies (recording gone or unusable). Writes ProcessingJob."""
    if ProcessingJob.objects.filter(id=job_id, status__in=ACTIVE_STATUSES).update(
        status=JobStatus.SKIPPED, error=reason[:2000], finished_at=timezone.now(), lease_expires_at=None
    ):
        _parent_refresh(job_id)


CLOSED_STATUSES = (JobStatus.DONE, JobStatus.FAILED, JobStatus.SKIPPED)


def job_progress_aggregate(*, parent: ProcessingJob) -> dict:
    """Counts per status and the overall percent of a project job's children (one query).

    A closed child (done, failed, skipped) counts as 100%; an open one by its own percent.
    """
    agg = parent.children.aggregate(
        total=Count("id"),
        percent_sum=Coalesce(
            Sum(
                Case(
                    When(status__in=CLOSED_STATUSES, then=Value(100.0)), default=F("percent"), output_field=FloatField()
                )
            ),
            Value(0.0),
        ),
        **{s.value: Count("id", filter=Q(status=s.value)) for s in JobStatus},
    )
    total, percent_sum = agg.pop("total"), agg.pop("percent_sum")
    closed = sum(agg[s] for s in CLOSED_STATUSES)
    percent = 100.0 if total == 0 else round(percent_sum / total, 1)
    return {"total": total, "counts": agg, "percent": percent, "closed": closed}


def _parent_refresh(job_id: int) -> None:
    parent_id = ProcessingJob.objects.filter(id=job_id).values_list("parent_id", flat=True).first()
    if not parent_id:
        return
    parent = ProcessingJob.objects.get(id=parent_id)
    agg = job_progress_aggregate(parent=parent)
    fields = {"percent": agg["percent"], "stage": f"{agg['closed']} of {agg['total']} recordings"}
    if agg["closed"] == agg["total"]:
        failed = agg["counts"]["failed"]
        fields.update(
            status=JobStatus.FAILED if failed and failed == agg["total"] else JobStatus.DONE,
            finished_at=timezone.now(),
            error=f"{failed} of {agg['total']} recordings failed" if failed else "",
        )
    ProcessingJob.objects.filter(id=parent_id, status__in=ACTIVE_STATUSES).update(**fields)


def project_reprocess(
    *, project, created_by=None, only_missing: bool = False, recipe: Recipe | None = None, enqueue: bool = True
) -> ProcessingJob:
    """Fan a project's usable recordings out into per-recording jobs under one parent job.

    ``only_missing`` skips recordings whose artifacts for the recipe are complete. Writes ProcessingJob rows;
    enqueues after commit.
    """
    recipe = recipe or project_recipe_get(project=project)
    if recipe.project_id != project.id:
        raise DomainError(f"Recipe {recipe.id} belongs to another project.")
    recordings = list(recordings_usable(None, Purpose.STORE).filter(project=project).order_by("id"))
    if only_missing:
        recordings = recordings_missing_artifacts(recordings=recordings, recipe=recipe)
    with transaction.atomic():
        parent = ProcessingJob.objects.create(
            kind=JobKind.PROJECT,
            project=project,
            recipe=recipe,
            only_missing=only_missing,
            created_by=created_by,
            status=JobStatus.RUNNING if recordings else JobStatus.DONE,
            percent=0.0 if recordings else 100.0,
            started_at=timezone.now(),
            finished_at=None if recordings else timezone.now(),
            stage=f"0 of {len(recordings)} recordings",
        )
        ids = []
        for recording in recordings:
            active = ProcessingJob.objects.filter(
                recording=recording,
                recipe=recipe,
                kind=JobKind.RECORDING,
                status__in=ACTIVE_STATUSES,
                parent__isnull=True,
            ).first()
            if active is not None:  # already on its way: adopt it rather than run it twice
                ProcessingJob.objects.filter(id=active.id).update(parent=parent)
                continue
            child = ProcessingJob.objects.create(
                kind=JobKind.RECORDING,
                project=project,
                recording=recording,
                recipe=recipe,
                parent=parent,
                created_by=created_by,
            )
            ids.append(child.id)
        if enqueue:
            job_enqueue_on_commit(ids)
    return parent


def jobs_requeue_stale() -> int:
    """Re-send running jobs whose lease expired (their worker died and nothing redelivered them). Returns the count.

    Queued jobs are left alone: their messages are in the broker, and re-sending a long backlog on every
    beat would only pile up duplicates. Runs that keep dying stop at EARMARK_MAX_ATTEMPTS (see job_run).
    """
    now = timezone.now()
    stale = list(
        ProcessingJob.objects.filter(
            kind=JobKind.RECORDING, status=JobStatus.RUNNING, lease_expires_at__lt=now
        ).values_list("id", flat=True)[:1000]
    )
    _enqueue(stale)
    return len(stale)
