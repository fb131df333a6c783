"""On a real Celery worker (Redis, the train queue), with local storage and with S3 on moto's server:
train → withdraw → stale at once, no suggestions → retrain without the speaker → old artifact purged and gone."""

import pytest
from django.core.files.storage import default_storage

from apps.learning.models import ModelState, ProjectModel, TrainingExample
from tests.conftest import s3_keys

pytestmark = [pytest.mark.services, pytest.mark.xdist_group("worker")]

QUEUES = "default,dsp,exports,train"


def _run(w, api, live_worker, settings, exists):
    settings.EARMARK_PURGE_GRACE_DAYS = 0
    worker = live_worker(QUEUES)
    manager = api(w["users"]["manager"])
    project = w["project"]
    res = manager.post(f"/api/v1/projects/{project.id}/models/", {"backend": "sklearn"}, format="json")
    assert res.status_code == 202, res.content
    model_id = res.json()["id"]
    worker.wait_for(
        lambda: ProjectModel.objects.get(pk=model_id).state != ModelState.TRAINING,
        timeout=180,
        what="training on the train queue",
    )
    model = ProjectModel.objects.get(pk=model_id)
    assert model.state == ModelState.READY, model.error
    key = model.artifact_key
    assert exists(key)
    rec = w["recordings"][2]
    assert manager.get(f"/api/v1/recordings/{rec.id}/suggestions").json()["model"]["id"] == model_id

    gone = w["speakers"][0]
    res = manager.post(f"/api/v1/consents/{gone.consent_records.get().id}/withdraw/", {}, format="json")
    assert res.status_code == 200, res.content
    # At once, before any worker ran: stale, and no suggestions from it.
    assert ProjectModel.objects.get(pk=model_id).state == ModelState.STALE
    body = manager.get(f"/api/v1/recordings/{rec.id}/suggestions").json()
    assert body["model"] is None or body["model"]["id"] != model_id

    retrain = ProjectModel.objects.get(retrain_of_id=model_id)
    worker.wait_for(
        lambda: ProjectModel.objects.get(pk=retrain.id).state != ModelState.TRAINING, timeout=180, what="the retrain"
    )
    retrain.refresh_from_db()
    assert retrain.state == ModelState.READY, retrain.error
    assert not TrainingExample.objects.filter(model=retrain, speaker=gone).exists()
    assert TrainingExample.objects.filter(model=retrain).exists()
    worker.wait_for(
        lambda: ProjectModel.objects.get(pk=model_id).state == ModelState.PURGED,
        timeout=120,
        what="the purge of the stale model's artifact",
    )
    assert not exists(key)
    assert exists(retrain.artifact_key)
    body = manager.get(f"/api/v1/recordings/{rec.id}/suggestions").json()
    assert body["model"]["id"] == retrain.id


def test_withdrawal_retrain_and_purge_on_a_worker_local(learning_world, api, live_worker, settings):
    _run(learning_world, api, live_worker, settings, default_storage.exists)


@pytest.mark.s3
def test_withdrawal_retrain_and_purge_on_a_worker_s3(s3_storage, learning_world, api, live_worker, settings):
    client, bucket = s3_storage
    assert learning_world["project"]
    _run(learning_world, api, live_worker, settings, lambda key: key in s3_keys(client, bucket, "models/"))
