"""The project settings page: general fields, label schema, processing recipe and consent policy in one place.

It lives in the annotation app because it is the highest layer among the four apps whose services it calls
(catalog, consent, processing, annotation); each section posts separately and writes through its own service.
"""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from apps.annotation.selectors import labels_schema
from apps.annotation.services import labels_set
from apps.catalog import services as catalog_services
from apps.catalog.models import Project
from apps.consent import services as consent_services
from apps.consent.models import OnMissing
from apps.consent.purposes import Purpose, mask_to_purposes
from apps.core.errors import DomainError
from apps.core.permissions import MANAGERS, project_role_get
from apps.processing import services as processing_services

# The uses a consent policy sets purposes for, with the words the page shows.
POLICY_USES = [
    ("ingest", "Accept a file at all"),
    ("store", "List, play and process"),
    ("annotate", "Hand to annotators"),
    ("review", "Review annotations"),
    ("train_models", "Training releases"),
    ("public_release", "Public releases"),
    ("commercial", "Commercial releases"),
]


def labels_parse(text: str, kind: str) -> list[dict]:
    """One label a line: ``name [#colour] [hotkey 1-9]``, e.g. ``speech #2563eb 1``."""
    labels = []
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split()
        if not words:
            continue
        color = next((w for w in words if w.startswith("#")), "")
        hotkey = next((w for w in words if len(w) == 1 and w.isdigit()), "")
        name = " ".join(w for w in words if w not in (color, hotkey))
        if not name:
            raise DomainError(f"{kind.capitalize()} label line {number} has no name.")
        labels.append({"name": name, "color": color, "hotkey": hotkey})
    return labels


def labels_format(labels: list[dict]) -> str:
    return "\n".join(
        " ".join(x for x in (lb["name"], lb.get("color") or "", lb.get("hotkey") or "") if x) for lb in labels
    )


def _save(request, project, section: str) -> str:
    post = request.POST
    if section == "general":
        try:
            rate = int(post.get("target_sample_rate", "").strip())
        except ValueError:
            raise DomainError("The target sample rate must be a whole number of Hz.") from None
        catalog_services.project_update(
            project=project,
            name=post.get("name", ""),
            description=post.get("description", ""),
            target_sample_rate=rate,
            require_speaker=post.get("require_speaker") == "on",
        )
        return "Project details saved."
    if section == "labels":
        labels_set(
            project_id=project.id,
            region_labels=labels_parse(post.get("region_labels", ""), "region"),
            clip_labels=labels_parse(post.get("clip_labels", ""), "clip"),
            transcript=post.get("transcript") == "on",
            clip_multi=post.get("clip_multi") == "on",
        )
        return "Label schema saved."
    if section == "recipe":
        try:
            spec = json.loads(post.get("recipe", ""))
        except ValueError as exc:
            raise DomainError(f"The recipe is not valid JSON ({exc.msg} at line {exc.lineno}).") from None
        recipe = processing_services.project_recipe_set(project=project, spec=spec, created_by=request.user)
        return f"Recipe {recipe.spec_hash[:12]} is now active. Reprocess on the Processing page to apply it."
    if section == "consent":
        fields = {}
        for use, label in POLICY_USES:
            chosen = [p for p in post.getlist(f"{use}_purposes") if p in Purpose.values]
            if not chosen:
                raise DomainError(f"“{label}” needs at least one purpose.")
            fields[f"{use}_purposes"] = chosen
        on_missing = post.get("on_missing")
        if on_missing not in OnMissing.values:
            raise DomainError("Choose what ingest does with a speaker who has not consented.")
        retention = post.get("retention_days", "").strip()
        if retention and (not retention.isdigit() or int(retention) < 1):
            raise DomainError("The retention period must be a whole number of days (1 or more), or empty to keep.")
        consent_services.policy_set(
            project=project,
            actor=request.user,
            on_missing=on_missing,
            retention_days=int(retention) if retention else None,
            **fields,
        )
        return "Consent policy saved."
    raise DomainError("Unknown settings section.")


@login_required
@require_http_methods(["GET", "POST"])
def project_settings_page(request, project_id):
    if project_role_get(request.user, project_id) not in MANAGERS:
        raise Http404("No such project.")
    project = get_object_or_404(Project, id=project_id)
    error, status, section = None, 200, request.POST.get("section")
    if request.method == "POST":
        try:
            messages.success(request, _save(request, project, section))
        except DomainError as exc:
            error, status = exc.message, exc.status_code
        else:
            return redirect(f"{request.path}#{section}")
    schema = labels_schema(project.id)
    policy = consent_services.policy_get(project.id)
    recipe = processing_services.project_recipe_get(project=project)
    posted = request.POST if error else {}
    context = {
        "project": project,
        "error": error,
        "section": section,
        "region_labels": posted.get("region_labels", labels_format(schema["region_labels"])),
        "clip_labels": posted.get("clip_labels", labels_format(schema["clip_labels"])),
        "schema": schema,
        "recipe": posted.get("recipe", json.dumps(recipe.spec, indent=2)),
        "recipe_hash": recipe.spec_hash[:12],
        "purposes": Purpose.choices,
        "policy_rows": [(use, label, mask_to_purposes(getattr(policy, f"{use}_mask"))) for use, label in POLICY_USES],
        "policy": policy,
        "on_missing_choices": OnMissing.choices,
    }
    return render(request, "annotation/project_settings.html", context, status=status)
