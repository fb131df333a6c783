"""Serving (issue 12, point 9): every response with a recording's audio or derived data is audited, whatever
its Range header, and none may be cached."""

import pytest

from apps.consent.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "header, status, start, end",
    [
        (None, 200, None, None),
        ("bytes=0-99", 206, 0, 99),
        ("bytes=-99999999", 206, 0, "last"),
        ("bytes=100-", 206, 100, "last"),
        ("bytes=-10", 206, "size-10", "last"),
    ],
)
def test_every_audio_response_is_audited_and_never_cached(consent_world, api, header, status, start, end):
    w = consent_world
    size = len(w["bytes"][w["a1"].id])
    client = api(w["users"]["manager"])  # annotators stream only their own queue's recordings (issue 13)
    response = client.get(f"/api/v1/recordings/{w['a1'].id}/audio", **({"HTTP_RANGE": header} if header else {}))
    assert response.status_code == status
    assert response["Cache-Control"] == "private, no-store"
    event = AuditEvent.objects.get(action="recording.served")
    assert event.object_id == str(w["a1"].id) and event.actor_id == w["users"]["manager"].id
    assert event.project_id == w["project"].id and event.data["route"] == "recording-audio"
    if start is not None:
        assert event.data["range_start"] == (size - 10 if start == "size-10" else start)
        assert event.data["range_end"] == (size - 1 if end == "last" else end) and event.data["size"] == size


def test_refused_and_missing_recordings_are_not_audited_but_still_no_store(consent_world, api):
    w = consent_world
    from apps.consent import services

    services.consent_withdraw(consent_id=w["alice_consent"].id, actor=w["users"]["manager"])
    response = api(w["users"]["manager"]).get(f"/api/v1/recordings/{w['a1'].id}/audio", HTTP_RANGE="bytes=-99")
    assert response.status_code == 404 and response["Cache-Control"] == "private, no-store"
    assert not AuditEvent.objects.filter(action="recording.served").exists()


def test_pages_and_api_lists_are_not_cached(consent_world, api):
    w = consent_world
    response = api(w["users"]["manager"]).get(f"/api/v1/projects/{w['project'].id}/recordings/")
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
