"""Review pages: the reviewer's queue and one annotation in review mode (the annotator's page), the dashboard."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse

from apps.annotation.models import Label
from apps.annotation.selectors import annotation_get
from apps.catalog.selectors import project_page_get
from apps.consent.purposes import Purpose
from apps.consent.selectors import recording_get_usable
from apps.core.errors import DomainError
from apps.core.permissions import ANYONE
from apps.review import agreement
from apps.review.dashboard import dashboard_render
from apps.review.selectors import own_submissions_waiting
from apps.review.serializers import ConsensusOutput
from apps.review.services import REVIEW_ROLES, consensus_decide


def _config(request, project_id, annotation_id):
    return {
        "project_id": project_id,
        "annotation_id": annotation_id,
        "mode": "review",
        "api_base": "/api/v1",
        "csrf_token": get_token(request),
        "user_id": request.user.id,
        "next_url": reverse("catalog:project-detail", args=[project_id]),
    }


@login_required
def review_queue_page(request, project_id):
    """The annotator page in review mode: it asks ``review/next/`` for each item."""
    project, _ = project_page_get(user=request.user, project_id=project_id, roles=REVIEW_ROLES)
    own = own_submissions_waiting(project_id=project_id, user=request.user)
    return render(
        request,
        "annotation/annotator.html",
        {"project": project, "config": _config(request, project_id, None), "own_waiting": own},
    )


@login_required
def annotation_review_page(request, annotation_id):
    annotation = annotation_get(request.user, annotation_id)
    project, _ = project_page_get(user=request.user, project_id=annotation.project_id, roles=REVIEW_ROLES)
    config = {
        **_config(request, annotation.project_id, annotation.id),
        "annotator_name": annotation.annotator.username if annotation.annotator_id else None,
    }
    return render(
        request, "annotation/annotator.html", {"project": project, "annotation": annotation, "config": config}
    )


@login_required
def dashboard_page(request, project_id):
    project, role = project_page_get(user=request.user, project_id=project_id, roles=ANYONE)
    rows = []
    if role in agreement.AGREEMENT_ROLES:
        rows = agreement.project_agreement_cached(actor=request.user, project_id=project_id)["annotators"]
    context = dashboard_render(actor=request.user, project_id=project_id, agreement_rows=rows)
    return render(
        request, "review/dashboard.html", {"project": project, "role": role, **context, "agreement_rows": rows}
    )


@login_required
def overlap_page(request, project_id):
    project, _ = project_page_get(user=request.user, project_id=project_id, roles=REVIEW_ROLES)
    items = agreement.overlap_items(actor=request.user, project_id=project_id)
    return render(request, "review/overlap.html", {"project": project, "items": items})


def _merge_choice(post, view) -> tuple[int, list[dict]]:
    """The merged annotation: the ticked regions (``"<annotation id>:<index>"``) saved into the base annotation."""
    by_id = {a["id"]: a for a in view["annotations"]}
    base = int(post.get("base", "0"))
    if base not in by_id:
        raise DomainError("Choose which annotation the merge is saved into.")
    regions = []
    for value in post.getlist("region"):
        ann_id, _, index = value.partition(":")
        try:
            region = dict(by_id[int(ann_id)]["regions"][int(index)])
        except (KeyError, IndexError, ValueError):
            raise DomainError("A ticked region is not part of this recording's annotations.") from None
        region["id"] = f"m{ann_id}-{index}"  # regions of different annotations may share ids
        regions.append(region)
    if not regions:
        raise DomainError("Tick the regions the merged annotation should keep.")
    return base, regions


@login_required
def consensus_page(request, recording_id):
    """Overlap item side by side; POST ``annotation_id`` adopts that annotation (the service decides)."""
    recording = recording_get_usable(request.user, Purpose.REVIEW, recording_id, roles=REVIEW_ROLES)
    project_page_get(user=request.user, project_id=recording.project_id, roles=REVIEW_ROLES)
    view = ConsensusOutput(agreement.recording_consensus(actor=request.user, recording_id=recording.id)).data
    if request.method == "POST":
        try:
            if request.POST.get("action") == "merge":
                base, regions = _merge_choice(request.POST, view)
                consensus_decide(recording=recording, reviewer=request.user, annotation_id=base, regions=regions)
                messages.success(request, f"Merged {len(regions)} region(s) into annotation {base} and accepted it.")
            else:
                consensus_decide(
                    recording=recording,
                    reviewer=request.user,
                    annotation_id=int(request.POST.get("annotation_id", "0")),
                )
                messages.success(request, "Consensus recorded.")
        except (DomainError, ValueError) as exc:
            messages.error(request, getattr(exc, "message", "annotation_id must be a number."))
        return redirect("review:consensus", recording_id=recording.id)
    names = dict(Label.objects.filter(project_id=recording.project_id).values_list("id", "name"))
    for a in view["annotations"]:
        a["clip_label_names"] = [names.get(i, i) for i in a["clip_labels"]]
        for r in a["regions"]:
            r["label_name"] = names.get(r["label"])
    return render(request, "review/consensus.html", {"recording": recording, "view": view})
