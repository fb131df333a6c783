"""Server-rendered catalogue pages: the same selectors and services as the API."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from apps.accounts import services as accounts_services
from apps.accounts.models import Membership
from apps.catalog import services
from apps.catalog.filters import RecordingFilter
from apps.catalog.models import RecordingStatus
from apps.catalog.selectors import (
    import_source_list,
    project_create_allowed,
    project_list,
    project_page_get,
    recording_get_visible,
    recording_list,
)
from apps.core.errors import DomainError
from apps.core.hooks import RECORDING_PANELS, hook_call
from apps.core.permissions import MANAGERS, Role


def _project_for(request, project_id, roles=None):
    return project_page_get(user=request.user, project_id=project_id, **({"roles": roles} if roles else {}))


@login_required
def project_list_page(request):
    projects = project_list(request.user).order_by("name")
    return render(
        request, "catalog/project_list.html", {"projects": projects, "can_create": project_create_allowed(request.user)}
    )


@login_required
def project_detail_page(request, project_id):
    project, role = _project_for(request, project_id)
    recordings = recording_list(actor=request.user, project_id=project_id)
    stats = {
        "count": recordings.count(),
        "by_status": {s.label: recordings.filter(status=s.value).count() for s in RecordingStatus},
    }
    return render(request, "catalog/project_detail.html", {"project": project, "role": role, "stats": stats})


@login_required
def recording_list_page(request, project_id):
    project, role = _project_for(request, project_id)
    qs = recording_list(actor=request.user, project_id=project_id).order_by("-id")
    filterset = RecordingFilter(request.GET, queryset=qs)
    errors = [FILTER_ERRORS.get(name, f"{name}: {' '.join(errs)}") for name, errs in filterset.errors.items()]
    page = Paginator(qs.none() if errors else filterset.qs, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "catalog/recording_list.html",
        {
            "project": project,
            "role": role,
            "filter": filterset,
            "page": page,
            "query": query.urlencode(),
            "statuses": RecordingStatus.choices,
            "errors": errors,
        },
        status=400 if errors else 200,
    )


# What a bad filter value means, in the words of the page's fields (django-filter says "Enter a number.").
FILTER_ERRORS = {
    "min_duration": "Minimum duration must be a number of seconds, such as 2 or 0.5.",
    "max_duration": "Maximum duration must be a number of seconds, such as 30 or 2.5.",
    "status": "Choose a status from the list.",
}


@login_required
def upload_page(request, project_id):
    project, role = _project_for(request, project_id, MANAGERS)
    return render(
        request,
        "catalog/upload.html",
        {"project": project, "role": role, "import_sources": import_source_list(project_id=project_id)},
    )


def _int(value, what: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise DomainError(f"{what} must be a whole number.") from None


@login_required
@require_http_methods(["GET", "POST"])
def project_create_page(request):
    """A new project; its creator becomes its manager, then sets it up on the settings page."""
    if not project_create_allowed(request.user):
        raise PermissionDenied("Creating projects needs a staff account (or the catalog.add_project permission).")
    error, status = None, 200
    if request.method == "POST":
        try:
            project = services.project_create(
                name=request.POST.get("name", ""),
                description=request.POST.get("description", ""),
                target_sample_rate=_int(request.POST.get("target_sample_rate", "16000"), "The target sample rate"),
                require_speaker=request.POST.get("require_speaker") == "on",
                created_by=request.user,
            )
        except DomainError as exc:
            error, status = exc.message, 400
        else:
            messages.success(request, f"Project “{project.name}” created. Set up its labels and consent policy here.")
            return redirect("annotation:project-settings", project_id=project.id)
    return render(request, "catalog/project_form.html", {"form": request.POST, "error": error}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def members_page(request, project_id):
    """Managers: who is in the project, in which role; add an existing user or create one."""
    project, role = _project_for(request, project_id, MANAGERS)
    User = get_user_model()
    error, status, link, created = None, 200, None, None
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action in ("add", "create"):
                member_role = request.POST.get("role", "")
                username = request.POST.get("username", "").strip()
                with transaction.atomic():
                    if action == "create":
                        user = accounts_services.user_create(username=username, email=request.POST.get("email", ""))
                    else:
                        user = User.objects.filter(username=username).first()
                        if user is None:
                            raise DomainError(
                                f"No user is called {username!r}. Check the spelling, or create them below."
                            )
                    accounts_services.membership_set(project_id=project.id, user=user, role=member_role)
                if action == "create":
                    created = user.username
                    link = request.build_absolute_uri(accounts_services.user_password_link(user=user))
                else:
                    messages.success(request, f"{user.username} is now {member_role} of {project.name}.")
            elif action in ("role", "remove", "link"):
                member = (
                    Membership.objects.select_related("user")
                    .filter(project=project, id=_int(request.POST.get("membership", "0"), "The member"))
                    .first()
                )
                if member is None:
                    raise DomainError("No such member of this project.")
                if action == "role":
                    accounts_services.membership_set(
                        project_id=project.id, user=member.user, role=request.POST.get("role", "")
                    )
                    messages.success(request, f"{member.user.username} is now {request.POST.get('role')}.")
                elif action == "remove":
                    accounts_services.membership_remove(project_id=project.id, user=member.user)
                    messages.success(request, f"{member.user.username} was removed from the project.")
                else:
                    if member.user.has_usable_password():
                        raise DomainError(f"{member.user.username} has set a password already.")
                    created = member.user.username
                    link = request.build_absolute_uri(accounts_services.user_password_link(user=member.user))
            else:
                raise DomainError("Unknown action.")
        except DomainError as exc:
            error, status = exc.message, exc.status_code
        if not error and not link:
            return redirect("catalog:members", project_id=project.id)
    members = Membership.objects.filter(project=project).select_related("user").order_by("user__username")
    return render(
        request,
        "catalog/members.html",
        {
            "project": project,
            "role": role,
            "members": members,
            "roles": Role.choices,
            "error": error,
            "link": link,
            "created": created,
            "form": request.POST,
        },
        status=status,
    )


@login_required
def recording_detail_page(request, recording_id):
    """One recording: waveform preview from stored peaks, metadata, and what each app knows of it (hook panels)."""
    recording = recording_get_visible(actor=request.user, recording_id=recording_id)
    project, role = _project_for(request, recording.project_id)
    panels = sorted(
        (p for p in hook_call(RECORDING_PANELS, actor=request.user, recording=recording) if p),
        key=lambda p: p.get("order", 100),
    )
    meta = [
        ("File", recording.original_name or "—"),
        ("Speaker", recording.speaker.code if recording.speaker else "—"),
        ("Language", recording.language.tag if recording.language else "—"),
        ("Duration", f"{recording.duration:.3f} s"),
        ("Format", f"{recording.container} {recording.codec} · {recording.sample_rate} Hz · {recording.channels} ch"),
        ("Size", recording.bytes),
        ("Status", recording.get_status_display()),
        ("sha256", recording.sha256),
        ("Added", recording.created_at),
    ]
    return render(
        request,
        "catalog/recording_detail.html",
        {
            "recording": recording,
            "project": project,
            "role": role,
            "meta": meta,
            "panels": panels,
            "extra": sorted((recording.metadata or {}).items()),
        },
    )
