"""Webhook pages for managers: endpoints of a project (and a form to add one), one endpoint's deliveries."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from rest_framework.exceptions import PermissionDenied

from apps.catalog.models import Project
from apps.core.errors import DomainError
from apps.events import services
from apps.events.models import Event
from apps.events.selectors import delivery_list, webhook_get, webhook_list


@login_required
def webhook_list_page(request, project_id):
    try:
        endpoints = webhook_list(actor=request.user, project_id=project_id)
    except PermissionDenied:
        raise Http404("No such project.") from None
    error, status, created = None, 200, None
    if request.method == "POST":
        try:
            created = services.webhook_endpoint_create(
                actor=request.user,
                project_id=project_id,
                url=request.POST.get("url", "").strip(),
                events=request.POST.getlist("events"),
                description=request.POST.get("description", ""),
            )
        except DomainError as exc:
            error, status = exc.message, 400
    return render(
        request,
        "events/webhook_list.html",
        {
            "project": Project.objects.get(id=project_id),
            "endpoints": endpoints,
            "events": Event.choices,
            "error": error,
            "created": created,
            "form": request.POST,
        },
        status=status,
    )


@login_required
def webhook_detail_page(request, webhook_id):
    endpoint = webhook_get(actor=request.user, endpoint_id=webhook_id)
    if request.method == "POST" and request.POST.get("delete"):
        project_id = endpoint.project_id
        services.webhook_endpoint_delete(actor=request.user, endpoint=endpoint)
        return redirect("events:webhook-list", project_id=project_id)
    return render(
        request,
        "events/webhook_detail.html",
        {
            "endpoint": endpoint,
            "project": endpoint.project,
            "deliveries": delivery_list(endpoint=endpoint)[:200],
        },
    )
