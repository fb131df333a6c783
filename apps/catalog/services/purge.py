"""Catalogue-side writes of a consent purge (called only by apps.consent.services.purge).

Each step is idempotent, so a purge that crashed midway can simply run again.
"""

from django.core.files.storage import default_storage
from django.db import transaction

from apps.catalog.models import Recording, RecordingStatus, Speaker, SpeakerIdentity


class StorageDeleteFailed(Exception):
    """An object was still in storage after its deletion."""


def storage_delete_verified(key: str) -> bool:
    """Delete one storage object and check it is gone; returns whether it existed. Raises if it survives."""
    if not key:
        return False
    existed = default_storage.exists(key)
    if existed:
        default_storage.delete(key)
    if default_storage.exists(key):
        raise StorageDeleteFailed(f"storage object {key} is still present after deletion")
    return existed


def recording_original_delete(*, recording: Recording) -> bool:
    """Delete the recording's original object unless another live recording shares those bytes (content-addressed)."""
    shared = (
        Recording.objects.filter(original_key=recording.original_key)
        .exclude(pk=recording.pk)
        .exclude(status=RecordingStatus.PURGED)
        .exists()
    )
    if shared:
        return False
    return storage_delete_verified(recording.original_key)


@transaction.atomic
def recording_mark_purged(*, recording: Recording) -> None:
    """Mark the row purged and blank its free text (file name, metadata); technical facts stay."""
    Recording.objects.filter(pk=recording.pk).update(status=RecordingStatus.PURGED, original_name="", metadata={})


@transaction.atomic
def speaker_identity_wipe(*, speaker: Speaker) -> None:
    """Delete the speaker's direct identifiers and blank self-described attributes; the pseudonymous code stays."""
    SpeakerIdentity.objects.filter(speaker=speaker).delete()
    Speaker.objects.filter(pk=speaker.pk).update(gender="", accent="", age_band="")
