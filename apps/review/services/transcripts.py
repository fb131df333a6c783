"""Transcript QA of one annotation: does its text match its audio? Flags beside the audio QA.

``annotation_transcript_qa`` runs when annotation tells review (TRANSCRIPT_ALIGNED) that an annotation's
transcripts were force-aligned, on the same worker. It gathers the annotation's text over the audio it covers, the
alignment of each region, the recogniser's draft of the same audio, and compares them with the project's (and the
speaker's) other transcripts through ``apps.processing.dsp.transcript_qa``. One ``TranscriptQA`` row per annotation.
"""

from __future__ import annotations

import hashlib

from django.db import transaction

from apps.annotation.models import AlignmentStatus, Annotation
from apps.annotation.selectors import alignments_for_spans, annotation_settings_get, draft_words
from apps.consent.purposes import Purpose
from apps.consent.selectors import recording_is_usable
from apps.processing.dsp import transcript_qa as tq
from apps.review.models import QASettings, TranscriptQA
from apps.review.services.qa import qa_settings_get

DUPLICATE = "transcript_duplicate"


def transcript_thresholds(qa: QASettings) -> tq.TranscriptThresholds:
    return tq.TranscriptThresholds(
        max_draft_wer=qa.transcript_max_draft_wer,
        rate_mads=qa.transcript_rate_mads,
        score_mads=qa.transcript_score_mads,
        max_foreign_script=qa.transcript_max_foreign_script,
    )


def _alignment(annotation: Annotation, regions: list) -> tuple[str | None, float | None, float | None]:
    """(status, score, coverage) of the regions' alignments, means weighted by duration; failed beats missing beats
    no_engine."""
    found = alignments_for_spans((annotation.recording_id, r.start, r.end, r.text) for r in regions)
    maybe = [found.get((annotation.recording_id, r.start, r.end, r.text)) for r in regions]
    if any(row is not None and row.status == AlignmentStatus.FAILED for row in maybe):
        return AlignmentStatus.FAILED, None, None
    rows = [row for row in maybe if row is not None]
    if len(rows) < len(maybe):
        return None, None, None
    if any(row.status == AlignmentStatus.NO_ENGINE for row in rows):
        return AlignmentStatus.NO_ENGINE, None, None
    return AlignmentStatus.ALIGNED, _weighted(rows, "score"), _weighted(rows, "coverage")


def _weighted(rows: list, field: str) -> float | None:
    pairs = [(max(r.end - r.start, 1e-3), getattr(r, field)) for r in rows if getattr(r, field) is not None]
    return sum(w * v for w, v in pairs) / sum(w for w, _ in pairs) if pairs else None


def _draft(recording_id: int, regions: list) -> tuple[str | None, float | None]:
    """The draft's words whose middle falls inside a transcribed region: (text, mean score), or (None, None)."""
    words = draft_words(recording_id=recording_id)
    if words is None:
        return None, None
    inside = [(w, score) for w, s, e, score in words if any(r.start <= (s + e) / 2 <= r.end for r in regions)]
    return " ".join(w for w, _ in inside), (sum(s for _, s in inside) / len(inside) if inside else None)


def annotation_transcript_qa(*, annotation_id: int) -> TranscriptQA | None:
    """Measure and flag one annotation's transcript; writes its TranscriptQA row (and marks the rows it duplicates).

    Returns None (and drops an old row) when the project has no transcripts or the recording is no longer usable
    for review.
    """
    annotation = (
        Annotation.objects.select_related("recording__language").prefetch_related("regions").filter(pk=annotation_id)
    ).first()
    if annotation is None:
        return None
    recording = annotation.recording
    if (
        not recording_is_usable(None, Purpose.REVIEW, recording.id)
        or not annotation_settings_get(annotation.project_id).transcript
    ):
        TranscriptQA.objects.filter(annotation_id=annotation_id).delete()
        return None
    qa = qa_settings_get(project_id=annotation.project_id)
    thresholds = transcript_thresholds(qa)
    regions = sorted(annotation.regions.all(), key=lambda r: (r.start, r.end))
    transcribed = [r for r in regions if r.text.strip()]
    status, score, coverage = _alignment(annotation, transcribed) if transcribed else (None, None, None)
    draft_text, draft_score = _draft(recording.id, transcribed) if transcribed else (None, None)
    covered = transcribed or regions
    duration = sum(r.end - r.start for r in covered) if covered else (recording.duration or 0.0)
    item = tq.TranscriptItem(
        text=" ".join(r.text.strip() for r in transcribed),
        duration=duration,
        language=recording.language.tag if recording.language is not None else None,
        draft_text=draft_text,
        draft_score=draft_score,
        alignment_status=status,
        align_score=score,
        coverage=coverage,
        transforms=tuple(qa.text_transforms or tq.DEFAULT_TRANSFORMS),
    )
    measures = tq.transcript_measures(item)
    normalised = measures.pop("normalised_text")
    text_key = hashlib.sha256(normalised.encode()).hexdigest() if normalised else ""
    others = TranscriptQA.objects.filter(project_id=annotation.project_id).exclude(annotation_id=annotation_id)
    other_measures = list(others.values_list("measures", "recording__speaker_id"))
    speaker_measures = [m for m, speaker in other_measures if speaker is not None and speaker == recording.speaker_id]
    context = tq.transcript_context(
        {**measures, "normalised_text": normalised}, [m for m, _ in other_measures], speaker_measures, thresholds
    )
    duplicates = (
        others.filter(text_key=text_key).exclude(recording_id=recording.id)
        if text_key and qa.transcript_duplicates
        else TranscriptQA.objects.none()
    )
    with transaction.atomic():
        is_duplicate = duplicates.exists()
        flags = tq.transcript_flags(
            {**measures, "normalised_text": normalised},
            tq.TranscriptContext(**{**context.__dict__, "duplicate": is_duplicate}),
            thresholds,
        )
        row, _ = TranscriptQA.objects.update_or_create(
            annotation_id=annotation_id,
            defaults={
                "project_id": annotation.project_id,
                "recording_id": recording.id,
                "text_key": text_key,
                "measures": measures,
                "flags": _flag_text(flags),
                "flag_count": len(flags),
            },
        )
        for other in duplicates.exclude(flags__contains=f",{DUPLICATE},"):
            listed = [f for f in tq.TRANSCRIPT_FLAGS if f in other.flag_list or f == DUPLICATE]
            TranscriptQA.objects.filter(pk=other.pk).update(flags=_flag_text(listed), flag_count=len(listed))
    return row


def _flag_text(flags: list[str]) -> str:
    return f",{','.join(flags)}," if flags else ""


def on_transcript_aligned(*, annotation_id: int) -> None:
    """TRANSCRIPT_ALIGNED: recompute the annotation's transcript QA."""
    annotation_transcript_qa(annotation_id=annotation_id)
