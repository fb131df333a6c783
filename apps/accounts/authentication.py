"""API keys that expire: ``Authorization: Token <key>`` looked up by its SHA-256 (issue 13)."""

from datetime import timedelta

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from apps.accounts.models import ApiToken, token_hash

# Writing last_used_at on every request would add a write to each autosave; once a minute is enough to see use.
_TOUCH_EVERY = timedelta(minutes=1)


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's token header, our token table: hashed keys with an expiry (a subclass, so the schema documents it)."""

    model = ApiToken

    def authenticate_credentials(self, key):
        token = ApiToken.objects.select_related("user").filter(key_hash=token_hash(key)).first()
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("This API token is not valid: it was revoked or never existed.")
        now = timezone.now()
        if token.expires_at <= now:
            raise exceptions.AuthenticationFailed(
                f"This API token expired on {token.expires_at:%Y-%m-%d %H:%M} UTC; create a new one."
            )
        if token.last_used_at is None or now - token.last_used_at > _TOUCH_EVERY:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token
