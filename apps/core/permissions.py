"""The one project-role guard, for API views, pages and services alike.

Roles are a fixed vocabulary (``Role``). Who holds which role in which project is accounts' data
(``Membership``); this module asks for it through the ``PROJECT_ROLE`` hook, which accounts registers, so
every layer above core can guard a project without importing accounts. With no handler registered nobody
holds a role, so the guard fails closed.
"""

from collections.abc import Iterable

from django.db import models
from django.http import Http404
from rest_framework.exceptions import PermissionDenied

from apps.core.hooks import PROJECT_ROLE, hook_call


class Role(models.TextChoices):
    MANAGER = "manager", "Manager"
    ANNOTATOR = "annotator", "Annotator"
    REVIEWER = "reviewer", "Reviewer"
    VIEWER = "viewer", "Viewer"


MANAGERS = (Role.MANAGER,)
ANYONE = (Role.MANAGER, Role.ANNOTATOR, Role.REVIEWER, Role.VIEWER)


def project_role_get(user, project_id) -> str | None:
    """The user's role in the project (staff count as managers), or None."""
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
