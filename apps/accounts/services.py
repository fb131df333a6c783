from django.db import transaction

from apps.accounts.models import Membership
from apps.core.errors import Conflict
from apps.core.permissions import Role


@transaction.atomic
def membership_set(*, project_id: int, user, role: str) -> Membership:
    """Give ``user`` exactly one ``role`` in the project (replacing any other). Writes Membership.

    The last manager cannot step down: the project would have nobody left to manage it (Conflict).
    """
    if role != Role.MANAGER:
        managers = Membership.objects.select_for_update().filter(project_id=project_id, role=Role.MANAGER)
        if [m.user_id for m in managers] == [user.pk]:
            raise Conflict(f"{user.get_username()} is the project's only manager; make someone else a manager "
                           "before changing their role.")
    membership, _ = Membership.objects.update_or_create(user=user, project_id=project_id, defaults={"role": role})
    return membership
