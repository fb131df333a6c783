"""Writes of accounts: users created by a manager, project roles, API tokens, sign-in events."""

import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from apps.accounts.models import ApiToken, Membership, token_hash
from apps.core.errors import Conflict, DomainError
from apps.core.hooks import LOGIN_EVENT, hook_call
from apps.core.permissions import Role


@transaction.atomic
def membership_set(*, project_id: int, user, role: str) -> Membership:
    """Give ``user`` exactly one ``role`` in the project (replacing any other; never demoting its last manager).

    Writes Membership.
    """
    if role not in Role.values:
        raise DomainError(f"{role!r} is not a role; choose {', '.join(Role.values)}.")
    current = Membership.objects.filter(project_id=project_id, user=user).first()
    if current and current.role == Role.MANAGER and role != Role.MANAGER:
        _keep_a_manager(project_id, leaving=user)
    membership, _ = Membership.objects.update_or_create(user=user, project_id=project_id, defaults={"role": role})
    return membership


def _keep_a_manager(project_id: int, *, leaving) -> None:
    others = Membership.objects.filter(project_id=project_id, role=Role.MANAGER).exclude(user=leaving)
    if not others.exists():
        raise Conflict(f"{leaving.username} is the project's only manager; make someone else manager first.")


@transaction.atomic
def membership_remove(*, project_id: int, user) -> None:
    """Take ``user`` out of the project (never its last manager). Deletes a Membership."""
    current = Membership.objects.select_for_update().filter(project_id=project_id, user=user).first()
    if current is None:
        raise DomainError(f"{user.username} is not a member of this project.", status_code=404)
    if current.role == Role.MANAGER:
        _keep_a_manager(project_id, leaving=user)
    current.delete()


@transaction.atomic
def user_create(*, username: str, email: str = "") -> Any:
    """Create an account with no usable password; its owner sets one through ``user_password_link``."""
    User = get_user_model()
    username = (username or "").strip()
    if not username or len(username) > 150:
        raise DomainError("A username needs 1 to 150 characters.")
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError:
        raise DomainError("A username may contain only letters, digits and @ . + - _ (no spaces).") from None
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(f"There is already a user called {username!r}; add them as an existing user instead.")
    user = User(username=username, email=(email or "").strip())
    user.set_unusable_password()
    user.save()
    return user


def user_password_link(*, user) -> str:
    """The path of a one-time link where ``user`` sets a password (it stops working once one is set).

    Django's password-reset token: it hashes the current password and last login, so it is single-use,
    and expires after ``PASSWORD_RESET_TIMEOUT``. No mail server is involved: the manager hands it over.
    """
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": default_token_generator.make_token(user)})


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
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=key[:8],
        key_hash=token_hash(key),
        expires_at=timezone.now() + timedelta(days=days),
    )
    token.key = key  # type: ignore[attr-defined]  # not a field: the plain key, returned once to the caller
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
