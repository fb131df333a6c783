"""Visual and interaction fixes, in Chromium: ruler labels, label chip vs hover label, Skip's confirmation,
Previous, progress, the dashboard's categories, the upload page."""

import base64
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.test_annotator import READY, _drag, _ingest, _labels, _speechy

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

LABELS_JS = """() => {
  const out = [];
  const walk = (root) => root.querySelectorAll('*').forEach((el) => {
    if (el.shadowRoot) walk(el.shadowRoot);
    const part = el.getAttribute('part') || '';
    if (part.includes('timeline-notch') && el.textContent.trim()) out.push(el.textContent.trim());
  });
  walk(document);
  return out;
}"""


def _chart_texts(page, testid: str) -> list[str]:
    """The text drawn in a dashboard chart, an <img> with an SVG data URI (no inline SVG under the CSP)."""
    img = page.locator(f'[data-testid="{testid}"] img')
    assert img.evaluate("i => i.complete && i.naturalWidth > 0"), f"{testid} did not render"
    src = img.get_attribute("src")
    assert src.startswith("data:image/svg+xml;base64,"), src[:40]
    svg = base64.b64decode(src.split(",", 1)[1]).decode()
    return [t.strip() for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg) if t.strip()]


def _seconds(label: str) -> float:
    parts = [float(p) for p in label.split(":")]
    return sum(p * 60**i for i, p in enumerate(reversed(parts)))


@pytest.fixture
def short_clips(transactional_db, project_with_roles):
    project, users = project_with_roles
    _labels(project)
    ids = [_ingest(project, users["manager"], f"clip-{i}.wav", _speechy(2, seed=i)) for i in range(3)]
    return project, users, ids


def test_ruler_labels_on_a_short_clip_are_evenly_spaced_at_every_zoom(live_server, logged_in_page, short_clips):
    project, users, _ = short_clips
    page = logged_in_page(users["annotator"])
    page.goto(f"{live_server.url}/projects/{project.id}/annotate/")
    page.wait_for_selector(READY, timeout=30000)
    checked = 0
    for _ in range(6):
        labels = [_seconds(t) for t in page.evaluate(LABELS_JS)]
        values = sorted(set(labels))
        steps = {round(b - a, 6) for a, b in zip(values, values[1:])}
        assert len(values) == len(labels), f"two notches share a label: {page.evaluate(LABELS_JS)}"
        assert len(steps) <= 1, f"uneven (rounded) ruler labels: {page.evaluate(LABELS_JS)}"
        checked += len(values) > 2
        page.click('[data-testid="zoom-in"]')
        page.wait_for_timeout(300)
    assert checked >= 3
    assert not page.console_errors, page.console_errors


def test_a_short_regions_label_chip_is_not_under_the_hover_label(live_server, logged_in_page, short_clips):
    project, users, _ = short_clips
    page = logged_in_page(users["annotator"])
    page.goto(f"{live_server.url}/projects/{project.id}/annotate/")
    page.wait_for_selector(READY, timeout=30000)
    _drag(page, 0.40, 0.43)
    page.wait_for_selector('[data-testid="region-item"]')
    page.keyboard.press("1")
    chip = page.locator('[data-testid="region-chip"]').first
    assert "speech" in chip.inner_text()
    box = page.locator('[data-testid="region"]').first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    hover = page.locator('[part~="hover-label"]').first
    hover.wait_for(state="visible")
    a, b = chip.bounding_box(), hover.bounding_box()
    overlap = not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )
    assert not overlap, (a, b)


def test_progress_skip_confirmation_and_previous(live_server, logged_in_page, short_clips):
    project, users, _ = short_clips
    page = logged_in_page(users["annotator"])
    page.goto(f"{live_server.url}/projects/{project.id}/annotate/")
    page.wait_for_selector(READY, timeout=30000)
    # The first item's counts arrive once it is drawn and playable (the page's embed leaves them out).
    expect(page.locator('[data-testid="queue-progress"]')).to_have_text("· 3 of 3 left")
    first = page.locator('[data-testid="recording-title"]').inner_text()
    assert page.locator('[data-testid="recording-link"]').get_attribute("href").startswith("/recordings/")

    _drag(page, 0.2, 0.5)
    page.wait_for_selector('[data-testid="region-item"]')
    dialogs = []
    page.once("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.click('[data-testid="skip-button"]')
    page.wait_for_timeout(300)
    assert dialogs and "1 region will be thrown away" in dialogs[0]
    assert page.locator('[data-testid="recording-title"]').inner_text() == first  # kept

    page.click('[data-testid="submit-button"]')
    page.wait_for_function(
        "t => document.querySelector('[data-testid=\"recording-title\"]').textContent !== t"
        " && document.querySelector('[data-testid=\"interactive\"]').dataset.ready === 'true'",
        arg=first,
        timeout=30000,
    )
    # Every item's counts arrive once it is drawn (queue/next/?progress=false, then queue/progress/).
    expect(page.locator('[data-testid="queue-progress"]')).to_have_text("· 2 of 3 left")
    page.click('[data-testid="previous-button"]')
    page.wait_for_function(
        "t => document.querySelector('[data-testid=\"recording-title\"]').textContent === t", arg=first, timeout=30000
    )
    page.wait_for_selector(READY)
    assert page.locator('[data-testid="region-item"]').count() == 1
    assert page.locator('[data-testid="submit-button"]').is_disabled()
    assert "reopens for editing only if a reviewer returns it" in page.locator('[data-role="notice"]').inner_text()
    page.click('[data-testid="next-button"]')
    page.wait_for_function(
        "t => document.querySelector('[data-testid=\"recording-title\"]').textContent !== t", arg=first, timeout=30000
    )
    assert not page.console_errors, page.console_errors


def test_dashboard_categories_units_and_qa_axis_in_the_browser(
    live_server, logged_in_page, transactional_db, project_with_roles
):
    from django.utils import timezone

    from apps.review.models import QAResult
    from tests.catalog.factories import RecordingFactory, SpeakerFactory

    project, users = project_with_roles
    blank = SpeakerFactory(project=project, gender="")
    for i in range(24):
        rec = RecordingFactory(project=project, speaker=blank if i % 2 else None, duration=4.0, status="ready")
        if i == 0:
            QAResult.objects.create(recording=rec, project=project, flags=",clipping,", flagged=True)
    page = logged_in_page(users["manager"])
    page.goto(f"{live_server.url}/projects/{project.id}/dashboard/")
    genders = _chart_texts(page, "chart-genders")
    assert genders.count("not given") == 1, genders
    assert page.locator('[data-testid="total-audio"]').inner_text() == "1.6 min"
    qa = " ".join(_chart_texts(page, "chart-qa"))
    assert set(re.findall(r"\b20\d\d\b", qa)) == {str(timezone.now().year)}, qa


def test_upload_page_says_what_is_missing_keeps_the_picker_and_sums_up(
    live_server, logged_in_page, transactional_db, project_with_roles, tmp_path
):
    project, users = project_with_roles
    page = logged_in_page(users["manager"])
    page.goto(f"{live_server.url}/projects/{project.id}/upload/")
    page.get_by_label("Audio files").wait_for()  # the file input has an accessible name
    page.click('[data-testid="upload-start"]')
    assert page.locator('[data-testid="upload-error"]').inner_text() == "Choose or drop at least one audio file first."

    page.evaluate("""() => {
        const dt = new DataTransfer();
        dt.items.add(new File(['x'], 'dropped.wav', {type: 'audio/wav'}));
        document.getElementById('dropzone').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true}));
    }""")
    assert page.locator('[data-testid="file-input"]').count() == 1  # the picker survives a drop
    assert "1 file ready: dropped.wav" in page.locator("[data-role=picked]").inner_text()

    good, bad = tmp_path / "good.wav", tmp_path / "bad.wav"
    good.write_bytes(_speechy(1, seed=5))
    bad.write_bytes(b"not audio at all")
    page.set_input_files('[data-testid="file-input"]', [str(good), str(bad)])
    page.click('[data-testid="upload-start"]')
    summary = page.locator('[data-testid="upload-summary"]')
    summary.wait_for(state="visible", timeout=30000)
    assert "2 files: 1 accepted, 0 quarantined (waiting for consent), 0 duplicates, 1 rejected" in summary.inner_text()
    assert page.locator('#results a[href^="/recordings/"]').count() == 1
    assert not page.console_errors, page.console_errors
