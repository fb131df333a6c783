"""Recording status changes requested by other apps (processing sets processing/ready/failed)."""

from apps.catalog.models import Recording, RecordingStatus


def recording_status_set(*, recording_id: int, status: str, only_from: tuple[str, ...] | None = None) -> bool:
    """Set a recording's status (optionally only from the given statuses); a purged one never changes.

    Writes Recording."""
    RecordingStatus(status)
    qs = Recording.objects.filter(id=recording_id).exclude(status=RecordingStatus.PURGED)
    if only_from is not None:
        qs = qs.filter(status__in=only_from)
    return qs.update(status=status) > 0
