"""Automatic audio QA of one recording: measure, fingerprint, flag, store; and a manager's acceptance."""

from __future__ import annotations

import logging
import math
import tempfile
from contextlib import contextmanager
from pathlib import Path

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Abs
from django.http import Http404
from django.utils import timezone

from apps.catalog.models import Project
from apps.consent.purposes import Purpose
from apps.consent.selectors import recording_get_usable, recordings_usable
from apps.core.errors import Conflict, DomainError
from apps.core.storage import s3_object
from apps.processing.dsp.fingerprint import Fingerprint, similarity, summary_similarity
from apps.processing.dsp.qa import QAThresholds, qa_flags
from apps.processing.dsp.qa_stream import DEFAULT_BLOCK_FRAMES, SignalMeasures, qa_and_fingerprint_file
from apps.review.models import QAResult, QASettings

log = logging.getLogger(__name__)

# Near-duplicate search: only recordings of about the same length are compared, and only those whose
# spectral summaries are close (cheap cosine) get the full bit-error comparison.
NEAR_DUP_DURATION_TOLERANCE = 0.1  # +-10 % (plus half a second) of the duration
NEAR_DUP_SUMMARY_MIN = 0.8
NEAR_DUP_MAX_CANDIDATES = 200
# Samples per channel decoded at a time: QA memory depends on this, not on the recording's length.
QA_BLOCK_FRAMES = DEFAULT_BLOCK_FRAMES


def qa_settings_get(*, project_id: int) -> QASettings:
    """The project's QA settings; an unsaved instance with the defaults when none were stored (no write)."""
    return QASettings.objects.filter(project_id=project_id).first() or QASettings(project_id=project_id)


def qa_settings_update(*, project: Project, **fields) -> QASettings:
    """Create or update the project's QA settings. Does not re-run QA on existing recordings."""
    qa = qa_settings_get(project_id=project.id)
    for name, value in fields.items():
        setattr(qa, name, value)
    if qa.min_duration is not None and qa.max_duration is not None and qa.min_duration > qa.max_duration:
        raise DomainError("min_duration must not be greater than max_duration.")
    if not 0.0 <= qa.review_fraction <= 1.0:
        raise DomainError("review_fraction must be between 0 and 1.")
    qa.save()
    return qa


def _thresholds(qa: QASettings) -> QAThresholds:
    return QAThresholds(
        max_clipped_ratio=qa.max_clipped_ratio,
        max_clip_runs=qa.max_clip_runs,
        max_silence_ratio=qa.max_silence_ratio,
        min_snr_db=qa.min_snr_db,
        max_abs_dc_offset=qa.max_abs_dc_offset,
        min_loudness_lufs=qa.min_loudness_lufs,
        max_loudness_lufs=qa.max_loudness_lufs,
    )


def _finite(value):
    return value if value is None or math.isfinite(value) else None


@contextmanager
def _original_file(key: str):
    """The original as a seekable local file: the stored file itself on local storage; on S3 a temporary
    copy (workers share no disk), streamed so no whole object sits in memory."""
    obj = s3_object(key)
    if obj is None:
        with open(default_storage.path(key), "rb") as fh:
            yield fh
        return
    with tempfile.TemporaryFile(prefix="earmark-qa-") as tmp:
        # S3: django-storages' S3File would buffer the whole object in memory.
        obj.download_fileobj(tmp)
        tmp.seek(0)
        yield tmp


def _measure(key: str, original: Path | None = None, measured: SignalMeasures | None = None):
    """QA metrics and fingerprint of an original, decoded in blocks (bounded memory even for hours of audio).

    ``measured``: what processing's pass measured on the whole original while decoding it anyway (used as is:
    nothing is decoded). ``original``: a local decodable copy the caller already holds (the processing run's
    download, AAC already turned into FLAC), read instead of fetching the object again.
    """
    if measured is not None:
        return measured.metrics, measured.fingerprint
    if original is not None and original.is_file():
        with open(original, "rb") as fh:
            return qa_and_fingerprint_file(fh, block_frames=QA_BLOCK_FRAMES)
    with _original_file(key) as fh:
        return qa_and_fingerprint_file(fh, block_frames=QA_BLOCK_FRAMES)


def _near_duplicate(recording, fp: Fingerprint, threshold: float) -> tuple[int | None, float | None]:
    """The most similar earlier-or-later recording of the project at or above ``threshold``, by fingerprint."""
    tolerance = NEAR_DUP_DURATION_TOLERANCE * recording.duration + 0.5
    usable = recordings_usable(None, Purpose.STORE).filter(project_id=recording.project_id)
    candidates = (
        QAResult.objects.filter(
            recording__in=usable,
            fingerprint__isnull=False,
            duration_s__gte=recording.duration - tolerance,
            duration_s__lte=recording.duration + tolerance,
        )
        .exclude(recording_id=recording.id)
        .annotate(gap=Abs(F("duration_s") - recording.duration))
        .order_by("gap", "recording_id")  # the closest lengths first when the window holds more than the cap
        .values_list("recording_id", "fingerprint")[:NEAR_DUP_MAX_CANDIDATES]
    )
    best_id, best = None, None
    for other_id, blob in candidates:
        other = Fingerprint.from_bytes(bytes(blob))  # type: ignore[arg-type]  # never null: filtered above
        if summary_similarity(fp, other) < NEAR_DUP_SUMMARY_MIN:
            continue
        score = similarity(fp, other)
        if score >= threshold and (best is None or score > best):
            best_id, best = other_id, score
    return best_id, best


def qa_on_processed(
    *, recording_id: int, original: Path | None = None, measured: SignalMeasures | None = None
) -> QAResult | None:
    """Compute and store the recording's QA result (metrics, fingerprint, flags). Writes one QAResult row.

    Reads the original from storage through the consent selector (system actor, purpose store), or the
    local copy ``original`` that processing just downloaded, or takes ``measured``, the metrics and fingerprint
    processing's pass took of the whole original; a recording that is gone or no longer usable is skipped.
    Re-running replaces the measurements and keeps a manager's acceptance.
    """
    try:
        recording = recording_get_usable(None, Purpose.STORE, recording_id)
    except Http404:
        log.info("QA skipped: recording %s is not usable any more", recording_id)
        return None
    qa = qa_settings_get(project_id=recording.project_id)
    values: dict = {
        "project_id": recording.project_id,
        "sample_rate": recording.sample_rate,
        "channels": recording.channels,
        "duration_s": recording.duration,
        "error": "",
    }
    flags: list[str] = []
    try:
        metrics, fp = _measure(recording.original_key, original, measured)
    except Exception as exc:  # noqa: BLE001 - any decode/storage failure is recorded as a flag, not raised
        values["error"] = f"The original could not be read for QA: {exc}"
        flags.append("unreadable")
        metrics = None
    if metrics is not None:
        flags += qa_flags(
            metrics,
            _thresholds(qa),
            duration=recording.duration,
            sample_rate=recording.sample_rate,
            channels=recording.channels,
            expected_sr=qa.expected_sample_rate,
            expected_channels=qa.expected_channels,
            min_duration=qa.min_duration,
            max_duration=qa.max_duration,
        )
        values.update(
            clipped_ratio=metrics.clipped_ratio,
            clip_runs=metrics.clip_runs,
            silence_ratio=metrics.silence_ratio,
            snr_db=_finite(metrics.snr_db),
            dc_offset=metrics.dc_offset,
            loudness_lufs=_finite(metrics.loudness_lufs),
            peak_dbfs=_finite(metrics.peak_dbfs),
            rms_dbfs=_finite(metrics.rms_dbfs),
            fingerprint=fp.to_bytes(),
        )
        near_id, near_score = _near_duplicate(recording, fp, qa.near_duplicate_threshold)
        values.update(near_duplicate_of_id=near_id, near_duplicate_similarity=near_score)
        if near_id is not None:
            flags.append("near_duplicate")
    # Same bytes in another project (inside one project ingest refuses them already).
    duplicate = (
        recordings_usable(None, Purpose.STORE)
        .filter(sha256=recording.sha256)
        .exclude(id=recording.id)
        .order_by("id")
        .values_list("id", flat=True)
        .first()
    )
    values["duplicate_of_id"] = duplicate
    if duplicate is not None:
        flags.append("duplicate")
    values["flags"] = "," + ",".join(flags) + "," if flags else ""
    values["flagged"] = bool(flags)
    with transaction.atomic():
        result, _ = QAResult.objects.update_or_create(recording_id=recording.id, defaults=values)
    return result


def qa_result_accept(*, result: QAResult, user, note: str) -> QAResult:
    """A manager accepts a flagged recording with a note: it is no longer excluded. Writes the QAResult."""
    note = (note or "").strip()
    if not note:
        raise DomainError("Say why the flagged recording is acceptable: the note must not be empty.")
    if not result.flagged:
        raise DomainError("This recording has no QA flags, so there is nothing to accept.")
    if result.accepted_at is not None:
        raise Conflict("This recording's QA flags were accepted already.")
    result.accepted_by, result.accepted_at, result.accepted_note = user, timezone.now(), note
    result.save(update_fields=["accepted_by", "accepted_at", "accepted_note"])
    return result
