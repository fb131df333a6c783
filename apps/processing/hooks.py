"""Processing's answers to hooks of lower apps (registered in ProcessingConfig.ready())."""

from apps.catalog.models import RecordingStatus
from apps.consent.purposes import Purpose
from apps.consent.selectors import recordings_usable
from apps.processing.services import recording_queue_processing


def recordings_released_queue(*, recording_ids: list[int], reason: str) -> int:
    """Queue processing for released recordings that were never processed (quarantine lifted). Returns how many."""
    queued = 0
    for recording in recordings_usable(None, Purpose.STORE).filter(
            pk__in=recording_ids, status__in=[RecordingStatus.INGESTED, RecordingStatus.FAILED]
    ).select_related("project"):
        recording_queue_processing(recording=recording)
        queued += 1
    return queued
