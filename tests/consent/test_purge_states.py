"""Purges as a state machine, "everything" means every record, and speakers change only through consent.

Each test here failed on fd3b00a (issue 12, points 1-4).
"""

from datetime import timedelta
from unittest import mock

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from apps.catalog.models import Recording
from apps.consent import services
from apps.consent.models import AuditEvent, ConsentRecord, RecordingPurge
from apps.consent.selectors import recordings_usable
from apps.consent.services.optout import optout_token_make
from apps.consent.services.purge import purges_run_due

pytestmark = pytest.mark.django_db


def _usable(purpose="store"):
    return set(recordings_usable(None, purpose).values_list("id", flat=True))


def _later(days):
    real = timezone.now
    return mock.patch.object(timezone, "now", lambda: real() + timedelta(days=days))


def test_withdraw_consent_again_withdraw_again_is_purged(consent_world, settings):
    """Point 1: the purge cancelled by a new consent is re-opened by the next withdrawal, and runs."""
    w, manager = consent_world, consent_world["users"]["manager"]
    settings.EARMARK_PURGE_GRACE_DAYS = 0
    services.consent_withdraw(consent_id=w["bob_consent"].id, actor=manager)
    again = services.consent_record(speaker=w["bob"], actor=manager, purposes=["store", "annotate"])
    assert purges_run_due()["recordings"] == 0  # usable again: the purge is cancelled
    assert RecordingPurge.objects.get(recording=w["b1"]).state == "cancelled"
    result = services.consent_withdraw(consent_id=again.id, actor=manager)
    assert result["purges_scheduled"] == 1
    assert RecordingPurge.objects.get(recording=w["b1"]).state == "pending"
    event = AuditEvent.objects.filter(action="consent.withdrawn", object_id=str(again.id)).get()
    assert event.data["purges_scheduled"] == 1
    assert purges_run_due()["recordings"] == 1
    assert not default_storage.exists(w["b1"].original_key)


def test_optout_everything_ends_every_live_record(consent_world, settings):
    """Point 2: a speaker with a renewal who withdraws "everything" through their link is really out."""
    w = consent_world
    settings.EARMARK_PURGE_GRACE_DAYS = 7
    renewal = services.consent_record(speaker=w["alice"], actor=w["users"]["manager"], purposes=["store", "annotate"])
    token = optout_token_make(consent=w["alice_consent"], actor=None)
    done = Client().post(f"/optout/{token}/", {"scope": "all", "step": "confirm"})
    assert done.status_code == 200
    assert ConsentRecord.objects.get(pk=renewal.id).status == "withdrawn"
    assert not {w["a1"].id, w["a2"].id} & _usable("store")
    due = RecordingPurge.objects.get(recording=w["a1"]).due_at
    assert f"by {due + timedelta(minutes=10):%d %B %Y}".encode() in done.content  # the real date, not "right away"
    assert b"right away" not in done.content
    api = w["users"]["manager"]
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(api)
    assert client.get(f"/api/v1/recordings/{w['a1'].id}/audio").status_code == 404


def test_manager_withdraw_everything_api(consent_world, api):
    w = consent_world
    services.consent_record(speaker=w["alice"], actor=w["users"]["manager"], purposes=["store"])
    response = api(w["users"]["manager"]).post(f"/api/v1/speakers/{w['alice'].id}/withdraw/", {}, format="json")
    assert response.status_code == 200, response.content
    assert len(response.json()["consent_ids"]) == 2 and response.json()["purges_scheduled"] == 2
    assert not {w["a1"].id, w["a2"].id} & _usable("store")
    again = api(w["users"]["manager"]).post(f"/api/v1/speakers/{w['alice'].id}/withdraw/", {}, format="json")
    assert again.status_code == 409 and "no consent left" in again.json()["detail"]
    assert api(w["users"]["annotator"]).post(f"/api/v1/speakers/{w['alice'].id}/withdraw/").status_code == 403


def test_later_withdrawal_or_shorter_grace_brings_the_purge_forward(consent_world, settings):
    """Point 3: the purge date is not frozen at the first withdrawal."""
    w, manager = consent_world, consent_world["users"]["manager"]
    settings.EARMARK_PURGE_GRACE_DAYS = 30
    services.consent_withdraw(consent_id=w["alice_consent"].id, actor=manager, recording_ids=[w["a1"].id])
    first = RecordingPurge.objects.get(recording=w["a1"]).due_at
    settings.EARMARK_PURGE_GRACE_DAYS = 2
    services.consent_withdraw(consent_id=w["alice_consent"].id, actor=manager)  # everything, with 2 days' grace
    assert RecordingPurge.objects.get(recording=w["a1"]).due_at < first - timedelta(days=27)
    settings.EARMARK_PURGE_GRACE_DAYS = 0  # a shorter grace applies to what is pending
    assert purges_run_due()["recordings"] == 2
    assert not default_storage.exists(w["a1"].original_key)


def test_longer_grace_never_postpones_a_pending_purge(consent_world, settings):
    w = consent_world
    settings.EARMARK_PURGE_GRACE_DAYS = 1
    services.consent_withdraw(consent_id=w["bob_consent"].id, actor=w["users"]["manager"])
    settings.EARMARK_PURGE_GRACE_DAYS = 30
    with _later(2):
        assert purges_run_due()["recordings"] == 1


def test_due_purges_run_now_by_api_command_and_page(consent_world, settings, api):
    w, manager = consent_world, consent_world["users"]["manager"]
    settings.EARMARK_PURGE_GRACE_DAYS = 0
    services.consent_withdraw(consent_id=w["alice_consent"].id, actor=manager, recording_ids=[w["a1"].id])
    response = api(manager).post(f"/api/v1/projects/{w['project'].id}/purges/run/")
    assert response.status_code == 200 and response.json() == {"recordings": 1, "speakers": 0, "still_pending": 0}
    assert api(w["users"]["annotator"]).post(f"/api/v1/projects/{w['project'].id}/purges/run/").status_code == 403
    services.consent_withdraw(consent_id=w["alice_consent"].id, actor=manager, recording_ids=[w["a2"].id])
    out = __import__("io").StringIO()
    call_command("purge_due", "--project", str(w["project"].id), stdout=out)
    assert "purged 1 recording(s)" in out.getvalue()
    assert not default_storage.exists(w["a2"].original_key)
    assert AuditEvent.objects.filter(action="purge.run_now").count() == 2


@pytest.fixture
def staff(make_user):
    client = Client()
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    return client


def _admin_change_speaker(staff, recording, speaker_id):
    data = {
        "project": recording.project_id,
        "speaker": speaker_id or "",
        "language": recording.language_id or "",
        "original_name": recording.original_name,
        "status": recording.status,
        "metadata": "{}",
        "_save": "Save",
    }
    return staff.post(f"/admin/catalog/recording/{recording.id}/change/", data)


def test_admin_cannot_give_a_withdrawn_recording_another_speaker(consent_world, staff, api):
    """Point 4: the admin goes through the consent-aware service; a withdrawal binds to the voice."""
    w = consent_world
    services.consent_withdraw(consent_id=w["alice_consent"].id, actor=w["users"]["manager"])
    response = _admin_change_speaker(staff, w["a1"], w["bob"].id)
    assert response.status_code == 200 and b"cannot be given another speaker" in response.content
    assert Recording.objects.get(pk=w["a1"].id).speaker_id == w["alice"].id
    assert api(w["users"]["manager"]).get(f"/api/v1/recordings/{w['a1'].id}/audio").status_code == 404
    assert _admin_change_speaker(staff, w["a1"], None).status_code == 200  # nor none at all
    assert w["a1"].id not in _usable("store")


def test_admin_speaker_change_of_a_clean_recording_is_audited(consent_world, staff):
    w = consent_world
    response = _admin_change_speaker(staff, w["a1"], w["bob"].id)
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert Recording.objects.get(pk=w["a1"].id).speaker_id == w["bob"].id
    event = AuditEvent.objects.get(action="recording.speaker_changed")
    assert event.data == {"from_speaker_id": w["alice"].id, "to_speaker_id": w["bob"].id, "storable": True}
