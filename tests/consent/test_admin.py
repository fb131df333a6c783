"""Admin: the audit log is read-only; the withdraw action goes through the service."""

import pytest
from django.test import Client

from apps.consent.models import AuditEvent, ConsentRecord
from apps.consent.services import audit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(make_user):
    client = Client()
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    return client


def test_audit_events_cannot_be_changed_or_deleted_in_the_admin(staff):
    event = audit_record(actor=None, action="x.y", object_type="thing", object_id=7)
    assert staff.get("/admin/consent/auditevent/").status_code == 200
    assert staff.post(f"/admin/consent/auditevent/{event.id}/change/", {"action": "changed"}).status_code == 403
    assert staff.post(f"/admin/consent/auditevent/{event.id}/delete/", {"post": "yes"}).status_code == 403
    assert staff.get("/admin/consent/auditevent/add/").status_code == 403
    assert AuditEvent.objects.get(pk=event.id).action == "x.y"


def test_admin_withdraw_action_asks_first_then_calls_the_service(staff, consent_world):
    w = consent_world
    form = {"action": "withdraw_selected", "_selected_action": [w["bob_consent"].id]}
    ask = staff.post("/admin/consent/consentrecord/", form)
    assert ask.status_code == 200 and b"Withdraw every purpose of these 1 consent(s)?" in ask.content
    assert b"speaker bob-code" in ask.content
    assert ConsentRecord.objects.get(pk=w["bob_consent"].id).status == "granted"  # nothing happened yet
    response = staff.post("/admin/consent/consentrecord/", {**form, "post": "yes"}, follow=True)
    assert b"1 consent(s) withdrawn" in response.content
    assert ConsentRecord.objects.get(pk=w["bob_consent"].id).status == "withdrawn"
    assert AuditEvent.objects.filter(action="consent.withdrawn", object_id=str(w["bob_consent"].id)).exists()
