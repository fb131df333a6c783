"""Issue 12, points 5 and 6 on the manager's page: a speakerless recording held because the detector heard speech
is listed on the consent page; "Confirm no identifiable voice" asks first, then says what it did and writes an
audit event; naming a speaker hands the decision to that speaker's consent. Another project's recording is
out of reach."""

import pytest
from django.test import Client

from apps.consent.models import AuditEvent, SpeechCheck
from apps.consent.selectors import recording_is_usable
from apps.consent.services.speech import recording_speech_check
from tests.catalog.factories import RecordingFactory, SpeakerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(project_with_roles):
    project, users = project_with_roles
    recording = RecordingFactory(project=project, speaker=None, original_name="street.wav")
    assert recording_speech_check(recording_id=recording.id, speech_seconds=4.2, max_probability=0.97) == "held"
    page = Client()
    page.force_login(users["manager"])
    return project, users, recording, page


def test_manager_confirms_no_identifiable_voice_after_a_confirmation_step(held):
    project, users, recording, page = held
    url = f"/projects/{project.id}/consent/"
    listing = page.get(url)
    assert b"Held: speech detected, no speaker named" in listing.content
    assert f'data-testid="speech-confirm-{recording.id}"'.encode() in listing.content
    assert not recording_is_usable(None, "store", recording.id)

    ask = page.post(url, {"action": "speech_confirm", "recording": recording.id})
    assert ask.status_code == 200 and b"Please confirm" in ask.content
    assert b"holds no identifiable voice" in ask.content and b"4.2 s" in ask.content
    assert SpeechCheck.objects.get(recording=recording).state == "held"  # nothing changed yet
    assert not AuditEvent.objects.filter(action="recording.speech_confirmed_no_voice").exists()

    done = page.post(url, {"action": "speech_confirm", "recording": recording.id, "confirm": "yes"}, follow=True)
    assert f"Recording {recording.id}: you confirmed it holds no identifiable voice".encode() in done.content
    assert SpeechCheck.objects.get(recording=recording).state == "confirmed"
    assert recording_is_usable(None, "store", recording.id)
    event = AuditEvent.objects.get(action="recording.speech_confirmed_no_voice", object_id=str(recording.id))
    assert event.actor_id == users["manager"].id
    assert f'data-testid="speech-confirm-{recording.id}"'.encode() not in done.content  # no longer listed
    assert b"A manager confirmed it holds no identifiable voice" in page.get(f"/recordings/{recording.id}/").content

    again = page.post(url, {"action": "speech_confirm", "recording": recording.id, "confirm": "yes"})
    assert again.status_code == 404 and b"is not held for speech" in again.content


def test_naming_a_speaker_hands_the_decision_to_their_consent(held):
    project, users, recording, page = held
    consenting = SpeakerFactory(project=project, code="named-one")  # the factory records consent to everything
    url = f"/projects/{project.id}/consent/"
    done = page.post(
        url, {"action": "speech_speaker", "recording": recording.id, "speaker": consenting.id}, follow=True
    )
    assert b"now names speaker named-one: their consent covers it, so it is usable now." in done.content
    recording.refresh_from_db()
    assert recording.speaker_id == consenting.id and recording_is_usable(None, "store", recording.id)
    assert AuditEvent.objects.filter(action="recording.speaker_changed", object_id=str(recording.id)).exists()


def test_another_projects_held_recording_is_out_of_reach(held, make_user):
    from apps.catalog.services import project_create

    project, users, recording, _ = held
    other_manager = make_user("other-manager")
    other = project_create(name="Other", created_by=other_manager)
    page = Client()
    page.force_login(other_manager)
    for confirm in ("", "yes"):
        response = page.post(
            f"/projects/{other.id}/consent/",
            {"action": "speech_confirm", "recording": recording.id, "confirm": confirm},
        )
        assert response.status_code == 404
    assert SpeechCheck.objects.get(recording=recording).state == "held"
