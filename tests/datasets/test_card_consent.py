"""Issue 12, point 5: the data card calls speakerless recordings "no voice data" only when the speech detector
says so, and states how many of them it checked and its verdicts."""

import pytest

from apps.datasets.formats.card import render_data_card
from tests.datasets.conftest import annotate, stored_recording
from tests.datasets.test_release_build import build


def test_card_without_verdicts_does_not_promise_no_voice():
    card = render_data_card({"consent_purposes": ["store", "train_models"], "splits": {}})
    assert "no voice data" not in card
    assert "may contain voices" in card


def test_card_of_speakers_only_says_so():
    card = render_data_card({"splits": {}, "speakerless": {"clear": 0, "confirmed": 0, "held": 0, "unchecked": 0}})
    assert "Every recording in this release names a speaker." in card and "no voice data" not in card


@pytest.mark.django_db
def test_release_card_reports_the_detector_verdicts_on_speakerless_recordings(corpus):
    from apps.consent.models import SpeechCheck
    from apps.consent.services.speech import recording_speech_check

    project, users = corpus["project"], corpus["users"]
    label = corpus["labels"]["dog"]
    speakerless = []
    for seed in (101, 102, 103):
        rec, _ = stored_recording(project, None, seed=seed)
        annotate(rec, users["annotator"], [(0.25, 0.75, label, "")])
        speakerless.append(rec)
    clear, confirmed, unchecked = speakerless
    assert recording_speech_check(recording_id=clear.id, speech_seconds=0.0, max_probability=0.1) == "clear"
    assert recording_speech_check(recording_id=confirmed.id, speech_seconds=3.0, max_probability=0.9) == "held"
    from apps.consent.services.speech import recording_speech_confirm

    recording_speech_confirm(recording_id=confirmed.id, actor=users["manager"])
    card = build(corpus, unit="recording", formats=["jsonl"]).data_card
    assert "3 recording(s) name no speaker" in card and "checked 2 of them" in card
    assert "| no speech detected (no voice data) | 1 |" in card
    assert "| speech detected; a manager confirmed no identifiable voice | 1 |" in card
    assert "| not checked (may contain voices) | 1 |" in card
    assert "Only the 1 in which the detector found no speech count as no voice data" in card

    # once the detector has cleared every one of them, and only then, the card calls them all no voice data
    SpeechCheck.objects.filter(recording__in=[confirmed, unchecked]).delete()
    for rec in (confirmed, unchecked):
        recording_speech_check(recording_id=rec.id, speech_seconds=0.0, max_probability=0.05)
    card = build(corpus, unit="recording", formats=["jsonl"]).data_card
    assert "checked 3 of them" in card and "All of them are no voice data" in card
