"""The annotator in a real browser (Debian's Chromium through Playwright) against a live server.

Recordings are ingested through the catalogue service; with CELERY eager the processing (peaks,
tiles, voiced segments) runs in-process when the ingest commits, as it would on a worker.
"""

import io
import re
import time

import numpy as np
import pytest
import soundfile as sf

from tests.e2e.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

READY = '[data-testid="interactive"][data-ready="true"]'


# --- setup helpers -----------------------------------------------------------------------------------------


def _labels(project):
    from apps.annotation.models import Label, LabelKind

    speech = Label.objects.create(
        project=project, kind=LabelKind.REGION, name="speech", color="#2563eb", hotkey="1", order=0
    )
    noise = Label.objects.create(
        project=project, kind=LabelKind.REGION, name="noise", color="#dc2626", hotkey="2", order=1
    )
    return speech, noise


def _ingest(project, user, name, data):
    from apps.catalog.services.ingest import recording_ingest

    result = recording_ingest(project=project, fileobj=io.BytesIO(data), name=name, created_by=user)
    assert result.status == "accepted", result
    return result.recording_id


def _speechy(seconds, sr=16000, seed=0):
    """Tone bursts separated by near-silence, so voice detection finds segments."""
    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(seed)
    envelope = ((t % 2.0) < 1.0).astype(np.float32)
    y = 0.5 * envelope * np.sin(2 * np.pi * 220 * t) + 0.003 * rng.standard_normal(len(t))
    buf = io.BytesIO()
    sf.write(buf, y.astype(np.float32), sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _hour_wav(path, seconds=3600, sr=16000):
    """A one-hour 16-bit mono WAV written in blocks (never the whole signal in memory)."""
    rng = np.random.default_rng(7)
    block = sr * 60
    with sf.SoundFile(path, "w", samplerate=sr, channels=1, format="WAV", subtype="PCM_16") as f:
        for i in range(seconds // 60):
            t = (np.arange(block) + i * block) / sr
            y = 0.4 * ((t % 4.0) < 2.0) * np.sin(2 * np.pi * (200 + i) * t) + 0.002 * rng.standard_normal(block)
            f.write(y.astype(np.float32))
    return path


def _annotation(annotator, recording_id):
    from apps.annotation.models import Annotation

    return Annotation.objects.filter(annotator=annotator, recording_id=recording_id).first()


def _wait_for(predicate, timeout=15.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _open(page, url):
    page.goto(url)
    page.wait_for_selector(READY, timeout=30000)


def _drag(page, x0_frac, x1_frac, y_frac=0.5):
    """Drag across the waveform from one fraction of its width to another."""
    box = page.locator('[data-testid="waveform"]').bounding_box()
    y = box["y"] + box["height"] * y_frac
    page.mouse.move(box["x"] + box["width"] * x0_frac, y)
    page.mouse.down()
    steps = 12
    for i in range(1, steps + 1):
        frac = x0_frac + (x1_frac - x0_frac) * i / steps
        page.mouse.move(box["x"] + box["width"] * frac, y)
    page.mouse.up()


def _wait_saved(page):
    page.wait_for_selector('[data-testid="save-state"][data-state="saved"]', timeout=15000)


@pytest.fixture
def labelling_project(transactional_db, project_with_roles):
    project, users = project_with_roles
    speech, noise = _labels(project)
    first = _ingest(project, users["manager"], "first.wav", _speechy(6, seed=1))
    second = _ingest(project, users["manager"], "second.wav", _speechy(4, seed=2))
    return project, users, {"speech": speech, "noise": noise}, [first, second]


# --- tests ---------------------------------------------------------------------------------------------------


def test_draw_label_transcribe_reload_submit_next(live_server, new_page, labelling_project):
    project, users, labels, recording_ids = labelling_project
    annotator = users["annotator"]
    page = new_page()
    media_requests = []
    page.on("request", lambda r: "/audio" in r.url and media_requests.append(r.resource_type))

    browser_login(page, live_server, annotator.username)
    page.goto(f"{live_server.url}/projects/{project.id}/")
    with page.expect_navigation():
        page.click('[data-testid="start-labelling"]')
    assert page.url.endswith(f"/projects/{project.id}/annotate/")
    page.wait_for_selector(READY, timeout=30000)
    first_title = page.locator('[data-testid="recording-title"]').inner_text()
    assert first_title in ("first.wav", "second.wav")
    current_rid = recording_ids[0] if first_title == "first.wav" else recording_ids[1]

    # Drag to create a region, label it with hotkey 1, type a transcript.
    _drag(page, 0.2, 0.5)
    page.wait_for_selector('[data-testid="region-item"]')
    assert page.locator('[data-testid="region-item"]').count() == 1
    page.keyboard.press("2")  # the noise label...
    page.keyboard.press("1")  # ...then speech: the hotkey relabels the selected region
    page.locator('[data-testid="transcript-input"]').fill("hello world")
    _wait_saved(page)

    annotation = _wait_for(
        lambda: (a := _annotation(annotator, current_rid)) and a.regions.count() == 1 and a,
        what="the region to reach the server",
    )
    region = annotation.regions.get()
    assert region.label_id == labels["speech"].id
    _wait_for(lambda: annotation.regions.get().text == "hello world", what="the transcript to be saved")
    duration = page.evaluate("window.earmarkAnnotator.item.duration")
    assert 0.15 * duration < region.start < region.end < 0.55 * duration

    # Reload: the same item comes back with the region, its label and its transcript.
    page.reload()
    page.wait_for_selector(READY, timeout=30000)
    assert page.locator('[data-testid="recording-title"]').inner_text() == first_title
    items = page.locator('[data-testid="region-item"]')
    assert items.count() == 1
    assert "speech" in items.first.inner_text()
    items.first.click()
    assert page.locator('[data-testid="transcript-input"]').input_value() == "hello world"

    # Audio only ever through the media element (never fetched whole by script): this short clip came in the page,
    # its bytes in the <audio> element (apps/annotation/embed.py), so it needed no request at all.
    assert set(media_requests) <= {"media"}, media_requests
    assert page.evaluate("document.querySelector('audio[data-role=audio]').src.startsWith('data:audio/wav;base64,')")

    # Submit -> the next recording opens, drawn from the peaks queue/next/ embeds (no request for them).
    peaks_requests = []
    page.on("request", lambda r: "/peaks" in r.url and peaks_requests.append(r.url))
    page.click('[data-testid="submit-button"]')
    page.wait_for_function(
        "t => { const el = document.querySelector('[data-testid=\"recording-title\"]');"
        " return el && el.textContent !== t && el.textContent !== 'Loading…'; }",
        arg=first_title,
        timeout=30000,
    )
    page.wait_for_selector(READY, timeout=30000)
    assert page.locator('[data-testid="recording-title"]').inner_text() != first_title
    assert page.locator('[data-testid="region-item"]').count() == 0
    assert not peaks_requests, peaks_requests
    annotation.refresh_from_db()
    assert annotation.status == "submitted"
    assert not page.console_errors, page.console_errors


def test_stale_context_gets_conflict_and_keeps_both_versions(live_server, logged_in_page, labelling_project):
    project, users, labels, _ = labelling_project
    annotator = users["annotator"]
    url = f"{live_server.url}/projects/{project.id}/annotate/"
    first = logged_in_page(annotator)
    _open(first, url)
    stale = logged_in_page(annotator)  # a second browser (context) on the same item, at the same version
    _open(stale, url)
    assert first.evaluate("window.earmarkAnnotator.item.annotation.id") == stale.evaluate(
        "window.earmarkAnnotator.item.annotation.id"
    )
    annotation_id = first.evaluate("window.earmarkAnnotator.item.annotation.id")

    _drag(first, 0.1, 0.3)
    first.keyboard.press("1")
    _wait_saved(first)

    _drag(stale, 0.6, 0.8)
    stale.keyboard.press("2")
    banner = stale.locator('[data-testid="conflict-banner"]')
    banner.wait_for(state="visible", timeout=15000)
    assert "Someone else saved" in banner.inner_text()
    assert stale.locator('[data-testid="save-state"]').get_attribute("data-state") == "conflict"

    from apps.annotation.models import Annotation

    saved = Annotation.objects.get(id=annotation_id)
    server_regions = list(saved.regions.values_list("start", "label_id"))
    assert len(server_regions) == 1 and server_regions[0][1] == labels["speech"].id  # the first save stands
    # The stale page still shows its own work: nothing was thrown away on either side.
    stale_items = stale.locator('[data-testid="region-item"]')
    assert stale_items.count() == 1 and "noise" in stale_items.first.inner_text()

    # The annotator chooses to keep theirs on top: saved as a new version; the other stays in history.
    stale.click('[data-testid="conflict-overwrite-mine"]')
    _wait_saved(stale)
    saved.refresh_from_db()
    assert saved.version == 2
    assert list(saved.regions.values_list("label_id", flat=True)) == [labels["noise"].id]
    history = {v.version: v.regions for v in saved.versions.all()}
    assert [r["label"] for r in history[1]] == [labels["speech"].id]
    assert not first.console_errors and not stale.console_errors


def test_one_hour_recording_opens_and_is_labelled_near_its_end(
    live_server, logged_in_page, transactional_db, project_with_roles, tmp_path
):
    project, users = project_with_roles
    annotator = users["annotator"]
    speech, _ = _labels(project)
    path = _hour_wav(tmp_path / "hour.wav")
    with open(path, "rb") as fh:
        from apps.catalog.services.ingest import recording_ingest

        result = recording_ingest(project=project, fileobj=fh, name="hour.wav", created_by=users["manager"])
    assert result.status == "accepted", result

    page = logged_in_page(annotator)
    audio_requests = []
    page.on("request", lambda r: "/audio" in r.url and audio_requests.append(r.resource_type))
    _open(page, f"{live_server.url}/projects/{project.id}/annotate/")
    assert page.locator('[data-testid="recording-title"]').inner_text() == "hour.wav"
    duration = page.evaluate("window.earmarkAnnotator.item.duration")
    assert abs(duration - 3600) < 0.01

    for _ in range(8):
        page.keyboard.press("+")  # zoom in ~25x
    page.keyboard.press("End")  # jump to the end
    page.wait_for_function("() => !window.earmarkAnnotator.waveform.busy", polling=100)  # finer peaks swapped in
    visible = page.evaluate("window.earmarkAnnotator.waveform.visibleRange()")
    assert visible[1] > 3590 and visible[1] - visible[0] < 600, visible
    _drag(page, 0.55, 0.8)
    page.keyboard.press("1")
    _wait_saved(page)

    annotation = _wait_for(
        lambda: (a := _annotation(annotator, result.recording_id)) and a.regions.count() == 1 and a,
        what="the region near the end to be saved",
    )
    region = annotation.regions.get()
    assert region.label_id == speech.id
    assert visible[0] < region.start < region.end <= 3600
    assert region.start > 3000
    assert re.fullmatch(r"\d+(\.\d{1,3})?", repr(region.start))  # millisecond precision
    assert set(audio_requests) <= {"media"}, audio_requests  # streamed, never fetched whole by script
    assert not page.console_errors, page.console_errors


def test_keyboard_only_marks_nudges_undo_and_spectrogram_box(live_server, logged_in_page, labelling_project):
    project, users, labels, _ = labelling_project
    annotator = users["annotator"]
    page = logged_in_page(annotator)
    _open(page, f"{live_server.url}/projects/{project.id}/annotate/")
    rid = page.evaluate("window.earmarkAnnotator.item.recording.id")

    page.keyboard.press("?")
    page.locator('[data-testid="help-overlay"]').wait_for(state="visible")
    assert "Snap" in page.locator('[data-testid="help-overlay"]').inner_text()
    page.keyboard.press("Escape")
    page.locator('[data-testid="help-overlay"]').wait_for(state="hidden")

    # Keyboard only: seek 1 s, mark in, seek 2 s more, mark out, label 2, nudge the start twice.
    page.keyboard.press("ArrowRight")
    page.keyboard.press("i")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("o")
    page.keyboard.press("2")
    page.keyboard.press("BracketRight")  # start +10 ms
    page.keyboard.press("Shift+BracketRight")  # start +100 ms
    regions = page.evaluate("window.earmarkAnnotator.store.regions")
    assert len(regions) == 1
    assert regions[0]["start"] == pytest.approx(1.11, abs=1e-6) and regions[0]["end"] == pytest.approx(3.0, abs=1e-6)
    assert regions[0]["label"] == labels["noise"].id
    page.keyboard.press("Control+z")  # quick successive nudges of one boundary are one undo step
    undone = page.evaluate("window.earmarkAnnotator.store.regions[0]")
    assert undone["start"] == pytest.approx(1.0, abs=1e-6) and undone["label"] == labels["noise"].id
    page.keyboard.press("Control+z")  # then the label
    assert page.evaluate("window.earmarkAnnotator.store.regions[0].label") is None
    page.keyboard.press("Control+Shift+z")
    page.keyboard.press("Control+y")
    assert page.evaluate("window.earmarkAnnotator.store.regions[0].start") == pytest.approx(1.11, abs=1e-6)

    # Spectrogram view from server tiles; a drag draws a time-frequency box as a new region.
    toggle = page.locator('[data-testid="spectrogram-toggle"]')
    page.wait_for_function("!document.querySelector('[data-testid=\"spectrogram-toggle\"]').disabled", timeout=15000)
    page.keyboard.press("Escape")
    page.keyboard.press("v")
    assert toggle.get_attribute("aria-pressed") == "true"
    canvas = page.locator('[data-testid="spectrogram-canvas"]')
    canvas.wait_for(state="visible")
    page.wait_for_function(
        "() => [...performance.getEntriesByType('resource')].some((e) => e.name.includes('/spectrogram/tiles/0/'))",
        timeout=15000,
    )
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.5, steps=6)
    page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.7, steps=6)
    page.mouse.up()
    _wait_saved(page)

    annotation = _wait_for(
        lambda: (a := _annotation(annotator, rid)) and a.regions.count() == 2 and a, what="both regions to be saved"
    )
    tf = annotation.regions.exclude(fmin=None).get()
    assert 0 < tf.fmin < tf.fmax
    plain = annotation.regions.get(fmin=None)
    assert (plain.start, plain.end, plain.label_id) == (1.11, 3.0, labels["noise"].id)
    assert not page.console_errors, page.console_errors


def test_stereo_recording_shows_channels_solo_and_ties_a_region_to_a_channel(
    live_server, logged_in_page, transactional_db, project_with_roles
):
    project, users = project_with_roles
    annotator = users["annotator"]
    speech, _ = _labels(project)
    # Two different channels (identical ones would be flagged by QA as fake stereo and kept out of the queue).
    left, right = (np.frombuffer(_speechy(4, seed=s)[44:], dtype="<i2") for s in (5, 6))
    stereo = io.BytesIO()
    sf.write(stereo, np.stack([left, np.roll(right, 8000) // 2], axis=1), 16000, format="WAV", subtype="PCM_16")
    rid = _ingest(project, users["manager"], "stereo.wav", stereo.getvalue())
    page = logged_in_page(annotator)
    _open(page, f"{live_server.url}/projects/{project.id}/annotate/")
    assert page.evaluate("window.earmarkAnnotator.item.channelCount") == 2

    solo = page.locator('[data-testid="channel-solo-1"]')
    solo.click()
    assert solo.get_attribute("aria-pressed") == "true"
    audible = page.evaluate("[0, 1].map((i) => window.earmarkAnnotator.item.mixer.audible(i))")
    assert audible == [False, True]  # only the soloed channel sounds
    assert page.evaluate("window.earmarkAnnotator.item.mixer.gains.length") == 2  # routed through Web Audio

    _drag(page, 0.3, 0.6, y_frac=0.75)
    page.keyboard.press("1")
    page.keyboard.press("c")  # all channels -> channel 1
    page.keyboard.press("c")  # -> channel 2
    _wait_saved(page)
    annotation = _wait_for(
        lambda: (a := _annotation(annotator, rid)) and a.regions.count() == 1 and a,
        what="the channel region to be saved",
    )
    _wait_for(lambda: annotation.regions.get().channel == 1, what="the region's channel to be saved")
    assert annotation.regions.get().label_id == speech.id
    assert not page.console_errors, page.console_errors


def test_lost_connection_shows_unsaved_and_retries(live_server, logged_in_page, labelling_project):
    project, users, labels, _ = labelling_project
    annotator = users["annotator"]
    page = logged_in_page(annotator)
    _open(page, f"{live_server.url}/projects/{project.id}/annotate/")
    rid = page.evaluate("window.earmarkAnnotator.item.recording.id")
    annotation_id = page.evaluate("window.earmarkAnnotator.item.annotation.id")

    page.context.set_offline(True)
    _drag(page, 0.4, 0.7)
    page.keyboard.press("1")
    state = page.locator('[data-testid="save-state"]')
    page.wait_for_selector('[data-testid="save-state"][data-state="retrying"]', timeout=15000)
    assert "Unsaved" in state.inner_text()
    draft = page.evaluate(f"Object.keys(localStorage).filter((k) => k.startsWith('earmark:draft:{annotation_id}:'))")
    assert len(draft) == 1  # the work is kept in the browser meanwhile
    assert _annotation(annotator, rid).regions.count() == 0

    page.context.set_offline(False)
    _wait_saved(page)
    annotation = _wait_for(
        lambda: (a := _annotation(annotator, rid)) and a.regions.count() == 1 and a, what="the retried save"
    )
    assert annotation.regions.get().label_id == labels["speech"].id
    assert page.evaluate("Object.keys(localStorage).filter((k) => k.startsWith('earmark:draft:')).length") == 0
    assert not page.console_errors, page.console_errors


def test_first_item_is_drawn_and_playable_without_any_api_request(live_server, logged_in_page, labelling_project):
    """The page embeds its first item (labels, the queue's answer, recording, first peaks): with every API
    fetch/XHR refused, the first clip still draws, takes input and becomes playable from the audio alone."""
    project, users, _, recording_ids = labelling_project
    annotator = users["annotator"]
    page = logged_in_page(annotator)
    refused = []

    def refuse_api_calls(route):
        if route.request.resource_type in ("fetch", "xhr"):
            refused.append(route.request.url)
            return route.abort()
        return route.continue_()

    page.route("**/api/v1/**", refuse_api_calls)
    media = []
    page.on("request", lambda r: "/audio" in r.url and media.append(r.resource_type))
    _open(page, f"{live_server.url}/projects/{project.id}/annotate/")
    assert page.locator('[data-testid="recording-title"]').inner_text() == "first.wav"
    item = page.evaluate("({id: window.earmarkAnnotator.item.recording.id, d: window.earmarkAnnotator.item.duration})")
    assert item["id"] == recording_ids[0] and abs(item["d"] - 6) < 0.01
    page.wait_for_function("document.querySelector('[data-role=audio]').readyState >= 3", timeout=15000)
    critical = ("/queue/next/", "/peaks", "/labels/", f"/recordings/{recording_ids[0]}/?", "/annotations/")
    # Word timings (issue 18) load beside the waveform, off the critical path.
    assert not [u for u in refused if "/words/" not in u and any(part in u + "?" for part in critical)], refused
    # The clip's bytes came in the page's <audio> element: no request for them, by script or otherwise.
    assert not media, media
    assert page.evaluate("document.querySelector('audio[data-role=audio]').src.startsWith('data:audio/wav;base64,')")
    # The page's queue claim is the same one queue/next/ makes: the item is this annotator's, locked.
    assert _annotation(annotator, recording_ids[0]) is not None
    # Still a working page: a label can be drawn (the save itself is refused here, so it stays a draft).
    _drag(page, 0.2, 0.4)
    assert page.evaluate("window.earmarkAnnotator.store.regions.length") == 1
