"""The purge: after the grace period, delete a recording's data for good, then the speaker's identity.

Progress is recorded per recording and step (RecordingPurge.steps_done), so a
run that crashed midway is simply run again: finished steps are skipped, the
rest complete. Every storage deletion is checked afterwards.
"""

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from apps.catalog.models import Recording, RecordingStatus, Speaker
from apps.catalog.services import purge as catalog_purge
from apps.consent.models import (
    ConsentRecord,
    ConsentStatus,
    PurgeState,
    RecordingPurge,
    RecordingWithdrawal,
    SpeakerTombstone,
)
from apps.consent.purposes import Purpose
from apps.consent.selectors import purge_grace, purges_due, recordings_usable
from apps.consent.services.audit import audit_record
from apps.consent.services.erasure import database_forget_deleted
from apps.consent.services.tombstones import speaker_digest, tombstone_write
from apps.core.hooks import (
    RECORDING_PURGE_ASSIGNMENTS,
    RECORDING_PURGE_DERIVED,
    RECORDING_PURGE_TRANSCRIPTS,
    hook_call,
)


def _step_assignments(recording) -> int:
    hook_call(RECORDING_PURGE_ASSIGNMENTS, recording_ids=[recording.id])  # annotation
    return 0


def _step_transcripts(recording) -> int:
    hook_call(RECORDING_PURGE_TRANSCRIPTS, recording_ids=[recording.id])  # annotation
    return 0


def _step_artifacts(recording) -> int:
    return sum(len(keys or []) for keys in hook_call(RECORDING_PURGE_DERIVED, recording=recording))  # processing


def _step_original(recording) -> int:
    return int(catalog_purge.recording_original_delete(recording=recording))


def _step_row(recording) -> int:
    catalog_purge.recording_mark_purged(recording=recording)
    return 0


# In order: stop work, redact text, delete derived files, delete the original, then mark the row.
PURGE_STEPS = [
    ("assignments", _step_assignments),
    ("transcripts", _step_transcripts),
    ("artifacts", _step_artifacts),
    ("original", _step_original),
    ("row", _step_row),
]


def _still_excluded(recording) -> bool:
    """A purge goes ahead unless consent was granted again during the grace period."""
    if RecordingWithdrawal.objects.filter(recording_id=recording.id).exists():
        return True
    return not recordings_usable(None, Purpose.STORE).filter(pk=recording.id).exists()


def recording_purge_run(*, purge_id) -> str:
    """Run (or resume) one recording's purge; records each finished step; audits the end. Returns the state."""
    purge = RecordingPurge.objects.select_related("recording").get(pk=purge_id)
    if purge.state != PurgeState.PENDING:
        return purge.state
    recording = purge.recording
    if not purge.steps_done and not _still_excluded(recording):
        RecordingPurge.objects.filter(pk=purge.pk, state=PurgeState.PENDING).update(state=PurgeState.CANCELLED)
        audit_record(
            actor="system",
            action="recording.purge_cancelled",
            object_type="recording",
            object_id=recording.id,
            project_id=recording.project_id,
            data={"reason": "usable_again"},
        )
        return PurgeState.CANCELLED
    RecordingPurge.objects.filter(pk=purge.pk).update(attempts=F("attempts") + 1)
    # Before deleting: a restore from a backup taken earlier erases it again (apps/consent/services/tombstones.py).
    tombstone_write(kind="recordings", digest=recording.sha256)
    done = list(purge.steps_done)
    for name, step in PURGE_STEPS:
        if name in done:
            continue
        deleted = step(recording)
        done.append(name)
        RecordingPurge.objects.filter(pk=purge.pk).update(steps_done=done, deleted_keys=F("deleted_keys") + deleted)
    with transaction.atomic():
        changed = RecordingPurge.objects.filter(pk=purge.pk, state=PurgeState.PENDING).update(
            state=PurgeState.DONE, finished_at=timezone.now()
        )
        if changed:
            purge.refresh_from_db()
            audit_record(
                actor="system",
                action="recording.purged",
                object_type="recording",
                object_id=recording.id,
                project_id=recording.project_id,
                data={
                    "reason": purge.reason,
                    "steps": done,
                    "objects_deleted": purge.deleted_keys,
                    "attempts": purge.attempts,
                },
            )
    return PurgeState.DONE


def _evidence_delete(speaker) -> int:
    deleted = 0
    records = ConsentRecord.objects.filter(speaker=speaker).exclude(evidence_key="")
    for key in set(records.values_list("evidence_key", flat=True)):
        if ConsentRecord.objects.filter(evidence_key=key).exclude(speaker=speaker).exists():
            continue  # the same bytes are someone else's evidence too (content-addressed)
        deleted += int(catalog_purge.storage_delete_verified(key))
    records.update(evidence_key="")
    return deleted


def speaker_purge_if_complete(*, speaker_id) -> bool:
    """Once a speaker has no live consent and no unpurged recording: delete evidence, wipe identity, keep a
    tombstone."""
    speaker = Speaker.objects.get(pk=speaker_id)
    if SpeakerTombstone.objects.filter(speaker=speaker).exists():
        return False
    if ConsentRecord.objects.filter(speaker=speaker, status=ConsentStatus.GRANTED).exists():
        return False
    if Recording.objects.filter(speaker=speaker).exclude(status=RecordingStatus.PURGED).exists():
        return False
    tombstone_write(kind="speakers", digest=speaker_digest(project_id=speaker.project_id, code=speaker.code))
    deleted = _evidence_delete(speaker)
    catalog_purge.speaker_identity_wipe(speaker=speaker)
    with transaction.atomic():
        records = ConsentRecord.objects.filter(speaker=speaker)
        records.update(reason="")
        RecordingWithdrawal.objects.filter(recording__speaker=speaker).exclude(reason="").update(reason="")
        first = records.order_by("granted_at").values_list("granted_at", flat=True).first()
        tomb, created = SpeakerTombstone.objects.get_or_create(
            speaker=speaker,
            defaults={
                "code": speaker.code,
                "first_granted_at": first,
                "withdrawn_at": records.aggregate(m=Max("withdrawn_at"))["m"],
                "purged_at": timezone.now(),
                "recordings_purged": Recording.objects.filter(speaker=speaker).count(),
                "consent_records": records.count(),
            },
        )
        if created:
            audit_record(
                actor="system",
                action="speaker.purged",
                object_type="speaker",
                object_id=speaker.id,
                project_id=speaker.project_id,
                data={"recordings_purged": tomb.recordings_purged, "evidence_deleted": deleted},
            )
    return created


def purges_schedule(*, recording_ids, via: str, due_at: datetime, now: datetime | None = None) -> dict:
    """Make each recording's purge pending: create it, re-open a cancelled one, or bring a pending one forward.

    The due date is the earlier of the existing one and ``due_at``; ``requested_at`` keeps the earliest
    withdrawal (a shorter grace period counts from it). Done purges stay done. Returns counts and the
    earliest due date among these recordings' pending purges (None when there are none).
    """
    now = now or timezone.now()
    out: dict[str, Any] = {"scheduled": 0, "brought_forward": 0, "pending": 0, "due_at": None}
    existing = {
        p.recording_id: p
        for p in RecordingPurge.objects.select_for_update().filter(recording_id__in=list(recording_ids))
    }
    for recording_id in recording_ids:
        purge = existing.get(recording_id)
        if purge is None:
            purge = RecordingPurge.objects.create(
                recording_id=recording_id, reason=via, due_at=due_at, requested_at=now
            )
            out["scheduled"] += 1
        elif purge.state == PurgeState.DONE:
            continue
        else:
            reopened = purge.state == PurgeState.CANCELLED
            earlier = due_at < purge.due_at
            if reopened or earlier:
                purge.state = PurgeState.PENDING
                purge.due_at = min(purge.due_at, due_at)
                purge.requested_at = min(purge.requested_at or now, now)
                purge.reason = via if reopened else purge.reason
                purge.save(update_fields=["state", "due_at", "requested_at", "reason"])
                out["scheduled" if reopened else "brought_forward"] += 1
        out["pending"] += 1
        out["due_at"] = purge.due_at if out["due_at"] is None else min(out["due_at"], purge.due_at)
    return out


def purge_effective_due(purge: RecordingPurge) -> datetime:
    """The stored date, or earlier when the grace period was shortened since (counted from the request)."""
    if purge.requested_at is None:
        return purge.due_at
    return min(purge.due_at, purge.requested_at + purge_grace())


def purges_due_for_speaker(*, speaker_id) -> datetime | None:
    """When the speaker's earliest pending purge is due (with today's grace period), or None."""
    pending = RecordingPurge.objects.filter(recording__speaker_id=speaker_id, state=PurgeState.PENDING)
    dates = [purge_effective_due(p) for p in pending.only("due_at", "requested_at")]
    return min(dates) if dates else None


def purges_run_due(*, now=None, limit: int = 200, project_id=None) -> dict:
    """Run every purge that is due (optionally one project's), then tombstone speakers whose data is all gone."""
    now = now or timezone.now()
    counts = {"recordings": 0, "speakers": 0}
    ids = list(purges_due(now=now, project_id=project_id).order_by("due_at", "id").values_list("pk", flat=True)[:limit])
    for purge_id in ids:
        counts["recordings"] += recording_purge_run(purge_id=purge_id) == PurgeState.DONE
    cutoff = now - purge_grace()
    speakers = (
        Speaker.objects.filter(
            tombstone__isnull=True, consent_records__status__in=[ConsentStatus.WITHDRAWN, ConsentStatus.EXPIRED]
        )
        .exclude(consent_records__status=ConsentStatus.GRANTED)
        .annotate(last=Max("consent_records__withdrawn_at"))
        .filter(last__lte=cutoff)
    )
    if project_id is not None:
        speakers = speakers.filter(project_id=project_id)
    for speaker_id in list(speakers.values_list("pk", flat=True))[:limit]:
        counts["speakers"] += speaker_purge_if_complete(speaker_id=speaker_id)
    if counts["recordings"] or counts["speakers"]:
        database_forget_deleted()  # the database files too: SQLite WAL checkpoint, PostgreSQL VACUUM
    return counts


def purges_run_now(*, actor, project_id=None) -> dict:
    """Run due purges now (a manager's button, the API, ``manage.py purge_due``); audited with the counts."""
    counts = purges_run_due(project_id=project_id)
    pending = RecordingPurge.objects.filter(state=PurgeState.PENDING)
    if project_id is not None:
        pending = pending.filter(recording__project_id=project_id)
    counts["still_pending"] = pending.count()
    audit_record(
        actor=actor,
        action="purge.run_now",
        object_type="project" if project_id else "system",
        object_id=project_id or "all",
        project_id=project_id,
        data=counts,
    )
    return counts
