"""What annotation does when a lower app tells it something through apps/core/hooks.py (see apps.py)."""

from django.db import transaction
from django.utils import timezone

from apps.annotation.models import (
    AnnotationVersion,
    Assignment,
    AssignmentStatus,
    FieldType,
    Region,
    RegionField,
)
from apps.annotation.services.alignment import alignments_delete_for_recordings
from apps.annotation.services.drafts import drafts_delete_for_recordings
from apps.annotation.services.schema import labels_set
from apps.consent.purposes import Purpose

# Purposes whose loss takes a recording out of annotators' and reviewers' hands.
WORK_PURPOSES = (Purpose.STORE, Purpose.ANNOTATE, Purpose.REVIEW)


def on_recordings_withdrawn(*, recording_ids: list[int], lost: dict[str, set[int]], reason: str) -> dict:
    """RECORDINGS_WITHDRAWN: cancel open assignments on recordings no longer usable for work."""
    work = sorted(set().union(*(lost[p] for p in WORK_PURPOSES)))
    drafts_delete_for_recordings(recording_ids=work)
    alignments_delete_for_recordings(recording_ids=work)
    return {"assignments_cancelled": assignments_cancel_for_recordings(recording_ids=work) if work else 0}


def demo_labels_seed(*, project, actor, speaker_codes) -> None:
    """DEMO_PROJECT_SEED: the demo project's label schema."""
    labels_set(
        project_id=project.id,
        transcript=True,
        region_labels=[
            {"name": "speech", "color": "#2563eb", "hotkey": "1"},
            {"name": "laughter", "color": "#d97706", "hotkey": "2"},
            {"name": "noise", "color": "#64748b", "hotkey": "3"},
        ],
        clip_labels=[
            {"name": "clean", "color": "#16a34a", "hotkey": "7"},
            {"name": "noisy", "color": "#dc2626", "hotkey": "8"},
        ],
        region_fields=[{"name": "overlapping speech", "type": "checkbox"}],
    )


def assignments_cancel_for_recordings(*, recording_ids: list[int]) -> int:
    """Cancel open assignments on these recordings (consent withdrawn); returns how many."""
    now = timezone.now()
    return Assignment.objects.filter(recording_id__in=list(recording_ids), status=AssignmentStatus.OPEN).update(
        status=AssignmentStatus.CANCELLED, locked_until=None, finished_at=now, updated_at=now
    )


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
    drafts_delete_for_recordings(recording_ids=ids)
    alignments_delete_for_recordings(recording_ids=ids)
    regions = list(Region.objects.filter(annotation__recording_id__in=ids).select_related("annotation"))
    versions = list(AnnotationVersion.objects.filter(annotation__recording_id__in=ids).select_related("annotation"))
    project_ids = {r.annotation.project_id for r in regions} | {v.annotation.project_id for v in versions}
    choices: dict[int, set[str]] = {pid: set() for pid in project_ids}
    for project_id, name in RegionField.objects.filter(project_id__in=project_ids, type=FieldType.CHOICE).values_list(
        "project_id", "name"
    ):
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
