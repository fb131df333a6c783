"""Consent writes (filled in by the consent issue)."""


def recording_ingest_check(*, project, speaker) -> None:
    """Raise DomainError when the project's ingest purposes are not granted for ``speaker``."""
    return None


def audit_record(*, actor, action: str, object_type: str, object_id, project_id=None, data=None) -> None:
    """Append an audit event (ids only, never personal data)."""
    return None
