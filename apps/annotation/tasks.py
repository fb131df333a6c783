"""Thin Celery entry points of the annotation app: ids in, one service call."""

from celery import shared_task

from apps.annotation.services.alignment import annotation_align
from apps.annotation.services.drafts import recording_drafts_make


@shared_task(name="annotation.transcript_drafts", acks_late=True, soft_time_limit=1800, time_limit=1900)
def transcript_drafts_task(recording_id: int) -> int:
    """Draft transcripts for one recording (CPU-heavy recognition: the dsp queue)."""
    return recording_drafts_make(recording_id=recording_id)


@shared_task(name="annotation.transcript_align", acks_late=True, soft_time_limit=1800, time_limit=1900)
def transcript_align_task(annotation_id: int) -> int:
    """Forced alignment of one annotation's transcripts (CPU-heavy: the dsp queue), then its transcript QA."""
    return annotation_align(annotation_id=annotation_id)
