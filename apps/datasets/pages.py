"""Server-rendered releases pages: the same selectors and services as the API, no JavaScript needed."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.annotation.models import Label
from apps.catalog.selectors import project_page_get
from apps.core.errors import DomainError
from apps.core.permissions import MANAGERS, project_role_get
from apps.datasets import services
from apps.datasets.card_html import card_html, card_split
from apps.datasets.formats import FORMATS
from apps.datasets.selectors import EXCLUSIONS_SHOWN, release_exclusions, release_get
from apps.datasets.services.diff import release_diff, release_previous
from apps.datasets.services.features import FEATURE_KINDS
from apps.datasets.services.spec import RELEASE_PURPOSES


def _number(value, cast=float):
    value = (value or "").strip()
    if not value:
        return None
    try:
        return cast(value)
    except ValueError:
        raise DomainError(f"{value!r} is not a number.") from None


def release_spec_from_form(post) -> dict:
    """Turn the create form into a release spec (the service validates it)."""
    ratios = {s: _number(post.get(f"ratio_{s}")) for s in ("train", "validation", "test")}
    filters = {
        "labels": post.getlist("labels"),
        "languages": [t.strip() for t in post.get("languages", "").split(",") if t.strip()],
        "accepted_only": post.get("accepted_only") == "on",
        "qa": post.get("qa") or "exclude_flagged",
        "min_duration": _number(post.get("min_duration")),
        "max_duration": _number(post.get("max_duration")),
        "recorded_after": post.get("recorded_after") or None,
        "recorded_before": post.get("recorded_before") or None,
    }
    return {
        "name": post.get("name", ""),
        "purpose": post.get("purpose"),
        "unit": post.get("unit"),
        "margin": _number(post.get("margin")) or 0.0,
        "filters": filters,
        "audio": {
            "format": post.get("audio_format") or "flac",
            "sample_rate": _number(post.get("sample_rate"), int),
            "source": post.get("audio_source") or "original",
        },
        "features": post.getlist("features"),
        "splits": {s: r for s, r in ratios.items() if r is not None},
        "seed": _number(post.get("seed"), int) or 0,
        "formats": post.getlist("formats"),
        "webdataset": {"shard_mb": _number(post.get("shard_mb")) or 512},
        "license": post.get("license", "").strip(),
        "description": post.get("description", ""),
        "citation": post.get("citation", ""),
    }


@login_required
def release_list_page(request, project_id):
    project, role = project_page_get(user=request.user, project_id=project_id)
    error, status = None, 200
    if request.method == "POST":
        if role not in MANAGERS:
            raise Http404("No such project.")
        try:
            release = services.release_create(
                actor=request.user, project_id=project_id, spec=release_spec_from_form(request.POST)
            )
            return redirect("datasets:release-detail", release_id=release.id)
        except DomainError as exc:
            error, status = exc.message, 400
    releases = project.releases.order_by("-id")[:100]
    context = {
        "project": project,
        "role": role,
        "releases": releases,
        "error": error,
        "form": request.POST,
        "labels": Label.objects.filter(project_id=project_id).order_by("kind", "order", "id"),
        "purposes": RELEASE_PURPOSES,
        "formats": FORMATS,
        "features": FEATURE_KINDS,
        "chosen_formats": request.POST.getlist("formats") if request.method == "POST" else list(FORMATS),
        "chosen_features": request.POST.getlist("features"),
        "chosen_labels": request.POST.getlist("labels"),
    }
    return render(request, "datasets/release_list.html", context, status=status)


@login_required
def release_detail_page(request, release_id):
    release = release_get(actor=request.user, release_id=release_id)
    role = project_role_get(request.user, release.project_id)
    header, _ = card_split(release.data_card)
    ready = release.status == "ready"
    return render(
        request,
        "datasets/release_detail.html",
        {
            "release": release,
            "project": release.project,
            "role": role,
            "building": release.status in ("queued", "building"),
            "previous": release_previous(release=release),
            "card_html": card_html(release.data_card) if release.data_card else "",
            "card_header": header,
            "warnings": (release.stats or {}).get("warnings", []),
            "exclusions": release_exclusions(actor=request.user, release=release) if ready else [],
            "exclusions_cap": EXCLUSIONS_SHOWN,
        },
    )


@login_required
def release_diff_page(request, release_id, other_id):
    release = release_get(actor=request.user, release_id=release_id)
    other = release_get(actor=request.user, release_id=other_id)
    return render(
        request,
        "datasets/release_diff.html",
        {
            "release": release,
            "other": other,
            "project": release.project,
            "diff": release_diff(release=release, other=other),
        },
    )


@login_required
@require_POST
def release_rebuild_page(request, release_id):
    """A new version from the same spec (what a withdrawal asks for); managers only."""
    release = release_get(actor=request.user, release_id=release_id, roles=MANAGERS)
    try:
        new = services.release_rebuild(actor=request.user, release_id=release.id)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("datasets:release-detail", release_id=release.id)
    messages.success(request, f"Version {new.version} is being built from the same spec.")
    return redirect("datasets:release-detail", release_id=new.id)
