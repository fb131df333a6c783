"""Issue 12 in a real browser: on a recording with speech, the annotator's suggestions are Silero VAD's speech
regions (not the energy detector's segments, which also mark the tone bursts), and accepting all of them saves
regions on the speech only."""

import io

import pytest

from tests.annotation.speech_audio import speech_between_tones
from tests.e2e.test_annotator import READY, _labels

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_annotator_offers_speech_regions_in_place_of_energy_segments(
    transactional_db, live_server, logged_in_page, project_with_roles, django_capture_on_commit_callbacks
):
    from apps.annotation.models import Annotation, Region
    from apps.catalog.services import recording_ingest
    from apps.processing.models import Artifact
    from tests.catalog.factories import SpeakerFactory

    project, users = project_with_roles
    _labels(project)
    SpeakerFactory(project=project, code="talker")
    data, (speech_start, speech_end) = speech_between_tones()
    with django_capture_on_commit_callbacks(execute=True):
        result = recording_ingest(project=project, fileobj=io.BytesIO(data), name="fox.wav", speaker_code="talker")
    assert result.status == "accepted", result.message
    import json

    from django.core.files.storage import default_storage

    artifact = Artifact.objects.get(kind="voice_activity")
    with default_storage.open(artifact.key, "rb") as fh:
        regions = json.loads(fh.read())["regions"]
    assert regions

    page = logged_in_page(users["annotator"])
    page.goto(f"{live_server.url}/projects/{project.id}/annotate/")
    page.wait_for_selector(READY, timeout=30000)
    count = page.locator('[data-testid="suggestion-count"]')
    count.wait_for(timeout=15000)
    assert count.inner_text() == f"{len(regions)} suggestion{'' if len(regions) == 1 else 's'} from speech detection"
    page.locator('[data-testid="accept-all-suggestions"]').click()
    page.wait_for_selector('[data-testid="save-state"][data-state="saved"]', timeout=15000)
    annotation = Annotation.objects.get(annotator=users["annotator"])
    for _ in range(150):  # the last autosave may still be on its way
        if Region.objects.filter(annotation=annotation).count() == len(regions):
            break
        page.wait_for_timeout(100)
    saved = sorted((float(r.start), float(r.end)) for r in Region.objects.filter(annotation=annotation))
    assert saved == pytest.approx(sorted((r["start"], r["end"]) for r in regions), abs=0.002)
    assert all(speech_start - 0.3 <= a < b <= speech_end + 0.3 for a, b in saved)  # none on the tone bursts
    assert not page.console_errors
