"""Withdrawal, expiry and retention: immediate exclusion, effects, audit, and nothing half-written on bad input."""

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from apps.consent import services
from apps.consent.models import (
    AuditEvent,
    ConsentRecord,
    ConsentStatus,
    ProjectConsentPolicy,
    RecordingPurge,
    RecordingWithdrawal,
)
from apps.consent.selectors import recordings_usable
from apps.core.errors import Conflict, DomainError

pytestmark = pytest.mark.django_db


def _usable(purpose):
    return set(recordings_usable(None, purpose).values_list("id", flat=True))


def test_full_withdrawal_excludes_at_once_and_schedules_purge_after_grace(consent_world, settings):
    settings.EARMARK_PURGE_GRACE_DAYS = 7
    w = consent_world
    with (
        mock.patch("apps.datasets.services.releases.releases_on_withdrawal", return_value=2) as releases,
        mock.patch("apps.annotation.services.hooks.assignments_cancel_for_recordings", return_value=1) as cancel,
    ):
        result = services.consent_withdraw(consent_id=w["alice_consent"].id, actor=w["users"]["manager"])
    alice_ids = {w["a1"].id, w["a2"].id}
    for purpose in ("store", "annotate", "review", "train_models"):
        assert not alice_ids & _usable(purpose)
    assert w["b1"].id in _usable("store")
    assert sorted(releases.call_args.kwargs["recording_ids"]) == sorted(alice_ids)
    assert sorted(cancel.call_args.kwargs["recording_ids"]) == sorted(alice_ids)
    assert result["releases_flagged"] == 2 and result["purges_scheduled"] == 2
    purges = RecordingPurge.objects.filter(recording_id__in=alice_ids)
    assert purges.count() == 2
    assert all(timedelta(days=6.9) < p.due_at - timezone.now() < timedelta(days=7.1) for p in purges)
    record = ConsentRecord.objects.get(pk=w["alice_consent"].id)
    assert record.status == ConsentStatus.WITHDRAWN and record.withdrawn_via == "manager"
    event = AuditEvent.objects.get(action="consent.withdrawn")
    assert event.object_id == str(record.id) and event.data["purposes"] == record.withdrawn_purposes


def test_partial_withdrawal_keeps_store_drops_train_models_without_purge(consent_world):
    w = consent_world
    with mock.patch("apps.datasets.services.releases.releases_on_withdrawal", return_value=0) as releases:
        services.consent_withdraw(
            consent_id=w["alice_consent"].id, actor=w["users"]["manager"], purposes=["train_models"]
        )
    assert w["a1"].id in _usable("store") and w["a1"].id in _usable("annotate")
    assert w["a1"].id not in _usable("train_models")
    assert sorted(releases.call_args.kwargs["recording_ids"]) == sorted([w["a1"].id, w["a2"].id])
    assert not RecordingPurge.objects.exists()
    record = ConsentRecord.objects.get(pk=w["alice_consent"].id)
    assert record.status == ConsentStatus.GRANTED and "train_models" not in record.purposes
    assert record.withdrawn_purposes == ["train_models"]


def test_single_recording_withdrawal(consent_world):
    w = consent_world
    services.consent_withdraw(consent_id=w["alice_consent"].id, actor=w["users"]["manager"], recording_ids=[w["a1"].id])
    assert w["a1"].id not in _usable("store") and w["a2"].id in _usable("store")
    assert list(RecordingPurge.objects.values_list("recording_id", flat=True)) == [w["a1"].id]
    assert ConsentRecord.objects.get(pk=w["alice_consent"].id).status == ConsentStatus.GRANTED


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"purposes": ["nonsense"]}, "unknown purpose"),
        ({"recording_ids": [999999]}, "do not belong to this speaker"),
        ({"purposes": ["store"], "recording_ids": [1]}, "either purposes or recordings"),
    ],
)
def test_bad_withdrawals_name_the_problem_and_change_nothing(consent_world, kwargs, message):
    w = consent_world
    if "recording_ids" in kwargs and kwargs["recording_ids"] == [999999]:
        kwargs = {"recording_ids": [w["b1"].id]}  # bob's recording through alice's consent
    with pytest.raises(DomainError) as exc:
        services.consent_withdraw(consent_id=w["alice_consent"].id, actor=w["users"]["manager"], **kwargs)
    assert message in exc.value.message
    assert not RecordingWithdrawal.objects.exists() and not RecordingPurge.objects.exists()
    assert not AuditEvent.objects.filter(action__contains="withdrawn").exists()
    assert ConsentRecord.objects.get(pk=w["alice_consent"].id).withdrawn_mask == 0


def test_withdrawing_twice_is_a_conflict(consent_world):
    w = consent_world
    services.consent_withdraw(consent_id=w["alice_consent"].id, actor=w["users"]["manager"])
    with pytest.raises(Conflict):
        services.consent_withdraw(consent_id=w["alice_consent"].id, actor=w["users"]["manager"])


def test_failing_downstream_hook_rolls_everything_back(consent_world):
    w = consent_world
    with mock.patch("apps.datasets.services.releases.releases_on_withdrawal", side_effect=RuntimeError("db down")):
        with pytest.raises(RuntimeError):
            services.consent_withdraw(consent_id=w["alice_consent"].id, actor=w["users"]["manager"])
    assert ConsentRecord.objects.get(pk=w["alice_consent"].id).status == ConsentStatus.GRANTED
    assert not RecordingPurge.objects.exists() and not AuditEvent.objects.filter(action="consent.withdrawn").exists()


def test_expiry_task_marks_and_applies_effects(consent_world):
    w = consent_world
    ConsentRecord.objects.filter(pk=w["bob_consent"].id).update(expires_at=timezone.now() - timedelta(minutes=1))
    with mock.patch("apps.datasets.services.releases.releases_on_withdrawal", return_value=0) as releases:
        assert services.consents_expire() == 1
        assert services.consents_expire() == 0
    assert ConsentRecord.objects.get(pk=w["bob_consent"].id).status == ConsentStatus.EXPIRED
    assert releases.call_args.kwargs["recording_ids"] == [w["b1"].id]
    assert RecordingPurge.objects.get().recording_id == w["b1"].id
    assert AuditEvent.objects.filter(action="consent.expired", object_id=str(w["bob_consent"].id)).exists()


def test_retention_withdraws_old_recordings_due_now(consent_world):
    w = consent_world
    ProjectConsentPolicy.objects.create(project=w["project"], retention_days=30)
    from apps.catalog.models import Recording

    Recording.objects.filter(pk=w["a1"].id).update(created_at=timezone.now() - timedelta(days=31))
    assert services.recordings_retention_due() == 1
    assert w["a1"].id not in _usable("store")
    purge = RecordingPurge.objects.get()
    assert purge.recording_id == w["a1"].id and purge.due_at <= timezone.now()
    assert services.recordings_retention_due() == 0


def test_regranted_consent_cancels_a_pending_purge(consent_world, settings):
    from apps.consent.services.purge import purges_run_due

    settings.EARMARK_PURGE_GRACE_DAYS = 0
    w = consent_world
    services.consent_withdraw(consent_id=w["bob_consent"].id, actor=w["users"]["manager"])
    services.consent_record(speaker=w["bob"], actor=w["users"]["manager"], purposes=["store"])
    purges_run_due()
    assert RecordingPurge.objects.get().state == "cancelled"
    assert w["b1"].id in _usable("store")


def test_ingest_check_rejects_or_quarantines_per_policy(consent_world):
    from tests.catalog.factories import SpeakerFactory

    w = consent_world
    newcomer = SpeakerFactory(project=w["project"], consent=False, code="newcomer")
    services.recording_ingest_check(project=w["project"], speaker=newcomer)  # default: quarantine, no error
    ProjectConsentPolicy.objects.create(project=w["project"], on_missing="reject")
    with pytest.raises(DomainError) as exc:
        services.recording_ingest_check(project=w["project"], speaker=newcomer)
    assert "newcomer" in exc.value.message and "store" in exc.value.message
    services.recording_ingest_check(project=w["project"], speaker=w["bob"])  # bob consented
