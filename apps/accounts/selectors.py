"""Which projects a user may touch, and in which role."""

from django.db.models import QuerySet

from apps.accounts.models import Membership, Role
from apps.catalog.models import Project

# Roles that may do each kind of thing in a project. Staff users may do all.
READ_ROLES = (Role.MANAGER, Role.ANNOTATOR, Role.REVIEWER, Role.VIEWER, Role.EXPORTER)


def project_ids_for(user, roles=READ_ROLES) -> QuerySet | None:
    """Ids of the projects where ``user`` holds one of ``roles``; None means every project (staff)."""
    if not user or not user.is_authenticated:
        return Project.objects.none().values("id")
    if user.is_staff:
        return None
    return Membership.objects.filter(user=user, role__in=list(roles)).values("project_id")


def project_list(user, roles=READ_ROLES) -> QuerySet:
    """Projects visible to ``user``."""
    ids = project_ids_for(user, roles)
    qs = Project.objects.all()
    return qs if ids is None else qs.filter(id__in=ids)


def role_in(user, project_id) -> str | None:
    """The user's role in a project (staff count as managers), or None."""
    if not user or not user.is_authenticated:
        return None
    if user.is_staff:
        return Role.MANAGER
    return Membership.objects.filter(user=user, project_id=project_id).values_list("role", flat=True).first()
