"""Reads with rules: which jobs a user may see, which artifact answers for a recording."""

from __future__ import annotations

import functools
import io
import math

import numpy as np
from django.core.files.storage import default_storage
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from apps.accounts.selectors import project_ids_for
from apps.consent.purposes import Purpose
from apps.consent.selectors import recordings_usable
from apps.core.storage import s3_object
from apps.processing import dsp
from apps.processing.dsp.chunked import ChunkedArray
from apps.processing.dsp.longform import FEATURE_EXT
from apps.processing.models import Artifact, ProcessingJob, ProjectProcessing


def job_list(
    *,
    actor,
    project_id: int | None = None,
    status: str | None = None,
    kind: str | None = None,
    recording_id: int | None = None,
) -> QuerySet:
    """Jobs in the actor's projects; a recording's jobs only while the recording is usable (consent)."""
    qs = ProcessingJob.objects.all()
    ids = project_ids_for(actor)
    if ids is not None:
        qs = qs.filter(project_id__in=ids)
    qs = qs.filter(Q(recording__isnull=True) | Q(recording_id__in=recordings_usable(actor, Purpose.STORE).values("id")))
    if project_id is not None:
        qs = qs.filter(project_id=project_id)
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if recording_id is not None:
        qs = qs.filter(recording_id=recording_id)
    return qs.order_by("-id")


def job_get(*, actor, job_id: int) -> ProcessingJob:
    """One visible job, or Http404 (the same answer for missing and forbidden)."""
    job = job_list(actor=actor).filter(id=job_id).first()
    if job is None:
        raise Http404("No such job.")
    return job


def recording_job_latest(*, recording) -> ProcessingJob | None:
    return ProcessingJob.objects.filter(recording=recording).order_by("-id").first()


def artifact_get(*, recording, kind: str, recipe_hash: str | None = None) -> Artifact:
    """The artifact of ``kind`` for a recording the caller already loaded through the consent selector.

    Prefers the project's active recipe; falls back to the newest one made from the same bytes (a recipe
    change never hides earlier results while the reprocess runs). Http404 with a sentence when none exists.
    """
    qs = Artifact.objects.filter(source_sha256=recording.sha256, kind=kind)
    if recipe_hash is not None:
        found = qs.filter(recipe_hash=recipe_hash).first()
    else:
        active = (
            ProjectProcessing.objects.filter(project_id=recording.project_id)
            .values_list("active_recipe__spec_hash", flat=True)
            .first()
        )
        found = (qs.filter(recipe_hash=active).first() if active else None) or qs.order_by("-id").first()
    if found is None:
        what = kind.replace("_", " ")
        if recording.status == "ready":
            raise Http404(f"There is no {what} for recording {recording.id}: its processing recipe does not make it.")
        raise Http404(f"There is no {what} for recording {recording.id} yet: its processing has not finished.")
    return found


def _stored_bytes(key: str) -> bytes:
    """A whole stored object. On S3 one GET: django-storages' file would first HEAD the object, then download it
    through s3transfer's threaded manager, about half the CPU of a peaks request (benchmarks/request_cpu.py)."""
    if (obj := s3_object(key)) is not None:
        return obj.get()["Body"].read()
    with default_storage.open(key, "rb") as fh:
        return fh.read()


@functools.lru_cache(maxsize=16)
def _peakset(key: str) -> dsp.PeakSet:
    # Keys are content-addressed, so a cached value can never go stale.
    return dsp.PeakSet.from_bytes(_stored_bytes(key))


def peaks_for(*, artifact: Artifact) -> dsp.PeakSet:
    """The stored multi-resolution peaks of one artifact."""
    return _peakset(artifact.key)


def peaks_json(*, recording, max_length: int) -> dict:
    """The audiowaveform JSON of the finest stored peaks level that fits ``max_length`` (plus ``duration``), for a
    recording the caller loaded through the consent selector; Http404 while it has no peaks."""
    peaks = peaks_for(artifact=artifact_get(recording=recording, kind="peaks"))
    return {**peaks.best(max_length).to_audiowaveform_json(), "duration": peaks.duration}


class _NpyArray:
    """A legacy whole-file .npy feature artifact with the ChunkedArray reading interface."""

    def __init__(self, array: np.ndarray):
        self.array = array
        self.shape = array.shape
        self.frames = array.shape[-1]

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        return np.asarray(self.array[..., start:stop], dtype=np.float32)

    def iter_slices(self, start: int = 0, stop: int | None = None, step: int = 1024):
        stop = self.frames if stop is None else min(stop, self.frames)
        for a in range(start, stop, step):
            yield self.read(a, min(stop, a + step))


def feature_frame_range(
    *, start: float, end: float | None, hop_length: int, sample_rate: int, frames: int
) -> tuple[int, int]:
    """Frames covering [start, end) seconds: frame t sits at t * hop / sr (librosa, centred), so the slice is
    floor(start * sr / hop) : ceil(end * sr / hop), clipped to the array."""
    per_second = sample_rate / hop_length
    first = min(frames, max(0, math.floor(start * per_second + 1e-9)))
    last = frames if end is None else min(frames, math.ceil(end * per_second - 1e-9))
    return first, max(first, last)


def feature_open(*, artifact: Artifact) -> ChunkedArray | _NpyArray:
    """A feature artifact for reading slices of frames (float32), fetching only the chunks a slice needs.

    Chunked artifacts (issue 14) are read by range from storage; .npy artifacts of older runs are loaded whole.
    """
    if not artifact.key.endswith(f".{FEATURE_EXT}"):
        with default_storage.open(artifact.key, "rb") as fh:
            return _NpyArray(np.load(io.BytesIO(fh.read()), allow_pickle=False))
    size = artifact.bytes or default_storage.size(artifact.key)
    if (obj := s3_object(artifact.key)) is not None:  # S3: one ranged GET per read (django-storages fetches it all)

        def read_at(offset: int, length: int) -> bytes:
            return obj.get(Range=f"bytes={offset}-{offset + length - 1}")["Body"].read()

        return ChunkedArray(read_at, size)
    path = default_storage.path(artifact.key)

    def read_local(offset: int, length: int) -> bytes:
        with open(path, "rb") as fh:
            fh.seek(offset)
            return fh.read(length)

    return ChunkedArray(read_local, size)


def artifact_read(*, artifact: Artifact) -> bytes:
    return _stored_bytes(artifact.key)


def recordings_annotate_processing(qs: QuerySet) -> QuerySet:
    """Add the latest job's status and percent to each recording (two subqueries, no extra query per row)."""
    from django.db.models import OuterRef, Subquery

    latest = ProcessingJob.objects.filter(recording=OuterRef("pk")).order_by("-id")
    return qs.annotate(
        processing_status=Subquery(latest.values("status")[:1]),
        processing_percent=Subquery(latest.values("percent")[:1]),
    )


def recording_processing(recording) -> dict:
    """``{"status", "percent"}`` of the recording's latest job (annotated, or one query); null status if none."""
    if hasattr(recording, "processing_status"):
        status, percent = recording.processing_status, recording.processing_percent
    else:
        row = ProcessingJob.objects.filter(recording=recording).order_by("-id").values("status", "percent").first()
        status, percent = (row["status"], row["percent"]) if row else (None, None)
    return {"status": status, "percent": 0.0 if percent is None else percent}


def storage_owners() -> list:
    """The storage_owners hook: artifact files belong to their Artifact rows."""

    def owned(keys: list[str]) -> set[str]:
        return set(Artifact.objects.filter(key__in=keys).values_list("key", flat=True))

    return [("artifacts/", owned)]


def jobs_metrics() -> list[tuple[str, str, list]]:
    """Gauges for /metrics (metrics_gauges hook): recording jobs by status, and running jobs whose lease ran out."""
    by_status = ProcessingJob.objects.filter(kind="recording").values("status").annotate(n=Count("id"))
    stale = ProcessingJob.objects.filter(status="running", lease_expires_at__lt=timezone.now()).count()
    rows = [({"status": r["status"]}, r["n"]) for r in by_status]
    return [
        ("earmark_jobs", "Recording processing jobs by status.", rows),
        (
            "earmark_jobs_lease_expired",
            "Running jobs whose worker stopped renewing (the sweeper re-queues them).",
            [({}, stale)],
        ),
    ]
