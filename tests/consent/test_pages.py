"""The manager's consent page and the opt-out page over the Django test client."""

import pytest
from django.test import Client

from apps.catalog.models import Speaker, SpeakerIdentity
from apps.consent import services
from apps.consent.models import AuditEvent, ConsentRecord

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_consent_page_is_for_managers_only(consent_world):
    w = consent_world
    url = f"/projects/{w['project'].id}/consent/"
    page = _client(w["users"]["manager"]).get(url)
    assert page.status_code == 200 and b"alice-code" in page.content
    assert _client(w["users"]["annotator"]).get(url).status_code == 404
    assert Client().get(url).status_code == 302  # to the login page


def test_manager_adds_speaker_with_consent_in_one_step(consent_world):
    w = consent_world
    response = _client(w["users"]["manager"]).post(
        f"/projects/{w['project'].id}/consent/",
        {
            "action": "add",
            "code": "dora",
            "full_name": "Dora D",
            "email": "d@example.org",
            "purposes": ["store", "annotate"],
        },
    )
    assert response.status_code == 302
    speaker = Speaker.objects.get(code="dora")
    assert SpeakerIdentity.objects.get(speaker=speaker).full_name == "Dora D"
    assert ConsentRecord.objects.get(speaker=speaker).purposes == ["store", "annotate"]


def test_adding_without_purposes_or_with_bad_evidence_leaves_nothing(consent_world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    w = consent_world
    client = _client(w["users"]["manager"])
    url = f"/projects/{w['project'].id}/consent/"
    response = client.post(url, {"action": "add", "code": "eve"})
    assert response.status_code == 400 and b"Tick at least one purpose" in response.content
    response = client.post(
        url,
        {
            "action": "add",
            "code": "eve",
            "full_name": "Eve E",
            "purposes": ["store"],
            "evidence": SimpleUploadedFile("x.txt", b"plain text"),
        },
    )
    assert response.status_code == 400 and b"evidence must be" in response.content
    assert not Speaker.objects.filter(code="eve").exists()
    assert not SpeakerIdentity.objects.filter(full_name="Eve E").exists()


def test_manager_creates_a_link_that_opens_the_optout_page(consent_world):
    w = consent_world
    page = _client(w["users"]["manager"]).post(
        f"/projects/{w['project'].id}/consent/", {"action": "link", "consent": w["bob_consent"].id}
    )
    assert page.status_code == 200
    link = page.context["link"]
    assert "/optout/" in link
    public = Client().get(link.split("testserver", 1)[1])
    assert public.status_code == 200 and b"What happens if you withdraw" in public.content
    assert f"Recording {w['b1'].id}".encode() in public.content
    assert f"Recording {w['a1'].id}".encode() not in public.content  # only this speaker's recordings


def test_manager_withdraws_from_the_page(consent_world):
    w = consent_world
    client = _client(w["users"]["manager"])
    url = f"/projects/{w['project'].id}/consent/"
    asked = client.post(url, {"action": "withdraw", "consent": w["bob_consent"].id})
    assert asked.status_code == 200 and b"Please confirm" in asked.content
    assert ConsentRecord.objects.get(pk=w["bob_consent"].id).status == "granted"  # nothing on the first click
    response = client.post(url, {"action": "withdraw", "consent": w["bob_consent"].id, "confirm": "yes"}, follow=True)
    assert ConsentRecord.objects.get(pk=w["bob_consent"].id).status == "withdrawn"
    assert b"Consent %d of speaker bob-code withdrawn" % w["bob_consent"].id in response.content
    assert b"scheduled for deletion" in response.content


@pytest.mark.parametrize(
    "action, extra, question, done",
    [
        ("withdraw_all", {}, b"Withdraw every consent of speaker alice-code?", b"Withdrew 2 consent record(s)"),
        ("withdraw_recording", {"recording": "A1"}, b"Withdraw recording", b"withdrawn. Excluded from use at once"),
        ("purge_now", {}, b"Run the purges that are due now", b"Purged 0 recording(s)"),
    ],
)
def test_destructive_manager_actions_confirm_then_report(consent_world, action, extra, question, done):
    w = consent_world
    services.consent_record(speaker=w["alice"], actor=w["users"]["manager"], purposes=["store"])  # a renewal
    client = _client(w["users"]["manager"])
    url = f"/projects/{w['project'].id}/consent/"
    data = {
        "action": action,
        "speaker": w["alice"].id,
        **{k: str(w["a1"].id) if v == "A1" else v for k, v in extra.items()},
    }
    before = AuditEvent.objects.count()
    asked = client.post(url, data)
    assert asked.status_code == 200 and question in asked.content
    assert AuditEvent.objects.count() == before  # the first click changes nothing
    response = client.post(url, {**data, "confirm": "yes"}, follow=True)
    assert response.status_code == 200 and done in response.content, response.content.decode()[-3000:]
    assert AuditEvent.objects.count() > before


def test_optout_post_needs_confirmation_step(consent_world):
    from apps.consent.services.optout import optout_token_make

    w = consent_world
    token = optout_token_make(consent=w["bob_consent"], actor=None)
    client = Client()
    review = client.post(f"/optout/{token}/", {"scope": "all", "step": "review"})
    assert review.status_code == 200 and b"Please confirm" in review.content
    assert ConsentRecord.objects.get(pk=w["bob_consent"].id).status == "granted"
    done = client.post(f"/optout/{token}/", {"scope": "all", "step": "confirm"})
    assert done.status_code == 200 and b"your choice is recorded" in done.content
    assert ConsentRecord.objects.get(pk=w["bob_consent"].id).status == "withdrawn"
