"""Server-rendered catalogue pages: the same selectors and services as the API."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from apps.catalog.filters import RecordingFilter
from apps.catalog.models import RecordingStatus
from apps.catalog.selectors import project_list, project_page_get, recording_list
from apps.core.permissions import MANAGERS


@login_required
def project_list_page(request):
    projects = project_list(request.user).order_by("name")
    return render(request, "catalog/project_list.html", {"projects": projects})


@login_required
def project_detail_page(request, project_id):
    project, role = project_page_get(user=request.user, project_id=project_id)
    recordings = recording_list(actor=request.user, project_id=project_id)
    stats = {
        "count": recordings.count(),
        "by_status": {s.label: recordings.filter(status=s.value).count() for s in RecordingStatus},
    }
    return render(request, "catalog/project_detail.html", {"project": project, "role": role, "stats": stats})


@login_required
def recording_list_page(request, project_id):
    project, role = project_page_get(user=request.user, project_id=project_id)
    filterset = RecordingFilter(request.GET, queryset=recording_list(actor=request.user, project_id=project_id).order_by("-id"))
    page = Paginator(filterset.qs, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "catalog/recording_list.html", {
        "project": project, "role": role, "filter": filterset, "page": page, "query": query.urlencode(),
        "statuses": RecordingStatus.choices,
    })


@login_required
def upload_page(request, project_id):
    project, role = project_page_get(user=request.user, project_id=project_id, roles=MANAGERS)
    return render(request, "catalog/upload.html", {"project": project, "role": role})
