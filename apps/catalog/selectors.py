"""Catalogue reads that carry rules. Recordings always come from apps.consent.selectors."""

from django.db.models import QuerySet

from apps.catalog.models import Recording
from apps.consent.purposes import Purpose
from apps.consent.selectors import recordings_usable


def recording_list(*, actor, project_id=None, purpose=Purpose.STORE) -> QuerySet:
    """Recordings the actor may see in the catalogue, with what list pages need joined in."""
    from apps.processing.selectors import recordings_annotate_processing

    qs = recordings_usable(actor, purpose).select_related("speaker", "language")
    if project_id is not None:
        qs = qs.filter(project_id=project_id)
    return recordings_annotate_processing(qs)


def storage_owners() -> list:
    """The storage_owners hook: originals belong to the recordings that point at them (rows of any status)."""

    def owned(keys: list[str]) -> set[str]:
        # Every row, usable or not: a withdrawn recording's original is the purge's to delete, not the sweep's.
        return set(Recording.objects.filter(original_key__in=keys).values_list("original_key", flat=True))

    return [("originals/", owned)]
