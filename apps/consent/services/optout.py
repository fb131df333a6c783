"""Personal opt-out links: signed, expiring, no account needed."""

from django.conf import settings
from django.core import signing

from apps.consent.models import ConsentRecord, ConsentStatus
from apps.consent.services.audit import audit_record

SALT = "earmark.consent.optout"


class OptoutLinkInvalid(Exception):
    """The link is expired, altered, or its consent no longer exists. ``kind`` says which."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


def optout_token_make(*, consent: ConsentRecord, actor) -> str:
    """A signed token for this consent (valid EARMARK_OPTOUT_LINK_DAYS days); audited."""
    token = signing.dumps({"c": consent.id, "s": consent.speaker_id}, salt=SALT, compress=True)
    audit_record(
        actor=actor,
        action="consent.optout_link_created",
        object_type="consent",
        object_id=consent.id,
        project_id=consent.speaker.project_id,
    )
    return token


def optout_token_read(token: str) -> ConsentRecord:
    """The consent a token names, or OptoutLinkInvalid('expired' | 'invalid' | 'gone')."""
    try:
        data = signing.loads(token, salt=SALT, max_age=settings.EARMARK_OPTOUT_LINK_DAYS * 86400)
    except signing.SignatureExpired:
        raise OptoutLinkInvalid("expired") from None
    except signing.BadSignature:
        raise OptoutLinkInvalid("invalid") from None
    record = (
        ConsentRecord.objects.select_related("speaker", "speaker__project")
        .filter(pk=data.get("c"), speaker_id=data.get("s"))
        .first()
    )
    if record is None:
        raise OptoutLinkInvalid("gone")
    return record


def optout_still_open(record: ConsentRecord) -> bool:
    """Whether there is anything left to withdraw (granted and not past its expiry)."""
    from django.utils import timezone

    return record.status == ConsentStatus.GRANTED and (record.expires_at is None or record.expires_at > timezone.now())
