"""Catalogue reads that carry rules. Recordings always come from apps.consent.selectors."""

from django.db.models import QuerySet

from apps.consent.purposes import Purpose
from apps.consent.selectors import recording_get_usable, recordings_usable


def recording_list(*, actor, project_id=None, purpose=Purpose.STORE) -> QuerySet:
    """Recordings the actor may see in the catalogue, with what list pages need joined in."""
    from apps.processing.selectors import recordings_annotate_processing

    qs = recordings_usable(actor, purpose).select_related("speaker", "language")
    if project_id is not None:
        qs = qs.filter(project_id=project_id)
    return recordings_annotate_processing(qs)


def project_create_allowed(user) -> bool:
    """Who may create projects: staff, or users given Django's ``catalog.add_project`` permission."""
    return bool(user and user.is_authenticated and (user.is_staff or user.has_perm("catalog.add_project")))


def recording_get(*, actor, recording_id: int):
    """One recording the actor may see in the catalogue (store purpose), or 404 alike for missing and forbidden."""
    return recording_get_usable(actor, Purpose.STORE, recording_id)
