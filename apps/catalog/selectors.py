"""Catalogue reads that carry rules. Recordings always come from consent's selectors (through core hooks)."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from apps.accounts.selectors import READ_ROLES, project_ids_for
from apps.catalog.models import Project, Recording
from apps.core.hooks import (
    RECORDING_GET_USABLE,
    RECORDINGS_ANNOTATE,
    RECORDINGS_USABLE,
    hook_chain,
    hook_one,
)
from apps.core.permissions import ANYONE, project_role_require

# consent's Purpose.STORE: catalog sits below consent, so it names the purpose by its value.
STORE = "store"


def project_list(user, roles=READ_ROLES) -> QuerySet:
    """Projects visible to ``user``."""
    ids = project_ids_for(user, roles)
    qs = Project.objects.all()
    return qs if ids is None else qs.filter(id__in=ids)


def project_page_get(*, user, project_id, roles=ANYONE) -> tuple[Project, str]:
    """(project, role) for a server-rendered page; 404 when the user may not see it in one of ``roles``."""
    role = project_role_require(user, project_id, roles, hide=True)
    return get_object_or_404(Project, id=project_id), role


def recording_get_visible(*, actor, recording_id, purpose=STORE) -> Recording:
    """One recording the actor may use for ``purpose`` (consent decides), or 404."""
    return hook_one(RECORDING_GET_USABLE, actor=actor, purpose=purpose, recording_id=recording_id)


def recording_list(*, actor, project_id=None, purpose=STORE) -> QuerySet:
    """Recordings the actor may see in the catalogue, with what list pages need joined in."""
    qs = hook_one(RECORDINGS_USABLE, actor=actor, purpose=purpose).select_related("speaker", "language")
    if project_id is not None:
        qs = qs.filter(project_id=project_id)
    return hook_chain(RECORDINGS_ANNOTATE, qs)
