from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts.errors import DomainError
from apps.accounts.models import Membership, Role
from apps.catalog.models import Language, Project, Recording, Speaker, validate_bcp47


@transaction.atomic
def project_create(*, name: str, created_by, description: str = "", target_sample_rate: int = 16000,
                   require_speaker: bool = False) -> Project:
    """Create a project and make its creator a manager."""
    project = Project.objects.create(
        name=name, description=description, target_sample_rate=target_sample_rate,
        require_speaker=require_speaker, created_by=created_by,
    )
    if created_by is not None:
        Membership.objects.create(user=created_by, project=project, role=Role.MANAGER)
    return project


def language_get_or_create(*, tag: str) -> Language:
    """The Language for a BCP-47 tag (created on first use); DomainError for a malformed tag."""
    try:
        validate_bcp47(tag)
    except ValidationError as exc:
        raise DomainError(exc.messages[0]) from None
    language, _ = Language.objects.get_or_create(tag=tag)
    return language


def speaker_get_or_create(*, project: Project, code: str) -> Speaker:
    """The project's speaker with this pseudonymous code (created on first use)."""
    code = code.strip()
    if not code or len(code) > 64:
        raise DomainError("a speaker code must have 1 to 64 characters")
    speaker, _ = Speaker.objects.get_or_create(project=project, code=code)
    return speaker


@transaction.atomic
def recording_speaker_set(*, recording_id: int, speaker_id: int | None) -> None:
    """Write who speaks in a recording. Only apps.consent's ``recording_speaker_change`` calls this: it checks
    consent, refuses when a withdrawal binds the voice, and audits."""
    Recording.objects.filter(pk=recording_id).update(speaker_id=speaker_id)
