"""Reads with rules: which models a user may see (members of the model's project)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from apps.accounts.selectors import project_ids_for
from apps.learning.models import ProjectModel


def model_list(actor, *, project_id: int | None = None) -> QuerySet:
    """Models of the projects ``actor`` belongs to, newest first."""
    qs = ProjectModel.objects.all()
    ids = project_ids_for(actor)
    if ids is not None:
        qs = qs.filter(project_id__in=ids)
    if project_id is not None:
        qs = qs.filter(project_id=project_id)
    return qs.order_by("-version")


def model_get(actor, model_id) -> ProjectModel:
    """One model ``actor`` may see, or Http404 (the same answer for missing and forbidden)."""
    try:
        return model_list(actor).select_related("project").get(pk=model_id)
    except (ProjectModel.DoesNotExist, ValueError, TypeError):
        raise Http404("No such model.") from None


def model_json(model: ProjectModel) -> dict:
    """A model as the API shows it: counts of what it saw, never the recordings' ids (they may be withdrawn)."""
    metrics = dict(model.metrics or {})
    return {
        "id": model.pk,
        "project": model.project_id,
        "version": model.version,
        "task": model.task,
        "backend": model.backend,
        "recipe": model.recipe,
        "state": model.state,
        "stage": model.stage,
        "percent": model.percent,
        "error": model.error or None,
        "classes": [{"label": int(i), "name": n} for i, n in model.classes],
        "counts": model.counts,
        "metrics": metrics,
        "retrain_of": model.retrain_of_id,
        "release": model.release_id,
        "created_at": model.created_at,
        "started_at": model.started_at,
        "finished_at": model.finished_at,
        "stale_at": model.stale_at,
        "purge_due_at": model.purge_due_at,
        "purged_at": model.purged_at,
    }
