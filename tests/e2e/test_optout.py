"""Self-service opt-out in a real browser (Debian's Chromium via Playwright), JavaScript switched off:
open the personal link, choose, confirm, see the confirmation; expired or tampered links change nothing.
"""

from datetime import timedelta

import pytest
from django.core import signing
from django.utils import timezone

from tests.catalog.factories import RecordingFactory, SpeakerFactory

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


@pytest.fixture
def speaker_link(transactional_db, project_with_roles):
    from apps.consent.services.optout import optout_token_make

    project, users = project_with_roles
    speaker = SpeakerFactory(project=project, code="spk-browser")
    recordings = RecordingFactory.create_batch(2, project=project, speaker=speaker)
    consent = speaker.consent_records.get()
    return consent, optout_token_make(consent=consent, actor=None), recordings


@pytest.fixture
def nojs_page(browser_context):
    """A signed-out page with JavaScript disabled: the opt-out must work without it."""
    from tests.e2e.conftest import _watch

    return lambda: _watch(browser_context(java_script_enabled=False).new_page())


def _usable_ids(purpose):
    from apps.consent.selectors import recordings_usable

    return set(recordings_usable(None, purpose).values_list("id", flat=True))


def test_speaker_withdraws_everything_through_the_link(live_server, speaker_link, nojs_page):
    from apps.consent.models import AuditEvent, ConsentRecord

    consent, token, recordings = speaker_link
    page = nojs_page()
    page.goto(f"{live_server.url}/optout/{token}/")
    assert "What happens if you withdraw" in page.content()
    page.click('[data-testid="optout-continue"]')
    assert page.locator("h1").inner_text() == "Please confirm"
    assert ConsentRecord.objects.get(pk=consent.pk).status == "granted"  # nothing yet: confirmation first
    with page.expect_navigation():  # a form post without JavaScript: the answer is a new page
        page.click('[data-testid="optout-confirm"]')
    assert page.locator('[data-testid="optout-done"]').is_visible()
    record = ConsentRecord.objects.get(pk=consent.pk)
    assert record.status == "withdrawn" and record.withdrawn_via == "self_service"
    assert not {r.id for r in recordings} & _usable_ids("store")
    assert AuditEvent.objects.get(action="consent.withdrawn").actor_kind == "speaker"
    page.goto(f"{live_server.url}/optout/{token}/")  # the link again: nothing left to do, said plainly
    assert page.locator('[data-testid="optout-closed"]').is_visible()


def test_speaker_withdraws_one_use_only(live_server, speaker_link, nojs_page):
    from apps.consent.models import ConsentRecord

    consent, token, recordings = speaker_link
    page = nojs_page()
    page.goto(f"{live_server.url}/optout/{token}/")
    page.check('[data-testid="scope-purposes"]')
    page.check('input[name="purposes"][value="train_models"]')
    page.click('[data-testid="optout-continue"]')
    assert "use them to train speech and audio models" in page.content()
    with page.expect_navigation():  # a form post without JavaScript: the answer is a new page
        page.click('[data-testid="optout-confirm"]')
    assert page.locator('[data-testid="optout-done"]').is_visible()
    record = ConsentRecord.objects.get(pk=consent.pk)
    assert record.status == "granted" and record.withdrawn_purposes == ["train_models"]
    assert recordings[0].id in _usable_ids("store") and recordings[0].id not in _usable_ids("train_models")


def test_speaker_withdraws_a_single_recording(live_server, speaker_link, nojs_page):
    consent, token, recordings = speaker_link
    page = nojs_page()
    page.goto(f"{live_server.url}/optout/{token}/")
    page.check('[data-testid="scope-recordings"]')
    page.check(f'input[name="recordings"][value="{recordings[1].id}"]')
    page.click('[data-testid="optout-continue"]')
    with page.expect_navigation():  # a form post without JavaScript: the answer is a new page
        page.click('[data-testid="optout-confirm"]')
    assert page.locator('[data-testid="optout-done"]').is_visible()
    usable = _usable_ids("store")
    assert recordings[0].id in usable and recordings[1].id not in usable


def test_choosing_nothing_gets_a_clear_message(live_server, speaker_link, nojs_page):
    from apps.consent.models import ConsentRecord

    consent, token, _ = speaker_link
    page = nojs_page()
    page.goto(f"{live_server.url}/optout/{token}/")
    page.check('[data-testid="scope-purposes"]')
    page.click('[data-testid="optout-continue"]')
    assert "tick at least one use" in page.locator('[data-testid="optout-error"]').inner_text()
    assert ConsentRecord.objects.get(pk=consent.pk).withdrawn_mask == 0


@pytest.mark.parametrize("kind", ["tampered", "expired"])
def test_bad_links_get_a_clear_page_and_change_nothing(live_server, speaker_link, nojs_page, settings, kind):
    from apps.consent.models import AuditEvent, ConsentRecord

    consent, token, recordings = speaker_link
    if kind == "tampered":
        token = signing.dumps({"c": consent.id + 1, "s": consent.speaker_id}, salt="wrong-salt")
        title = "This link is not valid"
    else:
        settings.EARMARK_OPTOUT_LINK_DAYS = 1
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(
                signing,
                "time",
                __import__("types").SimpleNamespace(time=lambda: (timezone.now() - timedelta(days=2)).timestamp()),
            )
            token = signing.dumps(
                {"c": consent.id, "s": consent.speaker_id}, salt="earmark.consent.optout", compress=True
            )
        title = "This link has expired"
    events = AuditEvent.objects.count()
    page = nojs_page()
    response = page.goto(f"{live_server.url}/optout/{token}/")
    assert response.status in (400, 410)
    assert page.locator('[data-testid="optout-invalid"]').inner_text() == title
    assert "Nothing has been changed" in page.content()
    assert page.locator("form").count() == 0
    assert ConsentRecord.objects.get(pk=consent.pk).status == "granted"
    assert {r.id for r in recordings} <= _usable_ids("store") and AuditEvent.objects.count() == events
