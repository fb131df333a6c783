"""Reads with rules: webhooks are a project's managers' business alone."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from apps.accounts.selectors import project_ids_for
from apps.core.permissions import MANAGERS, project_role_require
from apps.events.models import WebhookDelivery, WebhookEndpoint


def webhook_list(*, actor, project_id: int) -> QuerySet:
    """A project's endpoints (managers; 404 outside the project, 403 for other roles)."""
    project_role_require(actor, project_id, MANAGERS)
    return WebhookEndpoint.objects.filter(project_id=project_id).order_by("-id")


def webhook_get(*, actor, endpoint_id: int) -> WebhookEndpoint:
    """One endpoint of a project the actor manages; 404 for missing and for anyone else's alike."""
    ids = project_ids_for(actor, MANAGERS)
    qs = WebhookEndpoint.objects.select_related("project")
    if ids is not None:
        qs = qs.filter(project_id__in=ids)
    endpoint = qs.filter(id=endpoint_id).first()
    if endpoint is None:
        raise Http404("No such webhook.")
    return endpoint


def delivery_list(*, endpoint: WebhookEndpoint) -> QuerySet:
    return WebhookDelivery.objects.filter(endpoint=endpoint).order_by("-id")
