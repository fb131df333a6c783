"""Transcripts in a real browser: a processed English recording gets a draft, the annotator accepts and edits it
(history keeps both), and after alignment the word view shows the words and plays one on click."""

import io
import time

import pytest

from tests.annotation.conftest import SENTENCE, speech_wav

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

READY = '[data-testid="interactive"][data-ready="true"]'


def _clean_wav(data: bytes) -> bytes:
    """espeak-ng's --stdout WAV header claims an endless stream; ingest rightly refuses it. Write it again."""
    import soundfile as sf

    y, sr = sf.read(io.BytesIO(data), dtype="int16")
    out = io.BytesIO()
    sf.write(out, y, sr, format="WAV", subtype="PCM_16")
    return out.getvalue()


def _wait_for(predicate, timeout=15.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_draft_is_accepted_and_edited_then_words_show_and_play_on_click(
    transactional_db, live_server, logged_in_page, project_with_roles
):
    from apps.annotation.models import AnnotationSettings, AnnotationVersion, Region, TranscriptDraft
    from apps.annotation.services.alignment import annotation_align
    from apps.catalog.services.ingest import recording_ingest
    from tests.catalog.factories import SpeakerFactory

    project, users = project_with_roles
    AnnotationSettings.objects.update_or_create(project=project, defaults={"draft_languages": ["en"]})
    SpeakerFactory(project=project, code="s1")
    result = recording_ingest(
        project=project,
        fileobj=io.BytesIO(_clean_wav(speech_wav())),
        name="sentence.wav",
        created_by=users["manager"],
        speaker_code="s1",
        language_tag="en",
    )
    assert result.status == "accepted", result
    # Processing ran (eagerly) when the ingest committed; its end queued the draft, as on a worker.
    draft = _wait_for(lambda: TranscriptDraft.objects.filter(recording_id=result.recording_id).first(), what="a draft")

    page = logged_in_page(users["annotator"])
    page.goto(f"{live_server.url}/projects/{project.id}/annotate/")
    page.wait_for_selector(READY, timeout=30000)
    caption = page.locator('[data-testid="suggestion-caption"]').first
    caption.wait_for(timeout=15000)
    assert caption.inner_text().startswith("draft: ")
    page.locator('[data-testid="suggestion-accept"]').first.click()
    page.wait_for_selector('[data-testid="region-item"]')
    transcript = page.locator('[data-testid="transcript-input"]')
    assert transcript.input_value() == draft.text
    transcript.fill(SENTENCE)  # the annotator corrects the draft
    page.wait_for_selector('[data-testid="save-state"][data-state="saved"]', timeout=15000)
    region = _wait_for(
        lambda: Region.objects.filter(annotation__recording_id=result.recording_id, text=SENTENCE).first(),
        what="the edited transcript to be saved",
    )
    assert region.attributes["draft_text"] == draft.text and region.attributes["draft_engine"].startswith(
        "pocketsphinx"
    )
    texts = [
        r["text"]
        for v in AnnotationVersion.objects.filter(annotation=region.annotation).order_by("version")
        for r in v.regions
    ]
    assert draft.text in texts and texts[-1] == SENTENCE  # both versions kept

    assert annotation_align(annotation_id=region.annotation_id) == 1  # what the worker does on submit
    page.reload()
    page.wait_for_selector(READY, timeout=30000)
    words = page.locator('[data-testid="word"]')
    words.first.wait_for(timeout=15000)
    assert [words.nth(i).get_attribute("data-word") for i in range(words.count())] == SENTENCE.split()
    target = page.locator('[data-testid="word"][data-word="tomorrow"]')
    start, end = float(target.get_attribute("data-start")), float(target.get_attribute("data-end"))
    assert page.evaluate("window.earmarkAnnotator.item.waveform.currentTime") < start
    target.click()
    page.wait_for_function(
        "([s, e]) => { const t = window.earmarkAnnotator.item.waveform.currentTime;"
        " return t >= s - 0.05 && t <= e + 0.3; }",
        arg=[start, end],
        timeout=10000,
    )
    assert not page.console_errors, page.console_errors
