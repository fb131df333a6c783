from django.db import transaction

from apps.accounts.models import Membership


@transaction.atomic
def membership_set(*, project_id: int, user, role: str) -> Membership:
    """Give ``user`` exactly one ``role`` in the project (replacing any other). Writes Membership."""
    membership, _ = Membership.objects.update_or_create(user=user, project_id=project_id, defaults={"role": role})
    return membership
