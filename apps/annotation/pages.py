"""The annotator page: markup from the template, behaviour from the static bundle, data from the API."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse

from apps.annotation.selectors import ANNOTATE_ROLES, annotation_get
from apps.core.permissions import project_role_get


def _render(request, *, project_id, annotation_id=None):
    config = {
        "project_id": project_id,
        "annotation_id": annotation_id,
        "mode": "annotate",
        "api_base": "/api/v1",
        "csrf_token": get_token(request),
        "user_id": request.user.id,
        "next_url": reverse("catalog:project-detail", args=[project_id]),
    }
    return render(request, "annotation/annotator.html", {"config": config})


@login_required
def annotate_page(request, project_id):
    role = project_role_get(request.user, project_id)
    if role is None:
        raise Http404("No such project.")
    if role not in ANNOTATE_ROLES:
        raise PermissionDenied("Annotating needs the annotator or manager role in this project.")
    return _render(request, project_id=project_id)


@login_required
def annotation_edit_page(request, annotation_id):
    annotation = annotation_get(request.user, annotation_id, for_edit=True)
    return _render(request, project_id=annotation.project_id, annotation_id=annotation.id)
