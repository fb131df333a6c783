"""Learning services: every write of the learning app. Other apps (datasets) import from here."""

from apps.learning.services.consent import models_on_withdrawal, models_purge_due
from apps.learning.services.predict import model_latest_ready, recording_suggestions
from apps.learning.services.queue import (
    learning_settings_get,
    learning_settings_set,
    model_score_pool,
    queue_order_describe,
    queue_order_for,
)
from apps.learning.services.training import (
    model_create,
    model_fail,
    model_load,
    model_train,
    models_requeue_stale,
    recipe_clean,
)

__all__ = [
    "learning_settings_get",
    "learning_settings_set",
    "model_create",
    "model_fail",
    "model_latest_ready",
    "model_load",
    "model_score_pool",
    "model_train",
    "models_on_withdrawal",
    "models_purge_due",
    "models_requeue_stale",
    "queue_order_describe",
    "queue_order_for",
    "recipe_clean",
    "recording_suggestions",
]
