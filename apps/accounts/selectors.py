"""Which projects a user may touch, and in which role."""

from django.db.models import QuerySet

from apps.accounts.models import Membership
from apps.core.permissions import ANYONE, Role

# Roles that may read a project. Staff users may do all.
READ_ROLES = ANYONE


def project_ids_for(user, roles=READ_ROLES) -> QuerySet | None:
    """Ids of the projects where ``user`` holds one of ``roles`` (a subquery); None means every project (staff)."""
    if not user or not user.is_authenticated:
        return Membership.objects.none().values("project_id")
    if user.is_staff:
        return None
    return Membership.objects.filter(user=user, role__in=list(roles)).values("project_id")


def role_in(*, user, project_id) -> str | None:
    """The user's role in a project (staff count as managers), or None. The PROJECT_ROLE hook's answer."""
    if not user or not user.is_authenticated:
        return None
    if user.is_staff:
        return Role.MANAGER
    return Membership.objects.filter(user=user, project_id=project_id).values_list("role", flat=True).first()
