"""Catalogue reads that carry rules. Recordings always come from apps.consent.selectors."""

from django.db.models import QuerySet

from apps.catalog.models import ImportSource
from apps.consent.purposes import Purpose
from apps.consent.selectors import recordings_usable


def recording_list(*, actor, project_id=None, purpose=Purpose.STORE) -> QuerySet:
    """Recordings the actor may see in the catalogue, with what list pages need joined in."""
    from apps.processing.selectors import recordings_annotate_processing

    qs = recordings_usable(actor, purpose).select_related("speaker", "language")
    if project_id is not None:
        qs = qs.filter(project_id=project_id)
    return recordings_annotate_processing(qs)


def import_source_list(*, project_id) -> QuerySet:
    """The enabled import sources a project may import from."""
    return ImportSource.objects.filter(enabled=True, projects__id=project_id).order_by("name")
