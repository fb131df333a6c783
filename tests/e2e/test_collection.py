"""A contributor records a campaign in real Chromium with a fake microphone fed from generated speech (issue 22).

Chromium's fake capture device plays ``--use-file-for-fake-audio-capture`` in a loop, so each stored clip is a
stretch of that file: we find where by cross-correlation and require the PCM to match (correlation >= 0.95).
One upload is cut after the server stored it (the browser never hears back): the page retries with the same
idempotency key and the clip is stored once. The opt-out link then withdraws everything.
"""

import io
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import correlate, resample_poly

from tests.collection.conftest import CONSENT_TEXT
from tests.conftest import CHROMIUM, require_service
from tests.e2e.conftest import CHROMIUM_ARGS, _watch

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

RATE = 48000
SENTENCES = [
    "Earmark records prompts in the browser.",
    "Every clip is stored with consent.",
    "The quick brown fox jumps over the lazy dog.",
]
PROMPTS = "\n".join(
    [
        "Please call Stella.",
        "Ask her to bring these things with her from the store.",
        "Six spoons of fresh snow peas.",
        "Five thick slabs of blue cheese.",
        "Maybe a snack for her brother Bob.",
        "We also need a small plastic snake.",
    ]
)
SCREENSHOTS = os.environ.get("EARMARK_SCREENSHOTS")  # a folder: write the README's screenshots there


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory) -> tuple[Path, np.ndarray]:
    """Speech from espeak-ng, 48 kHz mono 16-bit, with short pauses (what the fake microphone plays)."""
    espeak = shutil.which("espeak-ng")
    require_service("espeak-ng", espeak is not None)
    folder = tmp_path_factory.mktemp("fake-mic")
    parts = []
    for i, sentence in enumerate(SENTENCES):
        out = folder / f"s{i}.wav"
        subprocess.run([espeak, "-s", "150", "-w", str(out), sentence], check=True, capture_output=True)
        y, sr = sf.read(out, dtype="float64")
        parts += [resample_poly(y, RATE // 150, sr // 150) if sr != RATE else y, np.zeros(int(0.3 * RATE))]
    y = np.concatenate(parts)
    y = 0.5 * y / np.max(np.abs(y))
    path = folder / "speech.wav"
    sf.write(path, y, RATE, subtype="PCM_16")
    return path, sf.read(path, dtype="float64")[0]


@pytest.fixture
def mic_page(playwright, speech_wav):
    """A Chromium of its own whose microphone plays the generated speech (launch flags, so not the shared one)."""
    args = CHROMIUM_ARGS + [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-audio-capture={speech_wav[0]}",
    ]
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
    context = browser.new_context(viewport={"width": 420, "height": 860}, permissions=["microphone"])
    yield _watch(context.new_page())
    context.close()
    browser.close()


def _best_match(clip: np.ndarray, reference: np.ndarray) -> float:
    """Pearson correlation of ``clip`` with the stretch of the (looped) reference it lines up with best."""
    looped = np.tile(reference, int(np.ceil(len(clip) / len(reference))) + 2)
    scores = correlate(looped, clip, mode="valid", method="fft")
    power = np.concatenate([[0.0], np.cumsum(looped**2)])
    energy = np.sqrt(power[len(clip) :] - power[: -len(clip)])  # the sliding window's energy
    lag = int(np.argmax(scores / np.maximum(energy, 1e-9)))
    return float(np.corrcoef(looped[lag : lag + len(clip)], clip)[0, 1])


def _clip_match(clip: np.ndarray, reference: np.ndarray, window: float = 0.25) -> float:
    """The clip's correlation with the fake input after alignment. Chromium's fake capture device plays its file
    on a timer and, on a loaded machine, can skip a few milliseconds: the samples still match the input exactly,
    but from another offset after the skip. So a clip that does not line up as a whole is aligned window by
    window (0.25 s, audible windows only) and scored by its median window; a lossy or resampled capture matches
    in no window."""
    whole = _best_match(clip, reference)
    if whole >= 0.95:
        return whole
    n = int(window * RATE)
    scores = [
        _best_match(part, reference)
        for part in (clip[i : i + n] for i in range(0, len(clip) - n + 1, n))
        if np.sqrt(np.mean(part**2)) > 0.01
    ]
    return float(np.median(scores)) if scores else whole


def _record(page, seconds=1.6):
    page.keyboard.press("r")
    page.wait_for_timeout(int(seconds * 1000))
    page.keyboard.press("r")
    page.locator("[data-testid=play]").wait_for(state="visible")


def test_contributor_records_five_prompts_and_withdraws_through_the_link(
    transactional_db, live_server, mic_page, speech_wav, project_with_roles
):
    from apps.annotation.models import Annotation
    from apps.catalog.models import Recording
    from apps.collection.models import Clip
    from apps.collection.selectors import campaign_coverage, clips_usable
    from apps.collection.services import campaign_create, prompts_import
    from apps.consent.selectors import recordings_usable

    project, users = project_with_roles
    campaign = campaign_create(
        project=project,
        actor=users["manager"],
        name="Shopping list",
        description="Read six short sentences aloud.",
        consent_text=CONSENT_TEXT,
        purposes_asked=["store", "annotate", "review", "train_models", "public_release"],
        targets={"language": {"en": 30}, "age_band": {"18-29": 10, "30-44": 10, "45-59": 10}},
    )
    prompts_import(campaign=campaign, content=PROMPTS, language_tag="en", actor=users["manager"])
    page = mic_page
    cut = {"done": False}
    statuses = []

    def cut_once(route):
        if not cut["done"]:  # the server stores it, the browser never hears back: a dropped connection
            cut["done"] = True
            statuses.append(route.fetch().status)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/v1/collect/clips/", cut_once)
    page.on("response", lambda r: statuses.append(r.status) if r.url.endswith("/api/v1/collect/clips/") else None)
    page.goto(f"{live_server.url}/collect/{campaign.public_token}/")
    assert page.locator("[data-testid=consent-text]").inner_text().startswith("We record you")
    page.click("[data-testid=consent-submit]")  # nothing ticked: refused, nothing recorded
    error = page.locator("[data-testid=consent-error]:not([hidden])")
    error.wait_for()
    assert "store" in error.inner_text()
    for purpose in ("store", "annotate", "review", "train_models"):
        page.check(f"[data-testid=purpose-{purpose}]")
    page.select_option("[data-testid=age-band]", "30-44")
    page.fill("input[name=accent]", "Northern English")
    page.click("[data-testid=consent-submit]")
    page.locator("[data-testid=step-mic]").wait_for(state="visible")
    for _ in range(3):  # a check that lands on the loop's pause says "too quiet": the contributor tries again
        page.click("[data-testid=mic-start]")
        page.locator("[data-testid=mic-verdict].ok, [data-testid=mic-verdict].error").wait_for(timeout=20000)
        if page.locator("[data-testid=mic-verdict].ok").count():
            break
    assert page.locator("[data-testid=mic-verdict].ok").count(), page.locator("[data-testid=mic-verdict]").inner_text()
    page.click("[data-testid=mic-continue]")
    for i in range(5):
        assert page.locator("[data-testid=prompt-text]").inner_text() == PROMPTS.splitlines()[i]
        _record(page)
        if i == 2:
            _record(page, 1.2)  # re-record: only the second take is sent
            assert page.locator("[data-testid=rec]").inner_text().startswith("Re-record")
        if i == 0 and SCREENSHOTS:
            page.screenshot(path=str(Path(SCREENSHOTS) / "campaign-contributor.png"), full_page=True)
        page.keyboard.press("n")
    page.click("[data-testid=finish]")
    page.locator("[data-testid=step-done]").wait_for(state="visible", timeout=60000)
    optout = page.locator("[data-testid=optout-link]").get_attribute("href")
    code = page.locator("[data-testid=speaker-code]").inner_text()
    assert not page.console_errors

    clips = list(Clip.objects.select_related("prompt", "contributor__consent__form").order_by("id"))
    assert len(clips) == 5  # the cut upload arrived once
    assert cut["done"] and statuses[0] == 201 and 200 in statuses[1:]  # stored, lost, retried: "already here"
    contributor = clips[0].contributor
    assert contributor.speaker.code == code and contributor.speaker.age_band == "30-44"
    consent = contributor.consent
    assert consent.purposes == ["store", "annotate", "review", "train_models"]
    assert consent.form.version == 1 and consent.form.text == CONSENT_TEXT and consent.granted_at is not None
    reference = speech_wav[1]
    correlations = []
    for clip in clips:
        rec = Recording.objects.get(pk=clip.recording_id)
        assert (
            rec.speaker_id == contributor.speaker_id
            and rec.language.tag == "en"
            and rec.codec.lower().startswith("pcm")
        )
        text = Annotation.objects.get(recording=rec).regions.get().text
        assert text == clip.prompt.text
        from django.core.files.storage import default_storage

        with default_storage.open(rec.original_key, "rb") as fh:
            y, sr = sf.read(io.BytesIO(fh.read()), dtype="float64")
        if sr != RATE:
            y = resample_poly(y, RATE // 100, sr // 100)
        y = y[int(0.1 * RATE) :]  # the first block may hold the moment the button was pressed
        assert np.max(np.abs(y)) > 0.01, "the clip is silent"
        correlations.append(_clip_match(y, reference))
    print("PCM correlation with the fake input per clip:", [round(c, 4) for c in correlations])
    assert min(correlations) >= 0.95, correlations
    assert [c.prompt.key for c in clips] == [f"en-{i:05d}" for i in range(1, 6)]

    if SCREENSHOTS:
        from tests.e2e.conftest import session_cookie_for

        manager = page.context.browser.new_context(viewport={"width": 1280, "height": 900})
        manager.add_cookies([session_cookie_for(users["manager"], live_server.url)])
        coverage = manager.new_page()
        coverage.goto(f"{live_server.url}/campaigns/{campaign.pk}/coverage/")
        coverage.screenshot(path=str(Path(SCREENSHOTS) / "campaign-coverage.png"), full_page=True)
        manager.close()
    page.goto(optout)
    page.click('[data-testid="optout-continue"]')
    page.click('[data-testid="optout-confirm"]')
    page.locator('[data-testid="optout-done"]').wait_for()
    ids = {c.recording_id for c in clips}
    for purpose in ("store", "annotate", "review", "train_models"):
        assert not ids & set(recordings_usable(None, purpose).values_list("pk", flat=True))
        assert not clips_usable(purpose).exists()
    assert campaign_coverage(campaign=campaign)["clips"] == 0


def test_campaign_pages_have_no_serious_accessibility_violations(
    transactional_db, live_server, browser_context, project_with_roles
):
    from apps.collection.services import campaign_create, prompts_import
    from tests.e2e.axe import axe_violations
    from tests.e2e.conftest import session_cookie_for

    project, users = project_with_roles
    campaign = campaign_create(
        project=project,
        actor=users["manager"],
        name="Accessible",
        consent_text=CONSENT_TEXT,
        purposes_asked=["store", "review"],
        targets={"gender": {"woman": 5}},
    )
    prompts_import(campaign=campaign, content=PROMPTS, language_tag="en", actor=users["manager"])
    ctx = browser_context(bypass_csp=True, viewport={"width": 390, "height": 844})  # axe is injected
    page = _watch(ctx.new_page())
    page.goto(f"{live_server.url}/collect/{campaign.public_token}/")
    problems = [f"contributor page: {v}" for v in axe_violations(page)]
    ctx.add_cookies([session_cookie_for(users["manager"], live_server.url)])
    for path in (
        f"/projects/{project.id}/campaigns/",
        f"/campaigns/{campaign.pk}/coverage/",
        f"/campaigns/{campaign.pk}/validate/",
    ):
        page.goto(live_server.url + path)
        problems += [f"{path}: {v}" for v in axe_violations(page)]
    assert not problems, "\n".join(problems)
    assert not page.console_errors
