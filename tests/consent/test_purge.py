"""The purge: deletes verified, identity wiped, tombstone kept, idempotent, resumes after a crash midway."""

from unittest import mock

import pytest
from django.core.files.storage import default_storage

from apps.catalog.models import Recording, SpeakerIdentity
from apps.consent import services
from apps.consent.models import AuditEvent, ConsentRecord, RecordingPurge, SpeakerTombstone
from apps.consent.services import purge as purge_mod
from apps.consent.services.purge import purges_run_due
from apps.core import hooks

pytestmark = pytest.mark.django_db


class Evidence:
    name = "consent.pdf"

    def __init__(self, data):
        self.data = data

    def read(self, n=-1):
        return self.data


def _withdraw_alice(w, settings, grace=0):
    settings.EARMARK_PURGE_GRACE_DAYS = grace
    services.consent_withdraw(consent_id=w["alice_consent"].id, actor=w["users"]["manager"], reason="moving away")
    return purges_run_due()  # on_commit does not fire inside a test transaction; the beat task would run this


def test_purge_waits_for_the_grace_period(consent_world, settings):
    w = consent_world
    assert _withdraw_alice(w, settings, grace=7) == {"recordings": 0, "speakers": 0}
    assert default_storage.exists(w["a1"].original_key)


def test_purge_deletes_objects_wipes_identity_keeps_tombstone(consent_world, settings):
    w = consent_world
    evidence = services.consent_record(
        speaker=w["alice"],
        actor=w["users"]["manager"],
        purposes=["store"],
        evidence=Evidence(b"%PDF-1.4 signed by Alice"),
    )
    services.consent_withdraw(consent_id=evidence.id, actor=w["users"]["manager"])
    assert default_storage.exists(evidence.evidence_key)
    redact = mock.Mock(return_value=0)
    with mock.patch.dict(hooks._registry, {hooks.RECORDING_PURGE_TRANSCRIPTS: [redact]}):
        assert _withdraw_alice(w, settings) == {"recordings": 2, "speakers": 1}
    assert sorted(c.kwargs["recording_ids"][0] for c in redact.call_args_list) == sorted([w["a1"].id, w["a2"].id])
    for rec in (w["a1"], w["a2"]):
        assert not default_storage.exists(rec.original_key)
        row = Recording.objects.get(pk=rec.pk)
        assert row.status == "purged" and row.original_name == "" and row.metadata == {}
        assert RecordingPurge.objects.get(recording=rec).steps_done == [s for s, _ in purge_mod.PURGE_STEPS]
    assert default_storage.exists(w["b1"].original_key)
    assert not default_storage.exists(evidence.evidence_key)
    assert not SpeakerIdentity.objects.filter(speaker=w["alice"]).exists()
    assert not ConsentRecord.objects.filter(speaker=w["alice"]).exclude(reason="").exists()
    tomb = SpeakerTombstone.objects.get(speaker=w["alice"])
    assert (tomb.code, tomb.recordings_purged, tomb.consent_records) == ("alice-code", 2, 2)
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions.count("recording.purged") == 2 and actions.count("speaker.purged") == 1
    text = " ".join(str(e.data) for e in AuditEvent.objects.all())
    assert "Alice" not in text and "alice@example.org" not in text and "moving away" not in text


def test_purge_is_idempotent(consent_world, settings):
    w = consent_world
    assert _withdraw_alice(w, settings) == {"recordings": 2, "speakers": 1}
    events = AuditEvent.objects.count()
    with mock.patch.object(purge_mod.catalog_purge, "storage_delete_verified") as delete:
        assert purges_run_due() == {"recordings": 0, "speakers": 0}
    delete.assert_not_called()
    assert AuditEvent.objects.count() == events


def test_crash_midway_then_rerun_finishes_without_double_work(consent_world, settings):
    w = consent_world
    settings.EARMARK_PURGE_GRACE_DAYS = 0
    calls = {"artifacts": 0, "original": 0}
    real_original = purge_mod._step_original

    def crashing_original(recording):
        calls["original"] += 1
        if calls["original"] == 1:
            real_original(recording)  # the object is deleted ... then the worker dies before recording it
            raise SystemExit("worker killed")
        return real_original(recording)

    def counting_artifacts(recording):
        calls["artifacts"] += 1
        return 0

    steps = [
        (n, {"original": crashing_original, "artifacts": counting_artifacts}.get(n, f))
        for n, f in purge_mod.PURGE_STEPS
    ]
    with (
        mock.patch.object(purge_mod, "PURGE_STEPS", steps),
        mock.patch("apps.consent.services.withdrawal._enqueue_purge_if_due"),
    ):
        services.consent_withdraw(consent_id=w["bob_consent"].id, actor=w["users"]["manager"])
        with pytest.raises(SystemExit):
            purges_run_due()
        purge = RecordingPurge.objects.get(recording=w["b1"])
        assert purge.state == "pending" and purge.steps_done == ["assignments", "transcripts", "artifacts"]
        assert Recording.objects.get(pk=w["b1"].pk).status != "purged"
        assert purges_run_due() == {"recordings": 1, "speakers": 1}
    purge.refresh_from_db()
    assert purge.state == "done" and purge.attempts == 2
    assert calls == {"artifacts": 1, "original": 2}  # artifacts not redone; original re-checked, found gone
    assert not default_storage.exists(w["b1"].original_key)
    assert Recording.objects.get(pk=w["b1"].pk).status == "purged"


def test_storage_delete_is_verified(consent_world, settings):
    from apps.catalog.services.purge import StorageDeleteFailed, storage_delete_verified

    key = consent_world["a1"].original_key
    with mock.patch.object(default_storage, "delete"):
        with pytest.raises(StorageDeleteFailed):
            storage_delete_verified(key)


def test_shared_original_survives_until_last_owner_purged(consent_world, settings, make_user):
    from apps.catalog.services import project_create
    from tests.catalog.factories import RecordingFactory, SpeakerFactory

    w = consent_world
    other = project_create(name="Other", created_by=make_user("m2"))
    twin = RecordingFactory(
        project=other, speaker=SpeakerFactory(project=other), sha256=w["b1"].sha256, original_key=w["b1"].original_key
    )
    settings.EARMARK_PURGE_GRACE_DAYS = 0
    services.consent_withdraw(consent_id=w["bob_consent"].id, actor=w["users"]["manager"])
    purges_run_due()
    assert Recording.objects.get(pk=w["b1"].pk).status == "purged"
    assert default_storage.exists(twin.original_key)


def test_audit_events_are_append_only(consent_world):
    from apps.consent.models import AuditImmutable

    event = services.audit_record(
        actor=None,
        action="x.y",
        object_type="thing",
        object_id=1,
        data={"name": "Alice Example", "email": "a@b.org", "ok": "train_models", "n": 3},
    )
    assert event.data == {"name": "[removed: not an id]", "email": "[removed: not an id]", "ok": "train_models", "n": 3}
    event.action = "changed"
    with pytest.raises(AuditImmutable):
        event.save()
    with pytest.raises(AuditImmutable):
        event.delete()
    with pytest.raises(AuditImmutable):
        AuditEvent.objects.filter(pk=event.pk).update(action="changed")
    with pytest.raises(AuditImmutable):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "x.y"
