"""A release that asks for a baseline gets one (trained on its train split, scored on its test split), and every
card reports the share of regions a model suggested and how many were accepted unchanged."""

import pytest

from apps.annotation.models import Region
from apps.learning.models import ModelState, ProjectModel

pytestmark = pytest.mark.django_db


def _build(project, manager, spec):
    from apps.datasets.services import release_build, release_create

    release = release_create(actor=manager, project_id=project.id, spec=spec, enqueue=False)
    release_build(release_id=release.id)
    release.refresh_from_db()
    assert release.status == "ready", release.error
    return release


def test_release_baseline_and_prelabel_share_on_the_card(learning_world):
    w = learning_world
    regions = list(Region.objects.filter(annotation__recording=w["recordings"][0]).order_by("start"))
    a, b = regions[0], regions[1]
    a.source = {"model": 1, "version": 1, "label": a.label_id, "confidence": 0.9, "start": a.start, "end": a.end}
    b.source = {"model": 1, "version": 1, "label": b.label_id, "confidence": 0.6, "start": b.start - 0.1, "end": b.end}
    Region.objects.bulk_update([a, b], ["source"])
    spec = {
        "unit": "region",
        "formats": ["jsonl"],
        "filters": {"qa": "any", "accepted_only": True},
        "splits": {"train": 0.7, "test": 0.3},
        "baseline": True,
    }
    release = _build(w["project"], w["users"]["manager"], spec)
    card = release.data_card
    total = Region.objects.filter(annotation__recording__in=w["recordings"]).count()
    assert f"2 of {total} labelled regions" in card and "1 (" in card.split("Pre-labelling")[1]
    assert "## Baseline" in card and "accuracy" in card.split("## Baseline")[1]
    baseline = ProjectModel.objects.get(release_id=release.id)
    assert baseline.state == ModelState.READY
    # It was scored on exactly the release's test split.
    test_recordings = set(release.items.filter(split="test").values_list("recording_ref", flat=True))
    assert set(baseline.examples.filter(split="test").values_list("recording_id", flat=True)) <= test_recordings
    assert test_recordings & set(baseline.examples.filter(split="test").values_list("recording_id", flat=True))
    # Release baselines never suggest labels in the annotator.
    from apps.learning.services import model_latest_ready

    assert model_latest_ready(project_id=w["project"].id) is None


def test_baseline_spec_refusals(learning_world, api):
    w = learning_world
    client = api(w["users"]["manager"])
    url = f"/api/v1/projects/{w['project'].id}/releases/"
    res = client.post(url, {"spec": {"baseline": "svm"}}, format="json")
    assert res.status_code == 400 and "baseline must be true, false or a backend" in res.json()["detail"]
    res = client.post(url, {"spec": {"baseline": True, "splits": {"train": 1.0}}}, format="json")
    assert res.status_code == 400 and "test split" in res.json()["detail"]
