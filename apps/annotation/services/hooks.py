"""Hooks other apps call when consent is withdrawn (keep names and signatures)."""

from django.db import transaction
from django.utils import timezone

from apps.annotation.models import AnnotationVersion, Assignment, AssignmentStatus, FieldType, Region, RegionField


def assignments_cancel_for_recordings(*, recording_ids: list[int]) -> int:
    """Cancel open assignments on these recordings (consent withdrawn); returns how many."""
    now = timezone.now()
    return Assignment.objects.filter(recording_id__in=list(recording_ids), status=AssignmentStatus.OPEN).update(
        status=AssignmentStatus.CANCELLED, locked_until=None, finished_at=now, updated_at=now)


def _attributes_redact(attributes, choice_fields: set[str]):
    """Blank every free-text value; values of choice fields come from a fixed list and stay."""
    if not isinstance(attributes, dict):
        return {}
    return {k: ("" if isinstance(v, str) and k not in choice_fields else v) for k, v in attributes.items()}


def _region_redact(region: dict, choice_fields: set[str]) -> dict:
    return {**region, "text": "", "attributes": _attributes_redact(region.get("attributes"), choice_fields)}


@transaction.atomic
def annotations_redact_for_recordings(*, recording_ids: list[int]) -> int:
    """Blank transcripts and free-text attributes in every annotation and version of these recordings.

    Rewrites Region rows and AnnotationVersion.regions JSON; returns how many rows changed.
    """
    ids = list(recording_ids)
    regions = list(Region.objects.filter(annotation__recording_id__in=ids).select_related("annotation"))
    versions = list(AnnotationVersion.objects.filter(annotation__recording_id__in=ids).select_related("annotation"))
    project_ids = {r.annotation.project_id for r in regions} | {v.annotation.project_id for v in versions}
    choices: dict[int, set[str]] = {pid: set() for pid in project_ids}
    for project_id, name in RegionField.objects.filter(project_id__in=project_ids, type=FieldType.CHOICE).values_list(
            "project_id", "name"):
        choices[project_id].add(name)
    changed_regions = []
    for region in regions:
        attributes = _attributes_redact(region.attributes, choices[region.annotation.project_id])
        if region.text or attributes != region.attributes:
            region.text, region.attributes = "", attributes
            changed_regions.append(region)
    changed_versions = []
    for version in versions:
        fields = choices[version.annotation.project_id]
        redacted = [_region_redact(r, fields) for r in version.regions or []]
        if redacted != version.regions:
            version.regions = redacted
            changed_versions.append(version)
    Region.objects.bulk_update(changed_regions, ["text", "attributes"], batch_size=500)
    AnnotationVersion.objects.bulk_update(changed_versions, ["regions"], batch_size=500)
    return len(changed_regions) + len(changed_versions)
