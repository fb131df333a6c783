"""Writes of accounts: project roles, API tokens, sign-in events."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.core.errors import DomainError
from apps.accounts.models import ApiToken, Membership, token_hash
from apps.core.hooks import LOGIN_EVENT, hook_call


@transaction.atomic
def membership_set(*, project_id: int, user, role: str) -> Membership:
    """Give ``user`` exactly one ``role`` in the project (replacing any other). Writes Membership."""
    membership, _ = Membership.objects.update_or_create(user=user, project_id=project_id, defaults={"role": role})
    return membership


# --- API tokens ------------------------------------------------------------------------------------------


@transaction.atomic
def token_create(*, user, name: str = "", days: int | None = None) -> ApiToken:
    """A new API token for ``user``, expiring after ``days`` (default EARMARK_TOKEN_DAYS); writes one row.

    The returned object carries the key in ``.key``: the only time it exists outside the caller's hands.
    """
    days = settings.EARMARK_TOKEN_DAYS if days is None else days
    if not 1 <= days <= settings.EARMARK_TOKEN_MAX_DAYS:
        raise DomainError(f"a token lives 1 to {settings.EARMARK_TOKEN_MAX_DAYS} days")
    key = secrets.token_urlsafe(30)
    token = ApiToken.objects.create(user=user, name=name[:100], prefix=key[:8], key_hash=token_hash(key),
                                    expires_at=timezone.now() + timedelta(days=days))
    token.key = key
    return token


def token_list(*, user) -> QuerySet:
    """The user's API tokens, newest first (expired ones included, so the owner sees them lapse)."""
    return ApiToken.objects.filter(user=user)


@transaction.atomic
def token_revoke(*, user, token_id) -> None:
    """Revoke (delete) one of the user's tokens; its key stops working at once. 404 sentence if not theirs."""
    try:
        deleted, _ = ApiToken.objects.filter(user=user, pk=int(token_id)).delete()
    except (TypeError, ValueError, OverflowError):
        deleted = 0
    if not deleted:
        raise DomainError("No such token.", status_code=404)


# --- sign-in events ----------------------------------------------------------------------------------------


def login_event_record(*, event: str, user_id: int | None, via: str) -> None:
    """Tell the audit log (through the LOGIN_EVENT hook) that a sign-in succeeded, failed or was locked out.

    Never a password, a typed username or an address: the user's id when the name matched an account.
    """
    hook_call(LOGIN_EVENT, event=event, user_id=user_id, via=via)
