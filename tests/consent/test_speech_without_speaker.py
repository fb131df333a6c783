"""Speech without a speaker (issue 12, point 5): a speakerless recording in which Silero VAD finds speech is
held until a manager confirms, audited, that no identifiable voice is in it (or names a speaker); a
speakerless recording of tones stays usable. Runs the real processing pipeline."""

import subprocess

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from apps.consent.models import AuditEvent, SpeechCheck
from apps.consent.selectors import recordings_usable
from tests.conftest import make_audio

pytestmark = pytest.mark.django_db


def _speakerless(project, data, n):
    from tests.catalog.factories import RecordingFactory

    rec = RecordingFactory(project=project, speaker=None, sha256=f"{n:064x}", bytes=len(data))
    default_storage.save(rec.original_key, ContentFile(data))
    return rec


def _process(recording, capture):
    from apps.processing.services import recording_queue_processing

    with capture(execute=True):
        recording_queue_processing(recording=recording)


def test_speech_without_a_speaker_is_held_until_a_manager_confirms(
    project_with_roles, api, tmp_path, django_capture_on_commit_callbacks
):
    from apps.processing.models import Artifact

    project, users = project_with_roles
    path = tmp_path / "speech.wav"
    subprocess.run(
        ["espeak-ng", "-v", "en", "-w", str(path), "My name is Alice and I live at number twelve."], check=True
    )
    speech = _speakerless(project, path.read_bytes(), 0xA11CE)
    tones = _speakerless(project, make_audio(seconds=2.0, seed=5), 0x70E5)
    _process(speech, django_capture_on_commit_callbacks)
    _process(tones, django_capture_on_commit_callbacks)
    assert SpeechCheck.objects.get(recording=speech).state == "held"
    assert SpeechCheck.objects.get(recording=tones).state == "clear"
    usable = set(recordings_usable(None, "store").values_list("id", flat=True))
    assert speech.id not in usable and tones.id in usable
    assert Artifact.objects.filter(source_sha256=speech.sha256, kind="voice_activity").exists()
    manager = api(users["manager"])
    assert manager.get(f"/api/v1/recordings/{speech.id}/").status_code == 404
    assert AuditEvent.objects.filter(action="recording.speech_held", object_id=str(speech.id)).exists()
    refused = api(users["annotator"]).post(f"/api/v1/recordings/{speech.id}/speech-confirm/")
    assert refused.status_code == 403
    not_held = manager.post(f"/api/v1/recordings/{tones.id}/speech-confirm/")
    assert not_held.status_code == 409 and "not held" in not_held.json()["detail"]
    confirmed = manager.post(f"/api/v1/recordings/{speech.id}/speech-confirm/")
    assert confirmed.status_code == 200 and confirmed.json() == {"state": "confirmed"}
    assert manager.get(f"/api/v1/recordings/{speech.id}/").status_code == 200
    event = AuditEvent.objects.get(action="recording.speech_confirmed_no_voice")
    assert event.actor_id == users["manager"].id and event.object_id == str(speech.id)
