"""Speech without a speaker: a recording naming no speaker in which the detector finds speech is held (like a
quarantine) until a manager names a speaker with consent, or confirms, audited, that no identifiable voice is
in it. Called by processing after its voice-activity step; decided on the consent page, the API or the admin."""

from django.db import transaction
from django.utils import timezone

from apps.catalog.models import Recording
from apps.consent.models import SpeechCheck, SpeechCheckState
from apps.consent.services.audit import audit_record
from apps.consent.services.records import policy_get
from apps.core.errors import Conflict, DomainError
from apps.core.hooks import RECORDINGS_RELEASED, hook_call

MIN_SPEECH_SECONDS = 0.3  # shorter "speech" is a cough or a click, not a voice anyone could identify


def recording_speech_check(*, recording_id: int, speech_seconds: float, max_probability: float) -> str:
    """Record the detector's verdict on a speakerless recording: held (speech above the project's threshold)
    or clear. A manager's earlier decision stays. Writes SpeechCheck and, when held, an audit event."""
    with transaction.atomic():
        recording = Recording.objects.select_for_update().filter(pk=recording_id).first()
        if recording is None or recording.speaker_id is not None:
            return ""
        existing = SpeechCheck.objects.filter(recording_id=recording_id).first()
        if existing is not None and existing.state == SpeechCheckState.CONFIRMED:
            return existing.state
        threshold = policy_get(recording.project_id).speech_threshold
        held = max_probability >= threshold and speech_seconds >= MIN_SPEECH_SECONDS
        state = SpeechCheckState.HELD if held else SpeechCheckState.CLEAR
        SpeechCheck.objects.update_or_create(
            recording_id=recording_id,
            defaults={
                "state": state,
                "speech_seconds": speech_seconds,
                "max_probability": max_probability,
                "checked_at": timezone.now(),
            },
        )
        if held and (existing is None or existing.state != SpeechCheckState.HELD):
            audit_record(
                actor="system",
                action="recording.speech_held",
                object_type="recording",
                object_id=recording_id,
                project_id=recording.project_id,
                data={
                    "speech_seconds": round(speech_seconds, 2),
                    "max_probability": round(max_probability, 3),
                    "threshold": threshold,
                },
            )
    return state


def recording_speech_confirm(*, recording_id: int, actor) -> SpeechCheck:
    """A manager confirms a held recording holds no identifiable voice: usable again without consent. Audited;
    processing of it is queued if it never ran."""
    with transaction.atomic():
        check = (
            SpeechCheck.objects.select_for_update()
            .select_related("recording")
            .filter(recording_id=recording_id)
            .first()
        )
        if check is None:
            raise DomainError("This recording was not held for speech.", status_code=404)
        if check.state != SpeechCheckState.HELD:
            raise Conflict(f"This recording is not held (its state is: {check.get_state_display().lower()}).")
        check.state, check.decided_by, check.decided_at = SpeechCheckState.CONFIRMED, actor, timezone.now()
        check.save(update_fields=["state", "decided_by", "decided_at"])
        audit_record(
            actor=actor,
            action="recording.speech_confirmed_no_voice",
            object_type="recording",
            object_id=recording_id,
            project_id=check.recording.project_id,
            data={"speech_seconds": round(check.speech_seconds, 2), "max_probability": round(check.max_probability, 3)},
        )
        hook_call(RECORDINGS_RELEASED, recording_ids=[recording_id], reason="speech_confirmed_no_voice")
    return check
