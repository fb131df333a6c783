"""Writes of accounts: users created by a manager, project roles, API tokens."""

from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.authtoken.models import Token

from apps.accounts.models import Membership, Role
from apps.core.errors import Conflict, DomainError


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
def user_create(*, username: str, email: str = "") -> "get_user_model()":
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


# API tokens. DRF's token model holds one key per user: creating replaces the old one.

@transaction.atomic
def token_create(*, user) -> Token:
    """A new API token for ``user`` (an existing one is revoked: its key stops working at once)."""
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user)


def token_list(*, user) -> list[Token]:
    """The user's API tokens (at most one)."""
    return list(Token.objects.filter(user=user))


@transaction.atomic
def token_revoke(*, user, token_id: str) -> None:
    """Revoke one of the user's tokens; 404 sentence if it is not theirs."""
    deleted, _ = Token.objects.filter(user=user, pk=token_id).delete()
    if not deleted:
        raise DomainError("No such token.", status_code=404)
