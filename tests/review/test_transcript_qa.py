"""Transcript QA: flags beside the audio QA, computed from stored alignments and drafts; the review queue sorts
by them; the list shows them to reviewers only and never for withdrawn recordings."""

from __future__ import annotations

import pytest
from django.utils import timezone

from apps.annotation.models import Annotation, Region, TranscriptAlignment, TranscriptDraft
from apps.annotation.selectors import text_sha256
from apps.consent.models import ConsentRecord
from apps.consent.services.withdrawal import consent_withdraw
from apps.processing.dsp import transcript_qa as tq
from apps.review import metrics
from apps.review.models import TranscriptQA
from apps.review.services import annotation_transcript_qa, review_next
from tests.catalog.factories import LanguageFactory, RecordingFactory, SpeakerFactory

NORMAL = [
    "please call me tomorrow morning",
    "the cat sat on the mat today",
    "seven green apples under water",
    "we will meet at the station",
    "open the window before dinner",
    "my brother likes fresh bread",
    "the train leaves at nine sharp",
    "she bought a small red car",
    "turn left at the next corner",
    "the weather is cold today here",
]


@pytest.fixture
def transcribed(project_with_roles):
    """make(text, score=..., status=..., draft=...) → a submitted annotation of a 3-second English recording."""
    project, users = project_with_roles
    speaker = SpeakerFactory(project=project)
    english = LanguageFactory(tag="en")

    def make(text, *, score=-1.0, status="aligned", draft=None, seconds=3.0, who=None, coverage=0.97):
        rec = RecordingFactory(project=project, speaker=who or speaker, language=english, duration=seconds)
        ann = Annotation.objects.create(
            project=project,
            recording=rec,
            annotator=users["annotator"],
            status="submitted",
            version=2,
            submitted_at=timezone.now(),
        )
        Region.objects.create(annotation=ann, uid="a", start=0.0, end=seconds, text=text)
        if text.strip():
            TranscriptAlignment.objects.create(
                recording=rec,
                start=0.0,
                end=seconds,
                text_sha256=text_sha256(text),
                status=status,
                words=[[w, 0.1, 0.2, score] for w in text.split()] if status == "aligned" else [],
                score=score if status == "aligned" else None,
                coverage=coverage if status == "aligned" else None,
            )
        if draft is not None:
            TranscriptDraft.objects.create(
                recording=rec,
                start=0.0,
                end=seconds,
                text=draft,
                engine="test",
                engine_version="1",
                language="en",
                words=[[w, 0.1 + i * 0.3, 0.3 + i * 0.3, -1.0] for i, w in enumerate(draft.split())],
            )
        annotation_transcript_qa(annotation_id=ann.id)
        return ann

    for i, text in enumerate(NORMAL):
        make(text, score=-1.0 - 0.02 * i)
    return project, users, make


def flags_of(ann) -> list[str]:
    return TranscriptQA.objects.get(annotation=ann).flag_list


def test_each_check_flags_its_own_fault_and_normal_transcripts_stay_clean(transcribed):
    project, users, make = transcribed
    assert not TranscriptQA.objects.exclude(flags="").exists()  # the ten normal ones
    assert flags_of(make("the dog sat near the door", score=-4.0)) == ["transcript_alignment_low"]
    assert flags_of(make("the dog sat by the door", coverage=0.5)) == ["transcript_alignment_low"]  # words missing
    assert flags_of(make("please call zzqxv tomorrow", status="failed")) == ["transcript_alignment_failed"]
    assert "transcript_script" in flags_of(make("мой брат любит свежий хлеб", status="failed"))
    assert flags_of(make("   ")) == ["transcript_empty"]
    too_fast = "the quick brown fox jumps over the lazy dog and runs far away into the deep dark forest again"
    assert flags_of(make(too_fast, score=-1.05)) == ["transcript_rate"]
    assert flags_of(make("cat", score=-1.05)) == ["transcript_rate"]
    wrong = make("one two three four five", score=-1.05, draft="please call me tomorrow morning")
    assert flags_of(wrong) == ["transcript_draft_wer"]
    measures = TranscriptQA.objects.get(annotation=wrong).measures
    assert measures["draft_wer"] == 1.0 and measures["chars_per_second"] == pytest.approx(19 / 3, abs=0.01)


def test_one_text_on_different_audio_flags_both_and_a_project_can_turn_it_off(transcribed):
    project, users, make = transcribed
    first = Annotation.objects.filter(project=project).order_by("id").first()
    copy = make(NORMAL[0], score=-1.0)
    assert flags_of(copy) == ["transcript_duplicate"] and flags_of(first) == ["transcript_duplicate"]
    from apps.review.models import QASettings

    QASettings.objects.update_or_create(project=project, defaults={"transcript_duplicates": False})
    assert flags_of(make(NORMAL[1], score=-1.0)) == []


def test_rates_compare_with_the_speakers_own_range_too(transcribed):
    project, users, make = transcribed
    slow = SpeakerFactory(project=project)
    slow_ones = [make(f"word{i} ok", seconds=2.4, who=slow, score=-1.0) for i in range(8)]  # 2.5 letters/s
    assert "transcript_rate" in flags_of(slow_ones[0])  # against the project's 8-9 while the speaker has no range
    for ann in slow_ones:
        annotation_transcript_qa(annotation_id=ann.id)
    assert all(flags_of(ann) == [] for ann in slow_ones)  # normal for this speaker
    normal_for_project = make("we meet at the old mill at noon", who=slow, score=-1.0)
    assert flags_of(normal_for_project) == ["transcript_rate"]  # outside this speaker's range


def test_reviewers_queue_sorts_by_transcript_flags_on_request(transcribed, api):
    project, users, make = transcribed
    worst = make("мой брат любит хлеб", status="failed")
    client = api(users["reviewer"])
    oldest = client.post(f"/api/v1/projects/{project.id}/review/next/").json()
    assert oldest["annotation"]["id"] != worst.id and oldest["transcript_qa"]["flags"] == []
    other = api(users["manager"])
    flagged = other.post(f"/api/v1/projects/{project.id}/review/next/?order=transcript_flags").json()
    assert flagged["annotation"]["id"] == worst.id
    assert flagged["transcript_qa"]["flags"] == ["transcript_script", "transcript_alignment_failed"]
    bad = other.post(f"/api/v1/projects/{project.id}/review/next/?order=loudest")
    assert bad.status_code == 400 and "order" in bad.json()["detail"]
    assert review_next(project_id=project.id, user=users["manager"], order="transcript_flags").id == worst.id


def test_the_list_shows_flags_to_reviewers_most_first_and_never_withdrawn_audio(transcribed, api):
    project, users, make = transcribed
    worst = make("мой брат любит хлеб", status="failed")
    low = make("the dog sat near the door", score=-4.0)
    url = f"/api/v1/projects/{project.id}/qa/transcripts/"
    body = api(users["reviewer"]).get(url).json()["results"]
    assert [r["annotation"] for r in body[:2]] == [worst.id, low.id]
    only = api(users["reviewer"]).get(url + "?flag=transcript_alignment_low").json()["results"]
    assert [r["annotation"] for r in only] == [low.id]
    bad = api(users["reviewer"]).get(url + "?flag=loud")
    assert bad.status_code == 400 and "Unknown transcript QA flag" in bad.json()["detail"]
    assert api(users["annotator"]).get(url).status_code == 403
    consent_withdraw(
        consent_id=ConsentRecord.objects.get(speaker=low.recording.speaker).id,
        actor=users["manager"],
        recording_ids=[low.recording_id],
    )
    assert low.id not in [r["annotation"] for r in api(users["reviewer"]).get(url).json()["results"]]


def test_text_transforms_are_a_project_setting_checked_by_name(project_with_roles, api):
    project, users = project_with_roles
    url = f"/api/v1/projects/{project.id}/qa/settings/"
    client = api(users["manager"])
    assert client.get(url).json()["text_transforms"] == list(tq.DEFAULT_TRANSFORMS)
    bad = client.put(url, {"text_transforms": ["lowercase", "shout"]}, format="json")
    assert bad.status_code == 400 and "shout" in str(bad.json())
    assert client.get(url).json()["text_transforms"] == list(tq.DEFAULT_TRANSFORMS)  # nothing half-written
    ok = client.put(url, {"text_transforms": ["lowercase", "strip"]}, format="json")
    assert ok.status_code == 200 and ok.json()["text_transforms"] == ["lowercase", "strip"]


def test_scripts_rates_and_ranges_on_plain_values():
    assert tq.foreign_script_share("hello мир", "en") == pytest.approx(3 / 8)
    assert tq.foreign_script_share("привет", "ru-RU") == 0.0
    assert tq.foreign_script_share("hello", "xx") is None
    assert tq.normal_range([1.0] * 7, 3.5) is None
    low, high = tq.normal_range([10.0] * 9 + [100.0], 3.5)
    assert low < 10.0 < high < 100.0
    assert tq.word_error_rate("Hello, World!", "hello world") == 0.0
    assert tq.word_error_rate("Hello, World!", "hello world", ("lowercase",)) == 1.0
    assert metrics.transcript_error("Hello, World!", "hello world", ("lowercase", "remove_punctuation"))["wer"] == 0.0
    assert metrics.transcript_error("Hello, World!", "hello world", ("lowercase",))["wer"] == 1.0
