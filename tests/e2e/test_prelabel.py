"""Pre-labelling in a real browser: the project model's suggestions are accepted in the annotator, and the saved
regions carry the model's provenance (id and version) in the annotation and its history."""

import pytest

from tests.learning.conftest import learning_world, train  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

READY = '[data-testid="interactive"][data-ready="true"]'


def test_accept_model_suggestions_saves_their_provenance(
    transactional_db, live_server, logged_in_page, learning_world, django_capture_on_commit_callbacks
):
    from apps.annotation.models import Annotation, AnnotationVersion, Region
    from apps.learning.models import ModelState

    w = learning_world
    model = train(w["project"], w["users"]["manager"], django_capture_on_commit_callbacks)
    assert model.state == ModelState.READY, model.error
    annotator = w["users"]["annotator"]
    page = logged_in_page(annotator)
    page.goto(f"{live_server.url}/projects/{w['project'].id}/annotate/")
    page.wait_for_selector(READY, timeout=30000)
    count = page.locator('[data-testid="suggestion-count"]')
    count.wait_for(timeout=15000)
    assert f"from model v{model.version}" in count.inner_text()
    assert "Queue:" in page.locator('[data-testid="queue-order"]').inner_text()
    captions = page.locator('[data-testid="suggestion-caption"]')
    assert captions.count() >= 1 and "%" in captions.first.inner_text()
    offered = int(count.inner_text().split()[0])

    page.locator('[data-testid="suggestion-accept"]').first.click()  # one by one...
    page.wait_for_selector('[data-testid="region-source"]', timeout=10000)
    if offered > 1:
        page.locator('[data-testid="accept-all-suggestions"]').click()  # ...then all at once
    page.wait_for_selector('[data-testid="save-state"][data-state="saved"]', timeout=15000)
    annotation = Annotation.objects.get(annotator=annotator)

    for _ in range(150):  # the last autosave may still be on its way
        if Region.objects.filter(annotation=annotation).count() == offered:
            break
        page.wait_for_timeout(100)
    assert Region.objects.filter(annotation=annotation).count() == offered
    regions = list(Region.objects.filter(annotation=annotation))
    assert all(r.source and r.source["model"] == model.id and r.source["version"] == model.version for r in regions)
    assert all(r.label_id == r.source["label"] for r in regions)  # accepted with the model's label
    latest = AnnotationVersion.objects.filter(annotation=annotation).order_by("-version").first()
    assert all(r["source"]["model"] == model.id for r in latest.regions)
    assert page.locator('[data-testid="region-source"]').count() == offered
