"""Server-rendered processing page: the project's recipe, its jobs with progress, and a reprocess button."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.catalog.selectors import project_page_get
from apps.core.errors import DomainError
from apps.core.permissions import MANAGERS
from apps.processing import selectors, services
from apps.processing.models import ACTIVE_STATUSES


@login_required
def project_processing_page(request, project_id):
    project, role = project_page_get(user=request.user, project_id=project_id)
    jobs = list(selectors.job_list(actor=request.user, project_id=project_id).select_related("recording")[:50])
    recipe = services.project_recipe_get(project=project) if role == "manager" else None
    return render(
        request,
        "processing/project_processing.html",
        {
            "project": project,
            "role": role,
            "jobs": jobs,
            "active": any(j.status in ACTIVE_STATUSES for j in jobs),
            "recipe": recipe,
            "recipe_json": json.dumps(recipe.spec, indent=2) if recipe else "",
        },
    )


@login_required
@require_POST
def project_reprocess_page(request, project_id):
    project, _ = project_page_get(user=request.user, project_id=project_id, roles=MANAGERS)
    try:
        parent = services.project_reprocess(
            project=project, created_by=request.user, only_missing=request.POST.get("only_missing") == "1"
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Job {parent.id} queued for {parent.children.count()} recording(s).")
    return redirect("processing:project-processing", project_id=project.id)
