"""Models API and pages, provenance on saved regions, and the queue order active learning chooses."""

import pytest

from apps.annotation.models import Annotation, AnnotationVersion, Region
from apps.learning.models import ModelState, ProjectModel, RecordingScore
from tests.learning.conftest import train

pytestmark = pytest.mark.django_db


def test_train_list_compare_detail_and_refusals(learning_world, api, django_capture_on_commit_callbacks):
    w = learning_world
    project = w["project"]
    manager = api(w["users"]["manager"])
    with django_capture_on_commit_callbacks(execute=True):
        res = manager.post(
            f"/api/v1/projects/{project.id}/models/",
            {"task": "region", "backend": "sklearn", "recipe": {"C": 0.5}},
            format="json",
        )
    assert res.status_code == 202, res.content
    model_id = res.json()["id"]
    detail = manager.get(f"/api/v1/models/{model_id}/").json()
    assert detail["state"] == "ready" and detail["percent"] == 100.0 and detail["recipe"]["C"] == 0.5
    assert detail["metrics"]["accuracy"] is not None and "recording_ids" not in str(detail)
    listed = manager.get(f"/api/v1/projects/{project.id}/models/").json()
    assert [m["id"] for m in listed["results"]] == [model_id]
    rows = manager.get(f"/api/v1/projects/{project.id}/models/compare/").json()["results"]
    assert rows[0]["accuracy"] == detail["metrics"]["accuracy"]

    bad = manager.post(f"/api/v1/projects/{project.id}/models/", {"backend": "svm"}, format="json")
    assert bad.status_code == 400 and "backend" in bad.json()["detail"]
    bad = manager.post(f"/api/v1/projects/{project.id}/models/", {"recipe": {"epochs": 3}}, format="json")
    assert bad.status_code == 400 and "epochs is not a setting of the sklearn backend" in bad.json()["detail"]
    bad = manager.post(f"/api/v1/projects/{project.id}/models/", {"task": "clip"}, format="json")
    assert bad.status_code == 400 and "two clip labels" in bad.json()["detail"]
    assert ProjectModel.objects.count() == 1  # refusals leave nothing behind
    annotator = api(w["users"]["annotator"])
    assert annotator.post(f"/api/v1/projects/{project.id}/models/", {}, format="json").status_code == 403
    assert annotator.get(f"/api/v1/models/{model_id}/").status_code == 200
    assert api(w["users"]["viewer"]).get("/api/v1/models/999999/").status_code == 404


def test_model_page_draws_plots_and_keeps_label_text_literal(
    learning_world, client, django_capture_on_commit_callbacks
):
    w = learning_world
    w["labels"]["high"].name = "$x^2$ high"
    w["labels"]["high"].save()
    model = train(w["project"], w["users"]["manager"], django_capture_on_commit_callbacks)
    client.force_login(w["users"]["manager"])
    page = client.get(f"/models/{model.id}/").content.decode()
    assert 'data-testid="plot-confusion"' in page and 'data-testid="plot-curve"' in page
    assert "$x^2$ high" in page  # drawn as typed, not as mathtext
    listing = client.get(f"/projects/{w['project'].id}/models/").content.decode()
    assert f"/models/{model.id}/" in listing and "Queue order" in listing


def test_failed_training_says_why(project_with_roles, django_capture_on_commit_callbacks):
    from apps.annotation.models import Label

    project, users = project_with_roles
    for name in ("a", "b"):
        Label.objects.create(project=project, kind="region", name=name)
    model = train(project, users["manager"], django_capture_on_commit_callbacks)
    assert model.state == ModelState.FAILED
    assert "at least two labels" in model.error and not model.artifact_key


def test_uncertainty_order_uses_the_latest_ready_model(learning_world, api, django_capture_on_commit_callbacks):
    w = learning_world
    project = w["project"]
    manager = api(w["users"]["manager"])
    res = manager.put(f"/api/v1/projects/{project.id}/learning/", {"queue_order": "uncertainty"}, format="json")
    assert res.status_code == 200 and "once a model is ready" in res.json()["text"]
    assert (
        manager.put(f"/api/v1/projects/{project.id}/learning/", {"queue_order": "best"}, format="json").status_code
        == 400
    )
    model = train(project, w["users"]["manager"], django_capture_on_commit_callbacks)
    scores = {s.recording_id: s.priority for s in RecordingScore.objects.filter(model=model)}
    assert len(scores) == 7  # every recording usable for annotation and not done yet
    described = manager.get(f"/api/v1/projects/{project.id}/learning/").json()
    assert described["model"] == model.id and f"v{model.version}" in described["text"]
    # The queue hands out the highest priority first.
    RecordingScore.objects.filter(model=model).update(priority=0.0)
    target = w["recordings"][4]
    RecordingScore.objects.filter(model=model, recording=target).update(priority=5.0)
    got = api(w["users"]["annotator"]).post(f"/api/v1/projects/{project.id}/queue/next/")
    assert got.status_code == 200 and got.json()["recording"]["id"] == target.id


def test_queue_priorities_are_the_active_learning_order_with_the_projects_settings(
    learning_world, django_capture_on_commit_callbacks
):
    from apps.learning.models import TrainingExample
    from apps.learning.services import learning_settings_set, model_load, model_score_pool

    w = learning_world
    project = w["project"]
    learning_settings_set(project_id=project.id, queue_order="uncertainty", coverage_weight=1.0)
    model = train(project, w["users"]["manager"], django_capture_on_commit_callbacks)
    heard_speakers = set(
        TrainingExample.objects.filter(model=model, split="train").values_list("speaker_id", flat=True)
    )

    def queue(field):
        rows = RecordingScore.objects.filter(model=model).select_related("recording").order_by("-priority")
        return [getattr(r, field) if field != "heard" else r.recording.speaker_id in heard_speakers for r in rows]

    # One place each: the queue serves the order as it was chosen.
    assert sorted(queue("priority")) == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    # Coverage alone: recordings of speakers (and languages) the model never trained on come first.
    heard = queue("heard")
    assert heard == sorted(heard) and heard[0] is False and heard[-1] is True
    engine = model_load(model)
    # Uncertainty alone: the smallest margin first, or with entropy chosen, the highest entropy first.
    learning_settings_set(project_id=project.id, coverage_weight=0.0)
    model_score_pool(model=model, engine=engine)
    assert queue("margin") == sorted(queue("margin"))
    learning_settings_set(project_id=project.id, uncertainty="entropy")
    model_score_pool(model=model, engine=engine)
    assert queue("entropy") == sorted(queue("entropy"), reverse=True)


def test_accepted_suggestion_keeps_its_provenance_in_history(learning_world, api, django_capture_on_commit_callbacks):
    w = learning_world
    model = train(w["project"], w["users"]["manager"], django_capture_on_commit_callbacks)
    annotator = api(w["users"]["annotator"])
    item = annotator.post(f"/api/v1/projects/{w['project'].id}/queue/next/").json()
    rec_id = item["recording"]["id"]
    suggestion = annotator.get(f"/api/v1/recordings/{rec_id}/suggestions").json()
    s = suggestion["regions"][0]
    source = {
        "model": model.id,
        "version": model.version,
        "label": s["label"],
        "confidence": s["confidence"],
        "start": s["start"],
        "end": s["end"],
    }
    region = {"id": "acc-1", "start": s["start"], "end": s["end"], "label": s["label"], "source": source}
    aid = item["annotation"]["id"]
    res = annotator.put(
        f"/api/v1/annotations/{aid}/", {"version": 0, "regions": [region], "clip_labels": []}, format="json"
    )
    assert res.status_code == 200, res.content
    assert res.json()["regions"][0]["source"]["model"] == model.id
    assert Region.objects.get(annotation_id=aid, uid="acc-1").source["version"] == model.version
    assert AnnotationVersion.objects.get(annotation_id=aid, version=1).regions[0]["source"]["model"] == model.id
    bad = {**region, "source": {"model": "x", "version": 1, "confidence": 2}}
    res = annotator.put(
        f"/api/v1/annotations/{aid}/", {"version": 1, "regions": [bad], "clip_labels": []}, format="json"
    )
    assert res.status_code == 400 and res.json()["detail"] == "regions[0].source.model must be a positive whole number."
    assert Annotation.objects.get(pk=aid).version == 1
