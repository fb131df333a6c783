"""Thin Celery entry points: training on its own queue ("train"), and the purge of stale models' artifacts."""

from celery import shared_task
from django.conf import settings

from apps.learning.models import ModelState, ProjectModel
from apps.learning.services import model_fail, model_train, models_purge_due, models_requeue_stale


def _on_failure(self, exc, task_id, args, kwargs, einfo):
    if args:
        model_fail(model_id=args[0], error=f"training stopped: {type(exc).__name__}")


@shared_task(
    name="learning.train_model",
    acks_late=True,
    on_failure=_on_failure,
    soft_time_limit=settings.EARMARK_TRAIN_SOFT_TIME_LIMIT,
    time_limit=settings.EARMARK_TRAIN_SOFT_TIME_LIMIT + 60,
)
def train_model(model_id: int) -> str:
    """Train one queued model (skipped when it is gone or no longer waiting)."""
    if not ProjectModel.objects.filter(pk=model_id, state=ModelState.TRAINING).exists():
        return "skipped"
    model = model_train(model_id=model_id)
    return model.state if model is not None else "taken"


@shared_task(
    name="learning.purge_models",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=600,
    time_limit=660,
    acks_late=True,
)
def purge_models() -> int:
    """Delete artifacts of stale models whose grace period is over (verified gone)."""
    return models_purge_due()


@shared_task(name="learning.requeue_stale", soft_time_limit=120, time_limit=180)
def requeue_stale() -> dict:
    """Re-send training whose worker died (lease expired); give up after 3 attempts."""
    return models_requeue_stale()
