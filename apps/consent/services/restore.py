"""After a restore: erase again what tombstones say was erased (``manage.py tombstones_apply``).

A backup taken before a purge holds the speaker's consent as granted, their recordings and the audio in the
bucket. For every speaker and recording whose hash has a tombstone (apps/consent/services/tombstones.py) and
that the restored data still holds, this withdraws what is left, makes the purge due now and runs it, then
wipes the speaker's identity — the same services a withdrawal and purge use — and audits the count.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.catalog.models import Recording, RecordingStatus, Speaker
from apps.consent.models import (
    ConsentRecord,
    ConsentStatus,
    PurgeState,
    RecordingPurge,
    RecordingWithdrawal,
    WithdrawnVia,
)
from apps.consent.services.audit import audit_record
from apps.consent.services.erasure import database_forget_deleted
from apps.consent.services.purge import purges_schedule, recording_purge_run, speaker_purge_if_complete
from apps.consent.services.tombstones import speaker_digest, tombstones_read
from apps.consent.services.withdrawal import speaker_withdraw_everything


def tombstones_reapply() -> dict:
    """Erase restored data that tombstones say was erased; returns counts (recordings and speakers erased)."""
    speaker_digests = tombstones_read("speakers")
    recording_digests = tombstones_read("recordings")
    speakers = [
        s
        for s in Speaker.objects.filter(tombstone__isnull=True).only("id", "project_id", "code")
        if speaker_digest(project_id=s.project_id, code=s.code) in speaker_digests
    ]
    for speaker in speakers:
        if ConsentRecord.objects.filter(speaker=speaker, status=ConsentStatus.GRANTED).exists():
            speaker_withdraw_everything(speaker_id=speaker.id, actor="system", reason="")
    targets = list(
        Recording.objects.exclude(status=RecordingStatus.PURGED)
        .filter(Q(sha256__in=recording_digests) | Q(speaker_id__in=[s.id for s in speakers]))
        .values_list("id", flat=True)
    )
    now = timezone.now()
    with transaction.atomic():
        for recording_id in targets:
            RecordingWithdrawal.objects.get_or_create(
                recording_id=recording_id,
                defaults={"withdrawn_at": now, "withdrawn_via": WithdrawnVia.MANAGER, "reason": ""},
            )
        purges_schedule(recording_ids=targets, via=WithdrawnVia.MANAGER, due_at=now, now=now)

    erased = 0
    for purge_id in RecordingPurge.objects.filter(recording_id__in=targets, state=PurgeState.PENDING).values_list(
        "pk", flat=True
    ):
        erased += recording_purge_run(purge_id=purge_id) == PurgeState.DONE
    wiped = sum(bool(speaker_purge_if_complete(speaker_id=s.id)) for s in speakers)
    if erased or wiped:
        database_forget_deleted()
    counts = {"recordings": erased, "speakers": wiped}
    audit_record(actor="system", action="tombstones.reapplied", object_type="system", object_id="all", data=counts)
    return counts
