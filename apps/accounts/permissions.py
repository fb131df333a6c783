"""Who may call an endpoint: roles per project."""

from django.http import Http404
from rest_framework.exceptions import PermissionDenied

from apps.accounts.models import Role
from apps.accounts.selectors import role_in


def project_role_require(user, project_id, roles) -> str:
    """Return the user's role, or raise: 404 outside the project, 403 for a role that may not."""
    role = role_in(user, project_id)
    if role is None:
        raise Http404("No such project.")
    if role not in roles:
        names = " or ".join(sorted(str(r) for r in roles))
        raise PermissionDenied(f"This needs the {names} role in the project; you are {role}.")
    return role


MANAGERS = (Role.MANAGER,)
ANYONE = (Role.MANAGER, Role.ANNOTATOR, Role.REVIEWER, Role.VIEWER)
