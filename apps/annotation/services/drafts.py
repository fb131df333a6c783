"""Draft transcripts: a recogniser's guess per voiced segment, shown to annotators as a suggestion.

``recording_drafts_make`` runs on the ``dsp`` queue (``apps/annotation/tasks.py``) for one recording. It
asks the consent selector first: only recordings usable for ``annotate`` get drafts, and a recording that
is no longer usable loses the drafts it had. The project lists the languages that get drafts
(``AnnotationSettings.draft_languages``); the engine comes from ``apps.processing.dsp.speech``'s registry.
"""

from __future__ import annotations

import logging

from django.core.files.storage import default_storage
from django.db import transaction

from apps.annotation.models import AnnotationSettings, TranscriptDraft
from apps.annotation.services.work import annotation_save
from apps.consent.purposes import Purpose
from apps.consent.selectors import recording_is_usable, recordings_usable
from apps.core.errors import DomainError
from apps.processing.dsp import io as dsp_io
from apps.processing.dsp import preprocess, speech

log = logging.getLogger(__name__)

DRAFT_SR = 16000
MAX_SEGMENT_S = 30.0  # longer voiced runs are cut: recognisers lose their way on minute-long inputs


def draft_languages(*, project_id: int) -> list[str]:
    """The language tags this project drafts (lower-case)."""
    row = AnnotationSettings.objects.filter(project_id=project_id).values_list("draft_languages", flat=True).first()
    return [str(tag).lower() for tag in (row or [])]


def _wants_drafts(language: str | None, wanted: list[str]) -> bool:
    if not language:
        return False
    tag = language.lower()
    return any(tag == w or tag.split("-")[0] == w for w in wanted)


def _segments(y, sr: int) -> list[tuple[float, float]]:
    spans = preprocess.voiced_segments(y, sr) or [(0.0, len(y) / sr)]
    out = []
    for start, end in spans:
        t = float(start)
        while t < end:
            out.append((t, min(float(end), t + MAX_SEGMENT_S)))
            t += MAX_SEGMENT_S
    return out


def recording_drafts_make(*, recording_id: int) -> int:
    """Recognise every voiced segment of a usable recording; returns the number of drafts written.

    A recording not usable for annotation (withdrawn, purged, consent expired) gets none and loses old ones.
    """
    if not recording_is_usable(None, Purpose.ANNOTATE, recording_id):
        TranscriptDraft.objects.filter(recording_id=recording_id).delete()
        return 0
    recording = recordings_usable(None, Purpose.ANNOTATE).select_related("language").get(pk=recording_id)
    language = recording.language.tag if recording.language_id else None
    if not _wants_drafts(language, draft_languages(project_id=recording.project_id)):
        return 0
    assert language is not None  # _wants_drafts is False for no language
    engine = speech.recogniser_for(language)
    if engine is None:
        log.info("No recogniser for %s: recording %s gets no drafts.", language, recording_id)
        return 0
    with default_storage.open(recording.original_key, "rb") as f:
        y, sr = dsp_io.load(f, sr=DRAFT_SR, mono=True)
    rows = []
    for start, end in _segments(y, sr):
        result = engine.recognise(y[int(start * sr) : int(end * sr)], sr)
        if not result.text:
            continue
        words = [[w.word, round(start + w.start, 3), round(start + w.end, 3), round(w.score, 3)] for w in result.words]
        rows.append(
            TranscriptDraft(
                recording_id=recording_id,
                start=round(start, 3),
                end=round(end, 3),
                text=result.text,
                words=words,
                engine=engine.name,
                engine_version=engine.version,
                language=language,
            )
        )
    with transaction.atomic():
        # Consent may have changed while the recogniser ran: ask again inside the write.
        TranscriptDraft.objects.filter(recording_id=recording_id).delete()
        if not recording_is_usable(None, Purpose.ANNOTATE, recording_id):
            return 0
        TranscriptDraft.objects.bulk_create(rows)
    return len(rows)


def drafts_enqueue_if_wanted(*, recording_id: int, original=None, measured=None) -> bool:
    """RECORDING_PROCESSED: queue draft recognition (dsp queue, after commit) when the recording's project drafts its
    language and an engine serves it; returns whether it was queued. Consent is asked again by the task."""
    recording = (
        recordings_usable(None, Purpose.ANNOTATE).filter(pk=recording_id).values("project_id", "language__tag").first()
    )
    if recording is None:
        return False
    language = recording["language__tag"]
    if not language or not _wants_drafts(language, draft_languages(project_id=recording["project_id"])):
        return False
    if speech.recogniser_for(language) is None:
        return False
    # Same-app lazy import: tasks.py imports these services.
    from apps.annotation.tasks import transcript_drafts_task

    def enqueue() -> None:
        try:
            transcript_drafts_task.delay(recording_id)
        except Exception:  # the broker is down: say so, but never keep review's QA (the next handler) from running
            log.exception("Could not queue draft transcripts for recording %s.", recording_id)

    transaction.on_commit(enqueue)
    return True


def drafts_delete_for_recordings(*, recording_ids: list[int]) -> int:
    """Drop the drafts of these recordings (withdrawal, purge); returns how many."""
    return TranscriptDraft.objects.filter(recording_id__in=list(recording_ids)).delete()[0]


def drafts_of(*, recording_id: int) -> list[dict]:
    """A usable recording's drafts as plain data (the caller has asked the consent selector)."""
    return [
        {
            "id": d.id,
            "start": d.start,
            "end": d.end,
            "text": d.text,
            "words": d.words,
            "language": d.language,
            "provenance": {"engine": d.engine, "version": d.engine_version, "created_at": d.created_at.isoformat()},
        }
        for d in TranscriptDraft.objects.filter(recording_id=recording_id)
    ]


def draft_region(*, draft: TranscriptDraft) -> dict:
    """A draft as an annotator's region: its text, and its provenance in the region's attributes.

    ``draft_text`` keeps the recogniser's words, so after the annotator edits ``text`` the region (and every
    AnnotationVersion snapshot) holds both the draft and the edit; ``draft_engine`` says which engine wrote it.
    """
    return {
        "id": f"draft-{draft.id}",
        "start": draft.start,
        "end": draft.end,
        "channel": None,
        "label": None,
        "text": draft.text,
        "fmin": None,
        "fmax": None,
        "attributes": {"draft_engine": f"{draft.engine} {draft.engine_version}", "draft_text": draft.text},
    }


def annotation_draft_accept(*, annotation, user, version: int, draft_id: int, settings=None):
    """Add a draft of the annotation's recording as a region (saved as version+1, like any save)."""
    draft = TranscriptDraft.objects.filter(pk=draft_id, recording_id=annotation.recording_id).first()
    if draft is None:
        raise DomainError("That draft does not belong to this recording, or it is gone.")
    regions = [
        {
            "id": r.uid,
            "start": r.start,
            "end": r.end,
            "channel": r.channel,
            "label": r.label_id,
            "text": r.text,
            "attributes": r.attributes,
            "fmin": r.fmin,
            "fmax": r.fmax,
        }
        for r in annotation.regions.all()
    ]
    if any(r["id"] == f"draft-{draft.id}" for r in regions):
        raise DomainError("This draft is already a region of the annotation.")
    clip_labels = list(annotation.clip_labels.values_list("id", flat=True))
    return annotation_save(
        annotation=annotation,
        user=user,
        version=version,
        regions=[*regions, draft_region(draft=draft)],
        clip_labels=clip_labels,
        settings=settings,
    )
