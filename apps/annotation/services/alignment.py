"""Word timings of transcripts: forced alignment of submitted and accepted regions, on a worker.

``annotation_align`` runs on the ``dsp`` queue (``apps/annotation/tasks.py``) after an annotation is submitted,
accepted or corrected (``alignment_enqueue``, after commit). It asks the consent selector first: only recordings
usable for ``annotate`` are aligned. Each region with a transcript gets one ``TranscriptAlignment`` row keyed by
(recording, start, end, sha256 of the text), so repeating the work, or another annotation holding the same text on
the same span, costs nothing. The aligner comes from ``apps.processing.dsp.speech``'s registry (PocketSphinx for
English); a language without one is recorded as ``no_engine``. Then the ``TRANSCRIPT_ALIGNED`` hook tells review,
which recomputes the annotation's transcript QA.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from apps.annotation.models import AlignmentStatus, Annotation, Region, TranscriptAlignment
from apps.annotation.selectors import annotation_settings_get, text_sha256
from apps.consent.purposes import Purpose
from apps.consent.selectors import recording_is_usable, recordings_usable
from apps.core.hooks import TRANSCRIPT_ALIGNED, hook_call
from apps.processing.dsp import io as dsp_io
from apps.processing.dsp import speech

log = logging.getLogger(__name__)

ALIGN_SR = 16000


def alignment_enqueue(*, annotation_id: int, project_id: int, regions: Iterable[dict]) -> None:
    """Queue the annotation's forced alignment (then its transcript QA) after the current transaction commits.

    Only when a region has text, or the project transcribes (an empty transcript is a QA finding too).
    """
    if not any((r.get("text") or "").strip() for r in regions) and not annotation_settings_get(project_id).transcript:
        return
    # Same-app lazy import: tasks.py imports these services.
    from apps.annotation.tasks import transcript_align_task

    transaction.on_commit(lambda: transcript_align_task.delay(annotation_id))


def _row(recording_id: int, start: float, end: float, sha: str, language: str, **fields) -> TranscriptAlignment:
    return TranscriptAlignment(
        recording_id=recording_id, start=start, end=end, text_sha256=sha, language=language, **fields
    )


def annotation_align(*, annotation_id: int) -> int:
    """Align every transcribed region of one annotation not aligned yet; returns how many rows were written.

    Writes TranscriptAlignment rows (aligned, failed or no_engine) and then calls TRANSCRIPT_ALIGNED. A recording
    not usable for annotation (withdrawn, purged) is left alone and gets nothing.
    """
    annotation = Annotation.objects.filter(pk=annotation_id).values("recording_id").first()
    if annotation is None or not recording_is_usable(None, Purpose.ANNOTATE, annotation["recording_id"]):
        return 0
    recording_id = annotation["recording_id"]
    recording = recordings_usable(None, Purpose.ANNOTATE).select_related("language").get(pk=recording_id)
    language = recording.language.tag if recording.language_id else ""
    spans = {
        (r.start, r.end, text_sha256(r.text)): r.text.strip()
        for r in Region.objects.filter(annotation_id=annotation_id)
        if r.text.strip()
    }
    done = set(
        TranscriptAlignment.objects.filter(
            recording_id=recording_id, text_sha256__in={k[2] for k in spans}
        ).values_list("start", "end", "text_sha256")
    )
    todo = {k: t for k, t in spans.items() if k not in done}
    rows = []
    engine = speech.aligner_for(language) if language else None
    if todo and engine is None:
        error = f"No aligner is registered for the language {language or '(none)'}."
        rows = [_row(recording_id, *k, language, status=AlignmentStatus.NO_ENGINE, error=error) for k in todo]
    elif todo:
        try:
            with default_storage.open(recording.original_key, "rb") as f:
                y, sr = dsp_io.load(f, sr=ALIGN_SR, mono=True)
        except Exception:  # unreadable or missing audio is not the transcript's fault: leave it unaligned
            log.exception("Recording %s could not be read for alignment.", recording_id)
            todo = {}
        for (start, end, sha), text in sorted(todo.items()):
            rows.append(_align_one(engine, y, sr, recording_id, start, end, sha, text, language))
    with transaction.atomic():
        # Consent may have changed while the aligner ran: ask again inside the write.
        if not recording_is_usable(None, Purpose.ANNOTATE, recording_id):
            return 0
        written = 0
        for row in rows:
            try:
                with transaction.atomic():
                    row.save()
                written += 1
            except IntegrityError:  # another worker aligned the same span meanwhile: its row is as good
                pass
        hook_call(TRANSCRIPT_ALIGNED, annotation_id=annotation_id)
    return written


def _align_one(engine, y, sr, recording_id, start, end, sha, text, language) -> TranscriptAlignment:
    fields = {"engine": engine.name, "engine_version": engine.version}
    segment = y[int(start * sr) : int(end * sr)]
    try:
        words = engine.align(segment, sr, text)
    except speech.AlignmentFailed as exc:
        return _row(recording_id, start, end, sha, language, status=AlignmentStatus.FAILED, error=str(exc), **fields)
    stored = [[w.word, round(start + w.start, 3), round(start + w.end, 3), round(w.score, 3)] for w in words]
    score = round(sum(w.score for w in words) / len(words), 3) if words else None
    coverage = speech.voiced_coverage(words, segment, sr)
    return _row(
        recording_id,
        start,
        end,
        sha,
        language,
        status=AlignmentStatus.ALIGNED,
        words=stored,
        score=score,
        coverage=coverage,
        **fields,
    )


def alignments_delete_for_recordings(*, recording_ids: list[int]) -> int:
    """Drop the word timings of these recordings (withdrawal, purge: they are transcript data); returns how many."""
    return TranscriptAlignment.objects.filter(recording_id__in=list(recording_ids)).delete()[0]
