"""Gold items (reference annotations scored against) and consensus for overlap items."""

from __future__ import annotations

from django.db import transaction

from apps.annotation.models import Annotation, AnnotationStatus
from apps.annotation.selectors import annotation_content
from apps.annotation.services import annotation_save_version, annotation_set_status
from apps.core.errors import DomainError
from apps.review.metrics import region_from
from apps.review.models import Consensus, GoldItem, Review, ReviewDecision


def _reference_clean(reference) -> dict:
    """Check a gold reference's shape.

    ``{"clip_labels": [...], "regions": [{start, end, label?, text?}], "transcript"?}``."""
    if not isinstance(reference, dict) or not reference:
        raise DomainError("reference must be an object with clip_labels, regions and/or transcript.")
    unknown = set(reference) - {"clip_labels", "regions", "transcript"}
    if unknown:
        raise DomainError(f"reference has an unknown field {sorted(unknown)[0]!r}.")
    clean: dict = {}
    if "clip_labels" in reference:
        if not isinstance(reference["clip_labels"], list):
            raise DomainError("reference.clip_labels must be a list of label ids.")
        clean["clip_labels"] = reference["clip_labels"]
    if "regions" in reference:
        if not isinstance(reference["regions"], list):
            raise DomainError("reference.regions must be a list of regions.")
        clean["regions"] = []
        for i, r in enumerate(reference["regions"]):
            try:
                region_from(r)
            except (KeyError, TypeError, ValueError) as exc:
                raise DomainError(f"reference.regions[{i}] is not a region with start < end: {exc}") from None
            keep = {
                "start": float(r["start"]),
                "end": float(r["end"]),
                "label": r.get("label"),
                "channel": r.get("channel"),
            }
            if r.get("text"):
                keep["text"] = r["text"]
            clean["regions"].append(keep)
    if "transcript" in reference:
        clean["transcript"] = str(reference["transcript"])
    return clean


@transaction.atomic
def gold_item_set(*, recording, user, reference: dict | None = None, annotation: Annotation | None = None) -> GoldItem:
    """Make ``recording`` a gold item with an explicit reference or a copy of an annotation. Writes a GoldItem."""
    if (reference is None) == (annotation is None):
        raise DomainError("Give either a reference or an annotation to copy the reference from, not both.")
    if annotation is not None:
        if annotation.recording_id != recording.id:
            raise DomainError("The annotation belongs to another recording.")
        regions, clip_labels = annotation_content(annotation_id=annotation.pk)
        reference = {"clip_labels": clip_labels, "regions": regions}
    clean = _reference_clean(reference)
    item, _ = GoldItem.objects.update_or_create(
        recording_id=recording.id, defaults={"project_id": recording.project_id, "reference": clean, "created_by": user}
    )
    return item


@transaction.atomic
def consensus_decide(
    *, recording, reviewer, annotation_id: int, regions: list | None = None, clip_labels: list | None = None
) -> Consensus:
    """Adopt one of the recording's annotations, or merge (save edited content into it as a correction).

    The chosen annotation ends accepted; a Consensus row and a Review row record the decision.
    """
    chosen = (
        Annotation.objects.select_for_update()
        .filter(
            pk=annotation_id,
            recording_id=recording.id,
            status__in=(AnnotationStatus.SUBMITTED, AnnotationStatus.ACCEPTED),
        )
        .first()
    )
    if chosen is None:
        raise DomainError("annotation must be a submitted or accepted annotation of this recording.")
    if chosen.annotator_id == reviewer.id:
        raise DomainError("You cannot choose your own annotation as the consensus.", status_code=403)
    reviewed_version = chosen.version
    decision = ReviewDecision.ADOPT
    if regions is not None or clip_labels is not None:
        decision = ReviewDecision.MERGE
        current_regions, current_clip = annotation_content(annotation_id=chosen.pk)
        chosen = annotation_save_version(
            annotation=chosen,
            author=reviewer,
            regions=current_regions if regions is None else regions,
            clip_labels=current_clip if clip_labels is None else clip_labels,
        )
    if chosen.status != AnnotationStatus.ACCEPTED:
        chosen = annotation_set_status(annotation=chosen, status=AnnotationStatus.ACCEPTED, actor=reviewer)
    Review.objects.create(
        annotation_id=chosen.pk,
        project_id=recording.project_id,
        reviewer=reviewer,
        annotator_id=chosen.annotator_id,
        decision=decision,
        reviewed_version=reviewed_version,
        resulting_version=chosen.version,
    )
    consensus, _ = Consensus.objects.update_or_create(
        recording_id=recording.id,
        defaults={
            "project_id": recording.project_id,
            "annotation_id": chosen.pk,
            "version": chosen.version,
            "decision": decision,
            "reviewer": reviewer,
        },
    )
    return consensus
