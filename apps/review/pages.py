"""Review pages: the reviewer's queue and one annotation in review mode (the annotator's page), the dashboard."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from apps.accounts.permissions import ANYONE
from apps.accounts.selectors import role_in
from apps.annotation.selectors import annotation_get
from apps.catalog.models import Project
from apps.review import agreement
from apps.review.dashboard import dashboard_render
from apps.review.services import REVIEW_ROLES


def _project_for(request, project_id, roles):
    role = role_in(request.user, project_id)
    if role is None or role not in roles:
        raise Http404("No such project.")
    return get_object_or_404(Project, id=project_id), role


def _config(request, project_id, annotation_id):
    return {
        "project_id": project_id, "annotation_id": annotation_id, "mode": "review", "api_base": "/api/v1",
        "csrf_token": get_token(request), "user_id": request.user.id,
        "next_url": reverse("catalog:project-detail", args=[project_id]),
    }


@login_required
def review_queue_page(request, project_id):
    """The annotator page in review mode: it asks ``review/next/`` for each item."""
    project, _ = _project_for(request, project_id, REVIEW_ROLES)
    return render(request, "annotation/annotator.html",
                  {"project": project, "config": _config(request, project_id, None)})


@login_required
def annotation_review_page(request, annotation_id):
    annotation = annotation_get(request.user, annotation_id)
    project, _ = _project_for(request, annotation.project_id, REVIEW_ROLES)
    return render(request, "annotation/annotator.html",
                  {"project": project, "annotation": annotation,
                   "config": _config(request, annotation.project_id, annotation.id)})


@login_required
def dashboard_page(request, project_id):
    project, role = _project_for(request, project_id, ANYONE)
    rows = []
    if role in agreement.AGREEMENT_ROLES:
        rows = agreement.project_agreement_cached(actor=request.user, project_id=project_id)["annotators"]
    context = dashboard_render(actor=request.user, project_id=project_id, agreement_rows=rows)
    return render(request, "review/dashboard.html", {"project": project, "role": role, **context,
                                                     "agreement_rows": rows})
