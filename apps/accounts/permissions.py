"""Who may call an endpoint: roles per project."""

from django.conf import settings
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
ANYONE = (Role.MANAGER, Role.ANNOTATOR, Role.REVIEWER, Role.VIEWER, Role.EXPORTER)
# Roles whose streaming (audio, peaks, features, images) is limited to the recordings in their own work:
# apps.consent.selectors asks the RECORDING_IN_WORK hook (annotation and review answer it).
WORK_SCOPED_ROLES = (Role.ANNOTATOR, Role.REVIEWER)


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
    return project_role_require(user, project.id, tuple(allowed))
