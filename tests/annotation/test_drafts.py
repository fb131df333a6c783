"""Draft transcripts: made by the recogniser for usable recordings only, served to annotators with provenance."""

from __future__ import annotations

from apps.annotation.models import AnnotationSettings, TranscriptDraft
from apps.annotation.tasks import transcript_drafts_task
from apps.consent.models import ConsentRecord
from apps.consent.services.withdrawal import consent_withdraw


def test_a_usable_recording_gets_drafts_with_provenance_and_annotators_see_them(drafting, api):
    project, users, recording = drafting
    rec = recording()
    assert transcript_drafts_task.apply(args=[rec.id]).get() >= 1
    draft = TranscriptDraft.objects.get(recording=rec)
    assert draft.engine == "pocketsphinx" and draft.engine_version.startswith("5.1.1")
    assert "tomorrow" in draft.text
    assert all(draft.start <= w[1] < w[2] <= draft.end + 0.01 for w in draft.words)
    body = api(users["annotator"]).get(f"/api/v1/recordings/{rec.id}/drafts/").json()
    assert body["drafts"][0]["text"] == draft.text
    assert body["drafts"][0]["provenance"]["engine"] == "pocketsphinx"


def test_withdrawn_recordings_never_get_drafts_and_lose_the_ones_they_had(drafting, api):
    project, users, recording = drafting
    kept, withdrawn = recording(), recording()
    assert transcript_drafts_task.apply(args=[withdrawn.id]).get() >= 1
    consent = ConsentRecord.objects.get(speaker=withdrawn.speaker)
    consent_withdraw(consent_id=consent.id, actor=users["manager"], recording_ids=[withdrawn.id])
    assert not TranscriptDraft.objects.filter(recording=withdrawn).exists()  # the withdrawal hook dropped them
    assert transcript_drafts_task.apply(args=[withdrawn.id]).get() == 0
    assert not TranscriptDraft.objects.filter(recording=withdrawn).exists()
    assert api(users["annotator"]).get(f"/api/v1/recordings/{withdrawn.id}/drafts/").status_code == 404
    assert transcript_drafts_task.apply(args=[kept.id]).get() >= 1


def test_only_the_projects_draft_languages_are_drafted(drafting):
    project, users, recording = drafting
    german = recording(language="de")
    assert transcript_drafts_task.apply(args=[german.id]).get() == 0
    AnnotationSettings.objects.filter(project=project).update(draft_languages=[])
    english = recording()
    assert transcript_drafts_task.apply(args=[english.id]).get() == 0
    assert not TranscriptDraft.objects.exists()


def test_an_accepted_then_edited_draft_keeps_both_texts_and_the_engine_in_history(drafting, api):
    project, users, recording = drafting
    rec = recording()
    transcript_drafts_task.apply(args=[rec.id]).get()
    draft = TranscriptDraft.objects.filter(recording=rec).first()
    client = api(users["annotator"])
    ann = client.post(f"/api/v1/projects/{project.id}/queue/next/").json()["annotation"]
    assert ann["recording"] == rec.id or ann["recording"]["id"] == rec.id
    accepted = client.post(
        f"/api/v1/annotations/{ann['id']}/drafts/accept/", {"version": ann["version"], "draft": draft.id}, format="json"
    )
    assert accepted.status_code == 200, accepted.content
    region = accepted.json()["regions"][0]
    assert region["text"] == draft.text
    edited = {**region, "text": "please call me tomorrow morning"}
    saved = client.put(
        f"/api/v1/annotations/{ann['id']}/",
        {"version": accepted.json()["version"], "regions": [edited], "clip_labels": []},
        format="json",
    )
    assert saved.status_code == 200, saved.content
    versions = client.get(f"/api/v1/annotations/{ann['id']}/versions/").json()
    texts = [v["regions"][0]["text"] for v in versions if v["regions"]]
    assert texts[-2:] == [draft.text, "please call me tomorrow morning"]
    last = versions[-1]["regions"][0]["attributes"]
    assert last["draft_text"] == draft.text and last["draft_engine"].startswith("pocketsphinx 5.1.1")


def test_accepting_a_foreign_or_repeated_draft_is_refused_with_a_sentence(drafting, api):
    project, users, recording = drafting
    rec, other = recording(), recording()
    for r in (rec, other):
        transcript_drafts_task.apply(args=[r.id]).get()
    client = api(users["annotator"])
    ann = client.post(f"/api/v1/projects/{project.id}/queue/next/").json()["annotation"]
    rec_id = ann["recording"] if isinstance(ann["recording"], int) else ann["recording"]["id"]
    mine = TranscriptDraft.objects.filter(recording_id=rec_id).first()
    foreign = TranscriptDraft.objects.exclude(recording_id=rec_id).first()
    url = f"/api/v1/annotations/{ann['id']}/drafts/accept/"
    bad = client.post(url, {"version": ann["version"], "draft": foreign.id}, format="json")
    assert bad.status_code == 400
    assert bad.json()["detail"] == "That draft does not belong to this recording, or it is gone."
    assert client.post(url, {"version": "x", "draft": mine.id}, format="json").status_code == 400
    ok = client.post(url, {"version": ann["version"], "draft": mine.id}, format="json")
    assert ok.status_code == 200
    again = client.post(url, {"version": ok.json()["version"], "draft": mine.id}, format="json")
    assert again.status_code == 400 and "already" in again.json()["detail"]
    versions = client.get(f"/api/v1/annotations/{ann['id']}/versions/").json()
    assert len([v for v in versions if v["regions"]]) == 1  # refusals wrote nothing


def test_a_processed_recording_of_a_drafted_language_gets_drafts_queued(drafting, django_capture_on_commit_callbacks):
    from apps.annotation.services.drafts import drafts_enqueue_if_wanted
    from apps.core.hooks import RECORDING_PROCESSED, hook_handlers

    assert drafts_enqueue_if_wanted in hook_handlers(RECORDING_PROCESSED)  # processing's finish calls it
    project, users, recording = drafting
    english, german = recording(), recording(language="de")
    with django_capture_on_commit_callbacks(execute=True) as queued:
        assert drafts_enqueue_if_wanted(recording_id=english.id, original=None) is True
        assert drafts_enqueue_if_wanted(recording_id=german.id, original=None) is False
    assert len(queued) == 1
    assert TranscriptDraft.objects.filter(recording=english).exists()
    assert not TranscriptDraft.objects.filter(recording=german).exists()
