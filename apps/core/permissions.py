"""The one project-role guard, for API views, pages and services alike.

Roles are a fixed vocabulary (``Role``). Who holds which role in which project is accounts' data
(``Membership``); this module asks for it through the ``PROJECT_ROLE`` hook, which accounts registers, so
every layer above core can guard a project without importing accounts. With no handler registered nobody
holds a role, so the guard fails closed.
"""

from collections.abc import Iterable

from django.conf import settings
from django.db import models
from django.http import Http404
from rest_framework.exceptions import PermissionDenied

from apps.core.hooks import PROJECT_ROLE, hook_call
from apps.core.middleware import ID_MAX


class Role(models.TextChoices):
    MANAGER = "manager", "Manager"
    ANNOTATOR = "annotator", "Annotator"
    REVIEWER = "reviewer", "Reviewer"
    VIEWER = "viewer", "Viewer"
    # An ML engineer: reads the catalogue like a viewer and downloads the project's releases (docs/roles.md).
    EXPORTER = "exporter", "Exporter (ML engineer)"


MANAGERS = (Role.MANAGER,)
ANYONE = (Role.MANAGER, Role.ANNOTATOR, Role.REVIEWER, Role.VIEWER, Role.EXPORTER)
# Roles whose streaming (audio, peaks, features, images) is limited to the recordings in their own work:
# apps.consent.selectors asks the RECORDING_IN_WORK hook (annotation and review answer it).
WORK_SCOPED_ROLES = (Role.ANNOTATOR, Role.REVIEWER)


def project_role_get(user, project_id) -> str | None:
    """The user's role in the project (staff count as managers), or None."""
    if isinstance(project_id, int) and not -ID_MAX <= project_id <= ID_MAX:
        return None  # an id from a request body no row can have (the database would raise OverflowError)
    return next((role for role in hook_call(PROJECT_ROLE, user=user, project_id=project_id) if role), None)


def project_role_require(user, project_id, roles: Iterable[str], *, hide: bool = False) -> str:
    """Return the user's role, or raise: 404 outside the project, 403 for a role that may not.

    ``hide=True`` (pages) answers 404 for a role that may not too, so a page never confirms a project exists.
    """
    roles = tuple(roles)
    role = project_role_get(user, project_id)
    if role is None or (hide and role not in roles):
        raise Http404("No such project.")
    if role not in roles:
        names = " or ".join(sorted(str(r) for r in roles))
        raise PermissionDenied(f"This needs the {names} role in the project; you are {role}.")
    return role


def project_create_require(user) -> None:
    """Raise 403 unless ``user`` may create projects (EARMARK_PROJECT_CREATORS: 'staff', the default, or 'users')."""
    if not project_create_allowed(user):
        raise PermissionDenied("Only site administrators may create projects here; ask one to create it for you.")


def project_create_allowed(user) -> bool:
    """Whether ``user`` may create projects under EARMARK_PROJECT_CREATORS."""
    if not user or not user.is_authenticated:
        return False
    return user.is_staff or settings.EARMARK_PROJECT_CREATORS == "users"


def release_download_require(user, project) -> str:
    """Raise unless ``user``'s role in ``project`` may download its releases (project.release_download_roles;
    managers and staff always may): 404 outside the project, 403 for a role the project did not choose."""
    allowed = {Role.MANAGER, *(project.release_download_roles or [])}
    return project_role_require(user, project.id, tuple(sorted(allowed)))
