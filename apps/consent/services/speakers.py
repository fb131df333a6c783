"""Who speaks in a recording: changed only here, with consent re-checked and the change audited.

A withdrawal binds to the voice in the recording, not only to the speaker row it hangs on: once a
recording was withdrawn on its own, has a purge pending or done, or its speaker withdrew anything or let a
consent expire, its speaker cannot change — otherwise naming another, consenting speaker (in the admin, by
mistake or on purpose) would make withdrawn audio usable again.
"""

from django.db import transaction

from apps.catalog.models import Recording, RecordingStatus, Speaker
from apps.catalog.services import recording_speaker_set
from apps.consent.models import (
    ConsentRecord,
    ConsentStatus,
    PurgeState,
    RecordingPurge,
    RecordingWithdrawal,
)
from apps.consent.purposes import Purpose
from apps.consent.selectors import recording_is_usable
from apps.consent.services.audit import audit_record
from apps.core.errors import Conflict, DomainError
from apps.core.hooks import RECORDINGS_RELEASED, hook_call


def recording_voice_bound(*, recording: Recording) -> str:
    """Why this recording's speaker may no longer change ('' when it may)."""
    if recording.status == RecordingStatus.PURGED:
        return "it has been purged"
    if RecordingWithdrawal.objects.filter(recording_id=recording.pk).exists():
        return "it was withdrawn"
    if RecordingPurge.objects.filter(
        recording_id=recording.pk, state__in=[PurgeState.PENDING, PurgeState.DONE]
    ).exists():
        return "it is scheduled for deletion"
    if (
        recording.speaker_id
        and ConsentRecord.objects.filter(speaker_id=recording.speaker_id)
        .exclude(status=ConsentStatus.GRANTED, withdrawn_mask=0)
        .exists()
    ):
        return "its speaker withdrew consent (or let it expire)"
    return ""


def recording_speaker_change(*, recording_id: int, speaker_id: int | None, actor) -> Recording:
    """Name another speaker (or none) for a recording; refuses when a withdrawal binds its voice. Audited.

    Writes Recording.speaker (through catalog), an AuditEvent; when the recording becomes storable, the
    RECORDINGS_RELEASED hook queues its processing.
    """
    with transaction.atomic():
        recording = Recording.objects.select_for_update().filter(pk=recording_id).first()
        if recording is None:
            raise DomainError("No such recording.", status_code=404)
        if recording.speaker_id == speaker_id:
            return recording
        if (
            speaker_id is not None
            and not Speaker.objects.filter(pk=speaker_id, project_id=recording.project_id).exists()
        ):
            raise DomainError(f"speaker {speaker_id} is not a speaker of this recording's project")
        why = recording_voice_bound(recording=recording)
        if why:
            raise Conflict(
                f"recording {recording.pk} cannot be given another speaker: {why}. A withdrawal stays "
                f"with the voice in the recording; it is not used again under any name."
            )
        before = recording_is_usable(None, Purpose.STORE, recording.pk)
        old = recording.speaker_id
        recording_speaker_set(recording_id=recording.pk, speaker_id=speaker_id)
        after = recording_is_usable(None, Purpose.STORE, recording.pk)
        audit_record(
            actor=actor,
            action="recording.speaker_changed",
            object_type="recording",
            object_id=recording.pk,
            project_id=recording.project_id,
            data={"from_speaker_id": old, "to_speaker_id": speaker_id, "storable": after},
        )
        if after and not before:
            hook_call(RECORDINGS_RELEASED, recording_ids=[recording.pk], reason="speaker_named")
        recording.refresh_from_db()
    return recording
