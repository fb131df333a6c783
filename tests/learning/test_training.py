"""Training reads only what consent allows, records exactly what it saw, and scores on unseen speakers."""

import pytest
from django.core.files.storage import default_storage

from apps.learning.models import ModelState, RecordingScore, TrainingExample
from tests.learning.conftest import train

pytestmark = pytest.mark.django_db


def test_region_model_trains_and_scores_on_speakers_it_never_saw(learning_world, django_capture_on_commit_callbacks):
    w = learning_world
    model = train(w["project"], w["users"]["manager"], django_capture_on_commit_callbacks)
    assert model.state == ModelState.READY, model.error
    assert default_storage.exists(model.artifact_key)
    assert [name for _, name in model.classes] == ["low", "high"]
    train_spk = set(TrainingExample.objects.filter(model=model, split="train").values_list("speaker_id", flat=True))
    test_spk = set(TrainingExample.objects.filter(model=model, split="test").values_list("speaker_id", flat=True))
    assert train_spk and test_spk and not train_spk & test_spk
    m = model.metrics
    assert m["accuracy"] > m["chance"] and m["accuracy"] >= 0.8, m
    assert len(m["confusion"]) == 2 and m["curve"]
    assert model.counts["train"]["speakers"] + model.counts["test"]["speakers"] == 6


def test_model_never_sees_a_recording_not_usable_for_train_models(learning_world, django_capture_on_commit_callbacks):
    w = learning_world
    # Take the excluded recording's derived files away: reading them at all would fail the training.
    from apps.processing.services.artifacts import artifacts_delete_for_source

    artifacts_delete_for_source(source_sha256=w["excluded"].sha256)
    model = train(w["project"], w["users"]["manager"], django_capture_on_commit_callbacks)
    assert model.state == ModelState.READY, model.error
    seen = set(TrainingExample.objects.filter(model=model).values_list("recording_id", flat=True))
    assert seen == {r.id for r in w["recordings"]}
    assert w["excluded"].id not in seen
    assert w["no_train"].id not in set(TrainingExample.objects.filter(model=model).values_list("speaker_id", flat=True))


def test_same_seed_same_split_and_figures(learning_world, django_capture_on_commit_callbacks):
    w = learning_world
    a = train(w["project"], w["users"]["manager"], django_capture_on_commit_callbacks, recipe={"seed": 3})
    b = train(w["project"], w["users"]["manager"], django_capture_on_commit_callbacks, recipe={"seed": 3})

    def split(m):
        return sorted(TrainingExample.objects.filter(model=m).values_list("region_id", "split"))

    assert split(a) == split(b)
    assert a.metrics["accuracy"] == b.metrics["accuracy"] and b.version == a.version + 1


def test_cnn_backend_trains_with_augmentation(learning_world, django_capture_on_commit_callbacks):
    w = learning_world
    model = train(
        w["project"],
        w["users"]["manager"],
        django_capture_on_commit_callbacks,
        backend="cnn",
        recipe={"epochs": 3, "copies": 1, "width": 8},
    )
    assert model.state == ModelState.READY, model.error
    assert [p["step"] for p in model.metrics["curve"]] == [1, 2, 3]
    assert all("train_loss" in p for p in model.metrics["curve"])
    # Its queue order clusters the network's own features (embed): every waiting recording has a place.
    places = sorted(RecordingScore.objects.filter(model=model).values_list("priority", flat=True))
    assert places == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]


def test_a_killed_run_is_resent_then_given_up(learning_world, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from apps.learning.models import ProjectModel
    from apps.learning.services import model_create, models_requeue_stale

    w = learning_world
    model = model_create(project_id=w["project"].id, actor=w["users"]["manager"], enqueue=False)
    expired = timezone.now() - timedelta(seconds=1)
    # A worker claimed it and died: its lease ran out.
    ProjectModel.objects.filter(pk=model.pk).update(claim_token="dead", lease_expires_at=expired, attempts=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert models_requeue_stale() == {"resent": 1, "failed": 0}
    model.refresh_from_db()
    assert model.state == ModelState.READY and model.attempts == 2, model.error
    other = model_create(project_id=w["project"].id, actor=w["users"]["manager"], enqueue=False)
    ProjectModel.objects.filter(pk=other.pk).update(claim_token="dead", lease_expires_at=expired, attempts=3)
    assert models_requeue_stale() == {"resent": 0, "failed": 1}
    other.refresh_from_db()
    assert other.state == ModelState.FAILED and "interrupted 3 times" in other.error
