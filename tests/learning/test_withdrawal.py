"""A withdrawal stales every model that saw the speaker at once, queues a retrain without them, purges the artifact."""

import pytest
from django.core.files.storage import default_storage

from apps.consent.models import AuditEvent
from apps.consent.services import consent_withdraw
from apps.learning.models import ModelState, ProjectModel, TrainingExample
from apps.learning.services import models_purge_due
from tests.learning.conftest import train

pytestmark = pytest.mark.django_db


def test_withdrawal_stales_model_at_once_retrains_without_speaker_and_purges_after_grace(
    learning_world, api, settings, django_capture_on_commit_callbacks
):
    w = learning_world
    settings.EARMARK_PURGE_GRACE_DAYS = 7
    manager = w["users"]["manager"]
    model = train(w["project"], manager, django_capture_on_commit_callbacks)
    assert model.state == ModelState.READY, model.error
    rec = w["recordings"][0]
    client = api(manager)
    before = client.get(f"/api/v1/recordings/{rec.id}/suggestions").json()
    assert before["model"] == {"id": model.id, "version": model.version, "backend": "sklearn"}
    assert before["regions"]
    gone = w["speakers"][1]
    assert TrainingExample.objects.filter(model=model, speaker=gone).exists()

    with django_capture_on_commit_callbacks(execute=True):  # the retrain runs (eagerly) once the withdrawal commits
        result = consent_withdraw(consent_id=gone.consent_records.get().id, actor=manager)
    assert result["models_stale"] == 1 and result["models_retrain_queued"] == 1
    model.refresh_from_db()
    assert model.state == ModelState.STALE and model.stale_at is not None
    retrain = ProjectModel.objects.get(retrain_of=model)
    assert retrain.state == ModelState.READY, retrain.error
    assert not TrainingExample.objects.filter(model=retrain, speaker=gone).exists()
    assert TrainingExample.objects.filter(model=retrain).exists()
    # Suggestions come from the retrain now, never from the stale model.
    after = client.get(f"/api/v1/recordings/{rec.id}/suggestions").json()
    assert after["model"]["id"] == retrain.id
    audit = AuditEvent.objects.filter(action="model.stale", object_id=model.id).get()
    assert audit.data["retrain_model_id"] == retrain.id

    # Within the grace period the artifact stays; after it, it is deleted and verified gone.
    assert models_purge_due() == 0 and default_storage.exists(model.artifact_key)
    key = model.artifact_key
    ProjectModel.objects.filter(pk=model.pk).update(purge_due_at=model.stale_at)
    assert models_purge_due() == 1
    model.refresh_from_db()
    assert model.state == ModelState.PURGED and not default_storage.exists(key) and model.artifact_key == ""
    assert AuditEvent.objects.filter(action="model.purged", object_id=model.id).exists()
    assert default_storage.exists(retrain.artifact_key)


def test_stale_model_gives_no_suggestions(learning_world, api, settings, django_capture_on_commit_callbacks):
    w = learning_world
    manager = w["users"]["manager"]
    model = train(w["project"], manager, django_capture_on_commit_callbacks)
    consent_withdraw(consent_id=w["speakers"][0].consent_records.get().id, actor=manager)  # retrain not run
    model.refresh_from_db()
    assert model.state == ModelState.STALE
    body = api(manager).get(f"/api/v1/recordings/{w['recordings'][2].id}/suggestions").json()
    assert body == {"model": None, "regions": [], "clip": None}


def test_withdrawing_only_train_models_stales_too(learning_world, settings, django_capture_on_commit_callbacks):
    w = learning_world
    manager = w["users"]["manager"]
    model = train(w["project"], manager, django_capture_on_commit_callbacks)
    consent_withdraw(consent_id=w["speakers"][3].consent_records.get().id, actor=manager, purposes=["train_models"])
    model.refresh_from_db()
    assert model.state == ModelState.STALE


def test_withdrawal_of_a_speaker_the_model_never_saw_leaves_it_ready(
    learning_world, django_capture_on_commit_callbacks
):
    w = learning_world
    manager = w["users"]["manager"]
    model = train(w["project"], manager, django_capture_on_commit_callbacks)
    consent_withdraw(consent_id=w["no_train"].consent_records.get().id, actor=manager)
    model.refresh_from_db()
    assert model.state == ModelState.READY
