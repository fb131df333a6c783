"""Automatic QA: each check on a signal built to trip it, a clean signal tripping none, duplicates."""

import io

import numpy as np
import pytest

from apps.catalog.services import project_create, recording_ingest
from apps.review.models import QAResult, QASettings
from apps.review.selectors import qa_excluded_recording_ids, recordings_exclude_qa_flagged
from apps.review.services import qa_on_processed
from tests.review.audio import SR, encode, speech_like

pytestmark = pytest.mark.django_db


def _ingest(project, data: bytes, name="clip.wav"):
    result = recording_ingest(project=project, fileobj=io.BytesIO(data), name=name)
    assert result.status == "accepted", result.message
    return result.recording_id


@pytest.fixture
def project(make_user):
    project = project_create(name="QA", created_by=make_user("qa-manager"))
    QASettings.objects.create(
        project=project, expected_sample_rate=SR, expected_channels=1, min_duration=1.0, max_duration=30.0
    )
    return project


def _qa(project, y, sr=SR, name="clip.wav"):
    result = qa_on_processed(recording_id=_ingest(project, encode(y, sr), name))
    assert result is not None
    return result


def test_clean_speech_like_signal_trips_no_check(project):
    result = _qa(project, speech_like())
    assert result.flag_list == []
    assert result.flagged is False
    assert result.snr_db > 30 and -40 < result.loudness_lufs < -10
    assert result.fingerprint  # stored for near-duplicate search


CASES = {
    "clipping": lambda: np.clip(speech_like() * 6, -1, 1),
    "silence": lambda: np.concatenate([speech_like(0.5), np.zeros(SR * 4)]),
    "low_snr": lambda: speech_like(noise=0.08),
    "dc_offset": lambda: speech_like() + 0.05,
    "loudness": lambda: speech_like(noise=3e-6, level=0.0004),
    "duration": lambda: speech_like(0.6),
}


@pytest.mark.parametrize("flag", sorted(CASES))
def test_each_signal_check_trips_on_audio_built_for_it(project, flag):
    result = _qa(project, CASES[flag](), name=f"{flag}.wav")
    assert flag in result.flag_list
    assert result.flagged
    assert QAResult.objects.filter(flags__contains=f",{flag},").count() == 1


def test_sample_rate_and_channel_mismatch_against_project_settings(project):
    assert "sample_rate" in _qa(project, speech_like(sr=22050), sr=22050, name="rate.wav").flag_list
    stereo = np.stack([speech_like(seed=1), speech_like(seed=2)])
    assert "channels" in _qa(project, stereo, name="stereo.wav").flag_list


def test_checks_without_expectations_do_not_trip(make_user):
    project = project_create(name="no expectations", created_by=make_user("m2"))
    result = _qa(project, speech_like(sr=22050), sr=22050)
    assert "sample_rate" not in result.flag_list and "duration" not in result.flag_list


def test_exact_duplicate_across_projects(project, make_user):
    other = project_create(name="other", created_by=make_user("m3"))
    data = encode(speech_like(seed=5))
    first = qa_on_processed(recording_id=_ingest(other, data))
    second = qa_on_processed(recording_id=_ingest(project, data))
    assert "duplicate" not in first.flag_list
    assert "duplicate" in second.flag_list and second.duplicate_of_id == first.recording_id


@pytest.mark.parametrize("variant", ["mp3", "ogg", "gain", "gain+mp3"])
def test_near_duplicate_found_across_reencoding_and_gain(project, variant):
    y = speech_like(6.0, seed=11)
    original = _qa(project, y, name="orig.wav")
    if variant == "mp3":
        data = encode(y, fmt="MP3", subtype=None)
    elif variant == "ogg":
        data = encode(y, fmt="OGG", subtype="VORBIS")
    elif variant == "gain":
        data = encode(y * 0.4)
    else:
        data = encode(y * 1.8, fmt="MP3", subtype=None)
    copy = qa_on_processed(recording_id=_ingest(project, data, name=f"copy.{variant}"))
    assert "near_duplicate" in copy.flag_list
    assert copy.near_duplicate_of_id == original.recording_id
    assert copy.near_duplicate_similarity >= 0.3


def test_different_audio_of_same_length_is_not_a_near_duplicate(project):
    _qa(project, speech_like(6.0, seed=11), name="a.wav")
    other = _qa(project, speech_like(6.0, seed=12), name="b.wav")
    assert "near_duplicate" not in other.flag_list
    assert other.near_duplicate_of_id is None


def test_rerun_keeps_acceptance_and_replaces_measurements(project, make_user):
    from apps.review.services import qa_result_accept

    result = _qa(project, speech_like() + 0.05)
    qa_result_accept(result=result, user=make_user("boss"), note="DC is fine for this corpus")
    again = qa_on_processed(recording_id=result.recording_id)
    assert again.accepted_note == "DC is fine for this corpus" and "dc_offset" in again.flag_list
    assert QAResult.objects.count() == 1


def test_excluded_selector_honours_acceptance_and_project_setting(project, make_user):
    from apps.consent.selectors import recordings_usable

    clean = _qa(project, speech_like(seed=3), name="clean.wav")
    bad = _qa(project, speech_like(seed=4) + 0.05, name="dc.wav")
    assert list(qa_excluded_recording_ids(project_id=project.id)) == [bad.recording_id]
    usable = recordings_exclude_qa_flagged(recordings_usable(None, "annotate"))
    assert set(usable.values_list("id", flat=True)) == {clean.recording_id}

    QASettings.objects.filter(project=project).update(exclude_flagged=False)
    assert list(qa_excluded_recording_ids(project_id=project.id)) == []
    QASettings.objects.filter(project=project).update(exclude_flagged=True)

    from apps.review.services import qa_result_accept

    qa_result_accept(result=bad, user=make_user("boss"), note="ok")
    assert list(qa_excluded_recording_ids(project_id=project.id)) == []


def test_unusable_recording_is_skipped(project):
    assert qa_on_processed(recording_id=999999) is None
    assert QAResult.objects.count() == 0


def test_unreadable_original_is_flagged_not_raised(project, _media_storage):
    rid = _ingest(project, encode(speech_like()))
    for path in _media_storage.rglob("*.wav"):
        path.write_bytes(b"not audio at all")
    result = qa_on_processed(recording_id=rid)
    assert result.flag_list == ["unreadable"] and "could not be read" in result.error
