"""The consent panel of the catalogue's recording page (registered for the recording_panels hook)."""

from apps.consent.models import ConsentRecord, SpeechCheck
from apps.consent.purposes import Purpose
from apps.consent.selectors import recording_is_usable


def recording_consent_panel(*, actor, recording) -> dict:
    """For which purposes the recording may be used now (the selector's answer), and its speaker's consents."""
    usable = [p.label for p in Purpose if recording_is_usable(actor, p, recording.id)]
    rows = [("Usable now for", ", ".join(usable) or "nothing (quarantined or withdrawn)")]
    if recording.speaker_id is None:
        rows.append(("Speaker", "none named (needs no consent while no speech is detected)"))
        check = SpeechCheck.objects.filter(recording_id=recording.id).first()
        rows.append(("Speech detector", check.get_state_display() if check else "not run yet (processing runs it)"))
        return {"order": 20, "title": "Consent", "testid": "consent", "rows": rows}
    records = ConsentRecord.objects.filter(speaker_id=recording.speaker_id).order_by("-granted_at")[:10]
    table = [
        [
            r.granted_at.strftime("%Y-%m-%d"),
            r.get_status_display(),
            ", ".join(r.purposes) or "—",
            r.expires_at.strftime("%Y-%m-%d") if r.expires_at else "—",
        ]
        for r in records
    ]
    return {
        "order": 20,
        "title": "Consent",
        "testid": "consent",
        "rows": rows,
        "table": {"head": ["Granted", "Status", "Purposes", "Expires"], "rows": table},
        "empty": "No consent on record for this speaker.",
    }
