"""Word timings: submitted and accepted transcripts are force-aligned on a worker for usable recordings only."""

from __future__ import annotations

import pytest

from apps.annotation.models import AlignmentStatus, TranscriptAlignment
from apps.annotation.tasks import transcript_align_task
from apps.consent.models import ConsentRecord
from apps.consent.services.withdrawal import consent_withdraw
from apps.review.models import TranscriptQA
from tests.annotation.conftest import SENTENCE


def _submit(client, project, text: str, *, capture):
    ann = client.post(f"/api/v1/projects/{project.id}/queue/next/").json()["annotation"]
    rec_id = ann["recording"] if isinstance(ann["recording"], int) else ann["recording"]["id"]
    from apps.catalog.models import Recording

    duration = Recording.objects.get(pk=rec_id).duration
    region = {"id": "w1", "start": 0.0, "end": round(duration, 3), "channel": None, "label": None, "text": text}
    saved = client.put(
        f"/api/v1/annotations/{ann['id']}/",
        {"version": ann["version"], "regions": [region], "clip_labels": []},
        format="json",
    )
    assert saved.status_code == 200, saved.content
    with capture(execute=True):
        submitted = client.post(f"/api/v1/annotations/{ann['id']}/submit/", {"version": saved.json()["version"]})
    assert submitted.status_code == 200, submitted.content
    return ann["id"], rec_id


@pytest.fixture
def aligned(drafting, api, django_capture_on_commit_callbacks):
    project, users, recording = drafting

    def make(text=SENTENCE, language="en-US"):
        recording(language=language)
        return _submit(api(users["annotator"]), project, text, capture=django_capture_on_commit_callbacks)

    return project, users, make


def test_a_submitted_transcript_gets_word_timings_that_the_api_shows(aligned, api):
    project, users, make = aligned
    annotation_id, rec_id = make()
    row = TranscriptAlignment.objects.get(recording_id=rec_id)
    assert row.status == AlignmentStatus.ALIGNED and row.engine == "pocketsphinx"
    assert [w[0] for w in row.words] == SENTENCE.split()
    assert row.coverage > 0.8 and row.score < 0  # the words cover the speech
    qa = TranscriptQA.objects.get(annotation_id=annotation_id)  # review heard TRANSCRIPT_ALIGNED
    assert qa.measures["alignment"] == "aligned" and qa.measures["coverage"] == row.coverage
    starts = [w[1] for w in row.words]
    assert starts == sorted(starts) and all(s < e for _, s, e, _ in row.words)
    body = api(users["reviewer"]).get(f"/api/v1/annotations/{annotation_id}/words/").json()
    region = body["regions"][0]
    assert region["status"] == "aligned" and [w["word"] for w in region["words"]] == SENTENCE.split()
    assert region["words"][0]["start"] == row.words[0][1]
    # The same text on the same span is content-addressed: aligning again writes nothing.
    assert transcript_align_task.apply(args=[annotation_id]).get() == 0
    assert TranscriptAlignment.objects.filter(recording_id=rec_id).count() == 1


def test_unalignable_text_and_languages_without_an_aligner_are_recorded_as_such(aligned):
    project, users, make = aligned
    _, rec_id = make(text="please call zzqxv tomorrow")
    failed = TranscriptAlignment.objects.get(recording_id=rec_id)
    assert failed.status == AlignmentStatus.FAILED and "zzqxv" in failed.error and failed.words == []
    _, german = make(text="bitte ruf mich morgen an", language="de")
    row = TranscriptAlignment.objects.get(recording_id=german)
    assert row.status == AlignmentStatus.NO_ENGINE and "de" in row.error


def test_withdrawn_recordings_are_never_aligned_and_lose_their_word_timings(aligned, api):
    project, users, make = aligned
    annotation_id, rec_id = make()
    assert TranscriptAlignment.objects.filter(recording_id=rec_id).exists()
    from apps.catalog.models import Recording

    speaker = Recording.objects.get(pk=rec_id).speaker
    consent_withdraw(
        consent_id=ConsentRecord.objects.get(speaker=speaker).id, actor=users["manager"], recording_ids=[rec_id]
    )
    assert not TranscriptAlignment.objects.filter(recording_id=rec_id).exists()
    assert transcript_align_task.apply(args=[annotation_id]).get() == 0
    assert not TranscriptAlignment.objects.filter(recording_id=rec_id).exists()
    assert api(users["reviewer"]).get(f"/api/v1/annotations/{annotation_id}/words/").status_code == 404
