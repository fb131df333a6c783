"""A whole team's day through the UI only (no admin, no API calls), from an empty database:

the manager creates a project and two users, sets up labels, uploads audio that a real Celery worker
processes; the annotator labels three items; the reviewer accepts them; the manager builds a release (the
worker builds it) and opens its data card. Each page is screenshotted and checked with axe-core.

Screenshots go to a temporary folder; with EARMARK_UPDATE_SCREENSHOTS=1 they replace docs/screenshots/team-*.png
(the README's tour shows them).
"""

import io
import os
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from playwright.sync_api import expect

from tests.e2e.axe import axe_violations
from tests.e2e.conftest import _watch

pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.xdist_group("worker")]

ROOT = Path(__file__).resolve().parents[2]
READY = '[data-testid="interactive"][data-ready="true"]'
TITLE = '[data-testid="recording-title"]'
PASSWORD = "a-long-pass-phrase-42"


def _clip(seed: int, seconds: float = 3.0, sr: int = 16000) -> bytes:
    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(seed)
    y = 0.3 * ((t % 1.0) < 0.6) * np.sin(2 * np.pi * (180 + 40 * seed) * t) + 0.01 * rng.standard_normal(len(t))
    buf = io.BytesIO()
    sf.write(buf, y.astype(np.float32), sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


class Shots:
    """Screenshots and axe checks of every page the day visits."""

    def __init__(self, folder: Path):
        self.folder, self.problems, self.names = folder, [], []
        folder.mkdir(parents=True, exist_ok=True)

    def take(self, page, name: str, *, axe: bool = True, full_page: bool = True) -> None:
        page.screenshot(path=str(self.folder / f"team-{name}.png"), full_page=full_page)
        self.names.append(name)
        if axe:
            self.problems += [f"{name}: {v}" for v in axe_violations(page)]


def _drag(page, x0, x1):
    box = page.locator('[data-testid="waveform"]').bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * x0, y)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(box["x"] + box["width"] * (x0 + (x1 - x0) * i / 10), y)
    page.mouse.up()


def _next_title(page, old):
    page.wait_for_function(
        "t => { const el = document.querySelector('[data-testid=\"recording-title\"]');"
        " return el && el.textContent !== t && el.textContent !== 'Loading…'; }",
        arg=old,
        timeout=60000,
    )


def _sign_in(page, url, username, password):
    page.goto(url + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("form[action$='/accounts/login/'] button[type=submit]")


def test_a_team_runs_a_project_through_the_ui(live_server, live_worker, browser_context, django_user_model, tmp_path):
    live_worker()
    django_user_model.objects.create_user("boss", password=PASSWORD, is_staff=True)  # what createsuperuser makes
    update = os.environ.get("EARMARK_UPDATE_SCREENSHOTS") == "1"
    shots = Shots(ROOT / "docs" / "screenshots" if update else tmp_path / "shots")
    url = live_server.url

    def person():
        ctx = browser_context(viewport={"width": 1440, "height": 900}, bypass_csp=True)
        return _watch(ctx.new_page())

    # --- the manager: a project, its labels, two people ------------------------------------------------
    boss = person()
    _sign_in(boss, url, "boss", PASSWORD)
    boss.click('[data-testid="new-project"]')
    boss.fill("input[name=name]", "Street interviews")
    boss.fill("textarea[name=description]", "Short answers recorded outdoors.")
    shots.take(boss, "01-new-project")
    with boss.expect_navigation():
        boss.click('[data-testid="project-create-submit"]')
    project_id = int(re.search(r"/projects/(\d+)/settings/", boss.url).group(1))
    boss.fill('[data-testid="region-labels-input"]', "speech #2563eb 1\nnoise #64748b 2")
    with boss.expect_navigation():
        boss.click('[data-testid="labels-save"]')
    assert "Label schema saved." in boss.content()
    shots.take(boss, "02-settings")

    links = {}
    boss.goto(f"{url}/projects/{project_id}/members/")
    for username, role in (("ana", "annotator"), ("rui", "reviewer")):
        boss.fill('[data-testid="new-username"]', username)
        boss.select_option('[data-testid="new-role"]', role)
        with boss.expect_navigation():
            boss.click('[data-testid="member-create"]')
        links[username] = boss.locator('[data-testid="password-link"]').inner_text()
        if username == "rui":
            shots.take(boss, "03-members")
        boss.goto(f"{url}/projects/{project_id}/members/")

    # --- upload three clips; the worker processes them ----------------------------------------------------
    boss.goto(f"{url}/projects/{project_id}/")
    boss.click("text=Upload audio")
    clips = [tmp_path / f"answer-{i}.wav" for i in (1, 2, 3)]
    for i, path in enumerate(clips):
        path.write_bytes(_clip(i))
    boss.set_input_files('[data-testid="file-input"]', [str(p) for p in clips])
    boss.click('[data-testid="upload-start"]')
    boss.wait_for_selector('[data-testid="upload-summary"]:not([hidden])', timeout=60000)
    assert "3 files: 3 accepted" in boss.locator('[data-testid="upload-summary"]').inner_text()
    shots.take(boss, "04-upload")
    boss.goto(f"{url}/projects/{project_id}/recordings/")
    for _ in range(120):
        if boss.locator("span.badge.ready").count() == 3:
            break
        boss.wait_for_timeout(1000)
        boss.reload()
    assert boss.locator("span.badge.ready").count() == 3, "the worker did not process the uploads"
    shots.take(boss, "05-recordings")
    boss.click('[data-testid^="recording-link-"] >> nth=0')
    boss.wait_for_selector('[data-testid="wave-preview"][data-drawn="true"]')
    shots.take(boss, "06-recording")

    # --- the annotator sets a password and labels three items --------------------------------------------
    ana = person()
    ana.goto(links["ana"])
    ana.fill("input[name=new_password1]", PASSWORD)
    ana.fill("input[name=new_password2]", PASSWORD)
    with ana.expect_navigation():
        ana.click("button[type=submit]")
    _sign_in(ana, url, "ana", PASSWORD)
    ana.click(f'[data-testid="project-{project_id}"]')
    with ana.expect_navigation():
        ana.click('[data-testid="start-labelling"]')
    for n in range(3):
        ana.wait_for_selector(READY, timeout=60000)
        # The first item's counts arrive once it is drawn and playable (the page's embed leaves them out).
        expect(ana.locator('[data-testid="queue-progress"]')).to_contain_text(f"{3 - n} of 3 left")
        title = ana.locator(TITLE).inner_text()
        _drag(ana, 0.15 + 0.1 * n, 0.45 + 0.1 * n)
        ana.wait_for_selector('[data-testid="region-item"]')
        ana.keyboard.press("1")
        ana.wait_for_selector('[data-testid="save-state"][data-state="saved"]', timeout=15000)
        if n == 0:
            shots.take(ana, "07-annotator", full_page=False)
        ana.click('[data-testid="submit-button"]')
        _next_title(ana, title)
    ana.wait_for_selector('[data-testid="empty-queue"]:not([hidden])')
    assert not ana.console_errors, ana.console_errors

    # --- the reviewer accepts them -------------------------------------------------------------------------
    rui = person()
    rui.goto(links["rui"])
    rui.fill("input[name=new_password1]", PASSWORD)
    rui.fill("input[name=new_password2]", PASSWORD)
    with rui.expect_navigation():
        rui.click("button[type=submit]")
    _sign_in(rui, url, "rui", PASSWORD)
    rui.goto(f"{url}/projects/{project_id}/")
    with rui.expect_navigation():
        rui.click('[data-testid="start-reviewing"]')
    for n in range(3):
        rui.wait_for_selector(READY, timeout=60000)
        assert "annotated by ana" in rui.locator('[data-testid="annotator-name"]').inner_text()
        title = rui.locator(TITLE).inner_text()
        if n == 0:
            shots.take(rui, "08-review", full_page=False)
        rui.click('[data-testid="review-accept"]')
        _next_title(rui, title)
        # The confirmation is written once the next item has finished opening (a few tasks after its title).
        rui.wait_for_function(
            "t => (document.querySelector('[data-role=\"notice\"]')?.textContent || '').includes(t)",
            arg=f"Accepted: {title}.",
            timeout=10000,
        )
    rui.wait_for_selector('[data-testid="empty-queue"]:not([hidden])')
    assert not rui.console_errors, rui.console_errors

    # --- the manager builds a release and reads its card ---------------------------------------------------
    boss.goto(f"{url}/projects/{project_id}/dashboard/")
    shots.take(boss, "09-dashboard")
    boss.goto(f"{url}/projects/{project_id}/releases/")
    boss.fill("input[name=name]", "Street interviews v1")
    boss.fill("input[name=license]", "cc-by-4.0")
    boss.check("input[name=accepted_only]")
    for split, ratio in (("train", "1"), ("validation", "0"), ("test", "0")):
        boss.fill(f"input[name=ratio_{split}]", ratio)
    for fmt in ("csv", "lhotse", "webdataset"):
        boss.uncheck(f"input[name=formats][value={fmt}]")
    shots.take(boss, "10-release-form")
    with boss.expect_navigation():
        boss.click('[data-testid="release-submit"]')
    boss.wait_for_selector('[data-testid="data-card"]', timeout=120000)
    card = boss.locator('[data-testid="data-card"]').inner_text()
    assert "Street interviews v1" in card and "cc-by-4.0" in card
    assert boss.locator('[data-testid="release-downloads"] a').count() == 2
    width = boss.evaluate("document.documentElement.scrollWidth")
    assert width <= 1440, f"the release page is {width} px wide at a 1,440 px viewport"
    shots.take(boss, "11-release")
    assert not boss.console_errors, boss.console_errors
    assert not shots.problems, "\n".join(shots.problems)
