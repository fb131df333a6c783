"""The append-only audit log: ids and actions only, never personal data."""

import re

from apps.consent.models import AuditEvent

# Values allowed in an event's data: numbers, booleans, and short lower-case
# tokens (purposes, formats, states). Anything else — a name, an e-mail, a
# transcript — is replaced, so a careless caller cannot put personal data in.
_TOKEN = re.compile(r"^[a-z0-9_.:/-]{0,64}$")
REMOVED = "[removed: not an id]"


def _clean(value):
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return value if _TOKEN.match(value) else REMOVED
    if isinstance(value, (list, tuple, set)):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items() if _TOKEN.match(str(k))}
    return REMOVED


def audit_record(*, actor, action: str, object_type: str, object_id, project_id=None, data=None) -> AuditEvent:
    """Append an audit event (ids only, never personal data); writes one AuditEvent row."""
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    kind = "user" if is_user else (actor if isinstance(actor, str) and actor in ("system", "speaker") else "system")
    return AuditEvent.objects.create(
        actor_id=actor.pk if is_user else None,
        actor_kind=kind,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        project_id=project_id,
        data=_clean(data or {}),
    )


def audit_login_event(*, event: str, user_id: int | None, via: str) -> AuditEvent:
    """The LOGIN_EVENT hook's handler: one audit row per sign-in attempt (success, failure, lockout).

    ``actor_id`` is the account the typed name matched (none for unknown names, kind ``anonymous``);
    no password, typed name or address is kept.
    """
    return AuditEvent.objects.create(
        actor_id=user_id,
        actor_kind="user" if user_id else "anonymous",
        action=f"auth.{event}",
        object_type="user",
        object_id=str(user_id or ""),
        data=_clean({"via": via}),
    )
