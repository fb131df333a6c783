"""Annotation services: every write of the annotation app. Other apps import from here.

Exported: labels_set, label_create, queue_next (queue_next_item: with the progress counts), annotation_skip,
annotation_save, annotation_submit, annotation_set_status, annotation_save_version, annotation_transcript_import, and
the consent hooks assignments_cancel_for_recordings, annotations_redact_for_recordings.
"""

from apps.annotation.services.hooks import annotations_redact_for_recordings, assignments_cancel_for_recordings
from apps.annotation.services.queue import annotation_skip, queue_next, queue_next_item, queue_progress
from apps.annotation.services.schema import label_create, labels_set
from apps.annotation.services.work import (
    annotation_save,
    annotation_save_version,
    annotation_set_status,
    annotation_submit,
    annotation_transcript_import,
)

__all__ = [
    "annotation_save",
    "annotation_save_version",
    "annotation_set_status",
    "annotation_skip",
    "annotation_submit",
    "annotation_transcript_import",
    "annotations_redact_for_recordings",
    "assignments_cancel_for_recordings",
    "label_create",
    "labels_set",
    "queue_next",
    "queue_next_item",
    "queue_progress",
]
