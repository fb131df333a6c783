"""Withdrawal, expiry and retention: immediate exclusion, then downstream effects and a scheduled purge."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.catalog.models import Recording, RecordingStatus
from apps.consent.models import (
    ConsentRecord,
    ConsentStatus,
    ProjectConsentPolicy,
    RecordingWithdrawal,
    WithdrawnVia,
)
from apps.consent.purposes import Purpose, mask_to_purposes, purposes_to_mask
from apps.consent.selectors import recordings_usable
from apps.consent.services.audit import audit_record
from apps.consent.services.purge import purges_due_for_speaker, purges_schedule
from apps.core.errors import Conflict, DomainError
from apps.core.hooks import RECORDINGS_WITHDRAWN, hook_call


def _usable_map(ids: list[int]) -> dict[str, set[int]]:
    """For each purpose, which of ``ids`` the system may use now (one query per purpose)."""
    return {p.value: set(recordings_usable(None, p).filter(pk__in=ids).values_list("pk", flat=True)) for p in Purpose}


def _lost(before: dict, after: dict) -> dict[str, set[int]]:
    return {p: before[p] - after[p] for p in before}


def _grace_due(now):
    return now + timedelta(days=float(settings.EARMARK_PURGE_GRACE_DAYS))


def _effects(*, lost: dict, reason: str, via: str, due_at, project_id, unstorable=()) -> dict:
    """Tell the higher apps (RECORDINGS_WITHDRAWN: annotation cancels open assignments, datasets flags
    releases, ...) and schedule purges.

    Purges go to every recording that lost ``store`` and every one in ``unstorable`` (the speaker's
    recordings that may no longer be stored after this change, whatever made them so): "every withdrawal
    schedules a purge", re-opening a cancelled one (docs/consent.md, "Purges").
    """
    summary: dict = {"assignments_cancelled": 0, "releases_flagged": 0}
    for counts in hook_call(
        RECORDINGS_WITHDRAWN, recording_ids=sorted(set().union(*lost.values())), lost=lost, reason=reason
    ):
        summary.update(counts or {})
    scheduled = purges_schedule(recording_ids=sorted(lost[Purpose.STORE] | set(unstorable)), via=via, due_at=due_at)
    if scheduled["pending"]:
        transaction.on_commit(_enqueue_purge_if_due)
    return {
        **summary,
        "purges_scheduled": scheduled["scheduled"],
        "purges_brought_forward": scheduled["brought_forward"],
        "purge_due_at": scheduled["due_at"],
    }


def _enqueue_purge_if_due():
    if float(settings.EARMARK_PURGE_GRACE_DAYS) <= 0:
        # Tasks import these services: a module-level import would cycle
        from apps.consent.tasks import purge_due

        purge_due.delay()


def _speaker_recording_ids(speaker_id) -> list[int]:
    return list(
        Recording.objects.filter(speaker_id=speaker_id)
        .exclude(status=RecordingStatus.PURGED)
        .values_list("pk", flat=True)
    )


def _recordings_withdraw(record, recording_ids, *, via, reason, now) -> list[int]:
    own = set(_speaker_recording_ids(record.speaker_id))
    wanted = {int(i) for i in recording_ids}
    foreign = sorted(wanted - own)
    if foreign:
        raise DomainError(
            f"recording(s) {', '.join(map(str, foreign))} do not belong to this speaker or are already purged"
        )
    done = sorted(
        set(RecordingWithdrawal.objects.filter(recording_id__in=wanted).values_list("recording_id", flat=True))
    )
    if done:
        raise Conflict(f"recording(s) {', '.join(map(str, done))} were already withdrawn")
    RecordingWithdrawal.objects.bulk_create(
        [
            RecordingWithdrawal(recording_id=i, consent=record, withdrawn_at=now, withdrawn_via=via, reason=reason)
            for i in sorted(wanted)
        ]
    )
    return sorted(wanted)


def _purposes_withdraw(record, purposes, *, via, reason, now) -> int:
    try:
        mask = purposes_to_mask(purposes) if purposes else record.purpose_mask
    except ValueError as exc:
        raise DomainError(f"purposes: {exc}") from None
    not_granted = mask & ~record.purpose_mask
    if not_granted:
        raise DomainError(
            f"this consent does not grant {', '.join(mask_to_purposes(not_granted))}; "
            f"it grants {', '.join(record.purposes)}"
        )
    record.purpose_mask &= ~mask
    record.withdrawn_mask |= mask
    record.withdrawn_at, record.withdrawn_via = now, via
    record.reason = reason or record.reason
    if record.purpose_mask == 0:
        record.status = ConsentStatus.WITHDRAWN
    record.save()
    return mask


def consent_withdraw(
    *, consent_id, actor, via: str = WithdrawnVia.MANAGER, purposes=None, recording_ids=None, reason: str = ""
) -> dict:
    """Withdraw all or some purposes of a consent, or single recordings.

    Side effects, in one transaction: the consent (or RecordingWithdrawal rows)
    change so the selector excludes the data at once; open assignments are
    cancelled; releases_on_withdrawal is called; purges are scheduled after the
    grace period; an audit event is written. With grace 0 the purge is queued on commit.
    """
    if purposes and recording_ids:
        raise DomainError("withdraw either purposes or recordings, not both in one request")
    now = timezone.now()
    with transaction.atomic():
        record = ConsentRecord.objects.select_for_update().select_related("speaker").filter(pk=consent_id).first()
        if record is None:
            raise DomainError("No such consent.", status_code=404)
        if record.status != ConsentStatus.GRANTED:
            raise Conflict(f"this consent is already {record.status}; nothing more can be withdrawn")
        ids = _speaker_recording_ids(record.speaker_id)
        before = _usable_map(ids)
        if recording_ids:
            data: dict = {"recording_ids": _recordings_withdraw(record, recording_ids, via=via, reason=reason, now=now)}
            action = "recording.withdrawn"
        else:
            mask = _purposes_withdraw(record, purposes, via=via, reason=reason, now=now)
            data = {"purposes": mask_to_purposes(mask), "full": record.status == ConsentStatus.WITHDRAWN}
            action = "consent.withdrawn"
        after = _usable_map(ids)
        effects = _effects(
            lost=_lost(before, after),
            reason="consent_withdrawn",
            via=via,
            due_at=_grace_due(now),
            project_id=record.speaker.project_id,
            unstorable=set(ids) - after[Purpose.STORE],
        )
        audit_record(
            actor=actor if via == WithdrawnVia.MANAGER else "speaker",
            action=action,
            object_type="consent",
            object_id=record.id,
            project_id=record.speaker.project_id,
            data={**data, "via": via, "speaker_id": record.speaker_id, **_audited(effects)},
        )
    return {"consent": record, **data, **effects}


def _audited(effects: dict) -> dict:
    """The effects as counts (the due date is for the caller's page, not the log)."""
    return {k: v for k, v in effects.items() if k != "purge_due_at"}


def speaker_withdraw_everything(*, speaker_id, actor, via: str = WithdrawnVia.MANAGER, reason: str = "") -> dict:
    """Withdraw every live (granted) consent record of a speaker, in one transaction; see consent_withdraw.

    "Everything" means every record: a renewal or a second form version must not keep the data in use.
    Returns the summed effects, the withdrawn consent ids and the earliest purge due date.
    """
    with transaction.atomic():
        ids = list(
            ConsentRecord.objects.select_for_update()
            .filter(speaker_id=speaker_id, status=ConsentStatus.GRANTED)
            .order_by("id")
            .values_list("pk", flat=True)
        )
        if not ids:
            raise Conflict("this speaker has no consent left to withdraw")
        total = {
            "consent_ids": ids,
            "assignments_cancelled": 0,
            "releases_flagged": 0,
            "purges_scheduled": 0,
            "purges_brought_forward": 0,
            "purge_due_at": None,
        }
        for consent_id in ids:
            result = consent_withdraw(consent_id=consent_id, actor=actor, via=via, reason=reason)
            for key in ("assignments_cancelled", "releases_flagged", "purges_scheduled", "purges_brought_forward"):
                total[key] += result.get(key, 0)
            due = result["purge_due_at"]
            if due is not None and (total["purge_due_at"] is None or due < total["purge_due_at"]):
                total["purge_due_at"] = due
        total["purge_due_at"] = purges_due_for_speaker(speaker_id=speaker_id) or total["purge_due_at"]
    return total


def consents_expire(*, now=None) -> int:
    """Mark consents past their expiry as expired and apply the withdrawal effects; returns how many."""
    now = now or timezone.now()
    count = 0
    for consent_id in ConsentRecord.objects.filter(status=ConsentStatus.GRANTED, expires_at__lte=now).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            record = ConsentRecord.objects.select_for_update().select_related("speaker").get(pk=consent_id)
            if record.status != ConsentStatus.GRANTED:
                continue
            held = record.purpose_mask
            record.status, record.withdrawn_at, record.withdrawn_via = (
                ConsentStatus.EXPIRED,
                record.expires_at,
                WithdrawnVia.EXPIRY,
            )
            record.save(update_fields=["status", "withdrawn_at", "withdrawn_via"])
            ids = _speaker_recording_ids(record.speaker_id)
            after = _usable_map(ids)
            lost = {p: (set(ids) - after[p]) if p in mask_to_purposes(held) else set() for p in after}
            effects = _effects(
                lost=lost,
                reason="consent_expired",
                via=WithdrawnVia.EXPIRY,
                due_at=_grace_due(now),
                project_id=record.speaker.project_id,
                unstorable=set(ids) - after[Purpose.STORE],
            )
            audit_record(
                actor="system",
                action="consent.expired",
                object_type="consent",
                object_id=record.id,
                project_id=record.speaker.project_id,
                data={"speaker_id": record.speaker_id, **_audited(effects)},
            )
            count += 1
    return count


def recordings_retention_due(*, now=None) -> int:
    """Withdraw and schedule for purge (due now) recordings older than their project's retention period."""
    now = now or timezone.now()
    count = 0
    for policy in ProjectConsentPolicy.objects.filter(retention_days__isnull=False):
        cutoff = now - timedelta(days=policy.retention_days or 0)  # the filter excludes null
        ids = list(
            Recording.objects.filter(project_id=policy.project_id, created_at__lt=cutoff)
            .exclude(status=RecordingStatus.PURGED)
            .filter(withdrawal__isnull=True)
            .values_list("pk", flat=True)
        )
        if not ids:
            continue
        with transaction.atomic():
            RecordingWithdrawal.objects.bulk_create(
                [
                    RecordingWithdrawal(recording_id=i, withdrawn_at=now, withdrawn_via=WithdrawnVia.RETENTION)
                    for i in ids
                ]
            )
            lost = {p.value: set(ids) for p in Purpose}
            effects = _effects(
                lost=lost, reason="retention", via=WithdrawnVia.RETENTION, due_at=now, project_id=policy.project_id
            )
            audit_record(
                actor="system",
                action="recording.retention_expired",
                object_type="project",
                object_id=policy.project_id,
                project_id=policy.project_id,
                data={"recording_ids": ids, **_audited(effects)},
            )
        count += len(ids)
    return count
