from django.db import transaction

from apps.accounts.models import Membership


@transaction.atomic
def membership_set(*, project, user, role: str) -> Membership:
    """Give ``user`` exactly one ``role`` in ``project`` (replacing any other)."""
    membership, _ = Membership.objects.update_or_create(user=user, project=project, defaults={"role": role})
    return membership
