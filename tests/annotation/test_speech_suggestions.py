"""Issue 12: Silero VAD's speech regions serve the annotator as suggestions in place of the energy detector's
segments where it hears speech. Processing stores them for every recording (not only speakerless ones) and
the features API serves them, behind the same consent rule as every other artifact."""

import io

import pytest

from tests.annotation.speech_audio import speech_between_tones
from tests.catalog.factories import SpeakerFactory

pytestmark = pytest.mark.django_db


def test_speech_regions_are_stored_and_served_for_a_named_speakers_recording(
    api, project_with_roles, django_capture_on_commit_callbacks
):
    from apps.catalog.services import recording_ingest
    from apps.consent import services as consent_services

    project, users = project_with_roles
    speaker = SpeakerFactory(project=project, code="talker")
    data, (speech_start, speech_end) = speech_between_tones()
    with django_capture_on_commit_callbacks(execute=True):  # processing runs eagerly on commit
        result = recording_ingest(project=project, fileobj=io.BytesIO(data), name="fox.wav", speaker_code="talker")
    assert result.status == "accepted", result.message
    client = api(users["manager"])
    rid = result.recording_id
    energy = client.get(f"/api/v1/recordings/{rid}/features/voiced_segments").json()["segments"]
    speech = client.get(f"/api/v1/recordings/{rid}/features/voice_activity")
    assert speech.status_code == 200, speech.content
    regions = speech.json()["regions"]
    assert regions, "Silero VAD heard no speech in espeak-ng's sentence"
    # the speech detector's regions lie on the speech; the energy detector also marks both tone bursts
    assert all(speech_start - 0.3 <= r["start"] < r["end"] <= speech_end + 0.3 for r in regions)
    assert all(0.5 <= r["probability"] <= 1.0 for r in regions)
    assert any(end <= 1.2 for _, end in energy) and any(start >= speech_end + 0.5 for start, _ in energy)

    consent_services.speaker_withdraw_everything(speaker_id=speaker.id, actor=users["manager"])
    assert client.get(f"/api/v1/recordings/{rid}/features/voice_activity").status_code == 404
