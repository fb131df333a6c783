"""Consent by construction: a withdrawal stales every model that saw the speaker, queues a retrain without
them, and the old artifact is purged after the same grace period as audio, verified gone from storage."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.catalog.services.purge import storage_delete_verified
from apps.consent.purposes import Purpose
from apps.consent.services.audit import audit_record
from apps.learning.models import ModelState, ProjectModel, RecordingScore, TrainingExample
from apps.learning.services.training import model_create

LIVE = (ModelState.TRAINING, ModelState.READY)


def models_on_withdrawal(*, recording_ids, lost: dict, reason: str, **_ignored) -> dict:
    """Hook RECORDINGS_WITHDRAWN: models that saw a recording no longer usable for training turn stale at once.

    Inside the withdrawal's transaction: stale state and purge date on each model (no suggestions from it
    from now on), an audit event per model (ids only), a retrain of the same recipe queued after commit
    (it reads the selector afresh, so without the withdrawn recordings). Returns counts for the summary.
    """
    gone = set(lost.get(Purpose.TRAIN_MODELS, set())) | set(lost.get(Purpose.STORE, set()))
    if not gone:
        return {"models_stale": 0}
    now = timezone.now()
    due = now + timedelta(days=float(settings.EARMARK_PURGE_GRACE_DAYS))
    ids = sorted(set(TrainingExample.objects.filter(recording_id__in=gone).values_list("model_id", flat=True)))
    models = list(ProjectModel.objects.select_for_update().filter(pk__in=ids, state__in=LIVE).order_by("id"))
    retrains = 0
    for model in models:
        ProjectModel.objects.filter(pk=model.pk).update(
            state=ModelState.STALE, stale_at=now, purge_due_at=due, stage="stale"
        )
        RecordingScore.objects.filter(model=model).delete()
        retrain = None
        if model.release_id is None and not ProjectModel.objects.filter(retrain_of=model).exists():
            recipe = {k: v for k, v in model.recipe.items() if k != "backend"}
            retrain = model_create(
                project_id=model.project_id,
                actor=None,
                task=model.task,
                backend=model.backend,
                recipe=recipe,
                retrain_of=model,
            )
            retrains += 1
        audit_record(
            actor="system",
            action="model.stale",
            object_type="model",
            object_id=model.pk,
            project_id=model.project_id,
            data={
                "version": model.version,
                "reason": reason,
                "purge_due_days": settings.EARMARK_PURGE_GRACE_DAYS,
                "retrain_model_id": retrain.pk if retrain else None,
                "recordings_withdrawn": len(
                    gone & set(TrainingExample.objects.filter(model=model).values_list("recording_id", flat=True))
                ),
            },
        )
    if models and float(settings.EARMARK_PURGE_GRACE_DAYS) <= 0:
        from apps.learning.tasks import purge_models

        transaction.on_commit(purge_models.delay)
    return {"models_stale": len(models), "models_retrain_queued": retrains}


def models_purge_due(*, now=None) -> int:
    """Delete the artifacts of stale models past their grace period, verify they are gone, audit; returns how many."""
    now = now or timezone.now()
    count = 0
    for model_id in ProjectModel.objects.filter(state=ModelState.STALE, purge_due_at__lte=now).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            model = ProjectModel.objects.select_for_update().filter(pk=model_id, state=ModelState.STALE).first()
            if model is None:
                continue
            existed = storage_delete_verified(model.artifact_key)  # raises if the object survives
            ProjectModel.objects.filter(pk=model.pk).update(
                state=ModelState.PURGED, purged_at=now, artifact_key="", stage="purged"
            )
            audit_record(
                actor="system",
                action="model.purged",
                object_type="model",
                object_id=model.pk,
                project_id=model.project_id,
                data={"version": model.version, "objects_deleted": int(existed)},
            )
            count += 1
    return count
