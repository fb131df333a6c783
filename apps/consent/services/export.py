"""Subject access: one zip with everything Earmark holds about a speaker."""

import json
import tempfile
import zipfile

from django.core.files.storage import default_storage

from apps.catalog.models import Recording, Speaker, SpeakerIdentity
from apps.consent.models import (
    ConsentRecord,
    PurgeState,
    RecordingPurge,
    RecordingWithdrawal,
    SpeakerTombstone,
)
from apps.consent.purposes import Purpose
from apps.consent.selectors import recordings_usable
from apps.consent.services.audit import audit_record
from apps.consent.services.purge import purge_effective_due
from apps.core.hooks import ANNOTATIONS_EXPORT, SUBJECT_ACCESS_SECTIONS, hook_call, hook_handlers, hook_one

README = """Everything Earmark holds about speaker {code} (exported {when}).

speaker.json       pseudonymous code, attributes and direct identifiers
consents.json      every consent record: purposes, dates, status, withdrawals, and the form agreed to
forms/             the full text of every consent form version the speaker agreed to
evidence/          the consent evidence files, by sha256
recordings.json    every recording: technical facts, status, withdrawal, purge state and when it is due
audio/             the original audio of recordings still in use
annotations.json   annotations (regions, labels, transcripts) of recordings still in use
releases.json      the dataset releases that received the recordings (and which were withdrawn since)
derived.json       derived data held per recording (features, waveform peaks, images: kind and size)

Recordings that were withdrawn are listed with their state, but their audio and
annotations are not exported: they are excluded from every use and are being
(or have been) deleted.
"""


def _json(data) -> str:
    return json.dumps(data, indent=2, default=str, ensure_ascii=False)


def _annotations(ids) -> list[dict]:
    """The speaker's annotations, from the app that holds them (ANNOTATIONS_EXPORT: annotation)."""
    if not hook_handlers(ANNOTATIONS_EXPORT):  # no annotation app installed: say so in the file
        return [{"note": "annotations could not be exported by this version"}]
    return hook_one(ANNOTATIONS_EXPORT, recording_ids=list(ids))


def _purge(purge: RecordingPurge | None) -> dict | None:
    if purge is None:
        return None
    due = purge_effective_due(purge) if purge.state == PurgeState.PENDING else None
    return {"state": purge.state, "due_at": due, "finished_at": purge.finished_at}


def speaker_export(*, speaker: Speaker, actor, now) -> tempfile.SpooledTemporaryFile:
    """Build the subject-access zip (spooled to disk when large) and audit it. Returns the open file at 0."""
    identity = SpeakerIdentity.objects.filter(speaker=speaker).first()
    recordings = list(Recording.objects.filter(speaker=speaker).order_by("id"))
    usable = set(recordings_usable(None, Purpose.STORE).filter(speaker=speaker).values_list("pk", flat=True))
    withdrawn = {w.recording_id: w for w in RecordingWithdrawal.objects.filter(recording__speaker=speaker)}
    consents = list(ConsentRecord.objects.filter(speaker=speaker).select_related("form").order_by("id"))
    purges = {p.recording_id: p for p in RecordingPurge.objects.filter(recording__speaker=speaker)}
    tomb = SpeakerTombstone.objects.filter(speaker=speaker).first()
    out = tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("README.txt", README.format(code=speaker.code, when=now.isoformat()))
        zf.writestr(
            "speaker.json",
            _json(
                {
                    "id": speaker.id,
                    "project": speaker.project_id,
                    "code": speaker.code,
                    "age_band": speaker.age_band,
                    "gender": speaker.gender,
                    "accent": speaker.accent,
                    "created_at": speaker.created_at,
                    "native_languages": list(speaker.native_languages.values_list("tag", flat=True)),
                    "identity": {
                        "full_name": identity.full_name,
                        "email": identity.email,
                        "phone": identity.phone,
                        "notes": identity.notes,
                    }
                    if identity
                    else None,
                    "tombstone": {"purged_at": tomb.purged_at, "recordings_purged": tomb.recordings_purged}
                    if tomb
                    else None,
                }
            ),
        )
        forms = {c.form_id: c.form for c in consents if c.form_id}
        for form in forms.values():
            assert form is not None  # form_id is set, so the (select_related) form is there
            zf.writestr(
                f"forms/form-{form.id}-v{form.version}.txt",
                f"{form.title}, version {form.version} (sha256 {form.sha256})\n\n{form.text}",
            )
        zf.writestr(
            "consents.json",
            _json(
                [
                    {
                        "id": c.id,
                        "purposes": c.purposes,
                        "granted_at": c.granted_at,
                        "form": {
                            "id": c.form.id,
                            "title": c.form.title,
                            "version": c.form.version,
                            "sha256": c.form.sha256,
                            "text": c.form.text,
                            "file": f"forms/form-{c.form.id}-v{c.form.version}.txt",
                        }
                        if c.form
                        else None,
                        "expires_at": c.expires_at,
                        "status": c.status,
                        "withdrawn_purposes": c.withdrawn_purposes,
                        "withdrawn_at": c.withdrawn_at,
                        "withdrawn_via": c.withdrawn_via,
                        "reason": c.reason,
                        "evidence_sha256": c.evidence_sha256 or None,
                    }
                    for c in consents
                ]
            ),
        )
        for c in consents:
            if c.evidence_key and default_storage.exists(c.evidence_key):
                with default_storage.open(c.evidence_key, "rb") as fh:
                    zf.writestr(f"evidence/{c.evidence_key.rsplit('/', 1)[-1]}", fh.read())
        zf.writestr(
            "recordings.json",
            _json(
                [
                    {
                        "id": r.id,
                        "sha256": r.sha256,
                        "duration": r.duration,
                        "sample_rate": r.sample_rate,
                        "channels": r.channels,
                        "container": r.container,
                        "status": r.status,
                        "created_at": r.created_at,
                        "in_use": r.id in usable,
                        "withdrawn_at": withdrawn[r.id].withdrawn_at if r.id in withdrawn else None,
                        "purge": _purge(purges.get(r.id)),
                        "original_name": r.original_name,
                        "metadata": r.metadata,
                    }
                    for r in recordings
                ]
            ),
        )
        for r in recordings:
            if r.id in usable and default_storage.exists(r.original_key):
                with (
                    default_storage.open(r.original_key, "rb") as src,
                    zf.open(f"audio/{r.id}.{r.original_key.rsplit('.', 1)[-1]}", "w") as dst,
                ):
                    for chunk in iter(lambda: src.read(1024 * 1024), b""):
                        dst.write(chunk)
        zf.writestr("annotations.json", _json(_annotations(sorted(usable))))
        for sections in hook_call(
            SUBJECT_ACCESS_SECTIONS, speaker_id=speaker.id, recordings={r.id: r.sha256 for r in recordings}
        ):
            for name, data in sections.items():
                zf.writestr(name, _json(data))
    out.seek(0)
    audit_record(
        actor=actor,
        action="speaker.exported",
        object_type="speaker",
        object_id=speaker.id,
        project_id=speaker.project_id,
        data={"recordings": len(usable), "consents": len(consents)},
    )
    return out
