from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts.services import membership_set
from apps.catalog.models import (
    Language,
    Project,
    Recording,
    Speaker,
    SpeakerIdentity,
    validate_bcp47,
)
from apps.core.errors import DomainError
from apps.core.permissions import Role

SPEAKER_CODE_MAX = 64  # Speaker.code's max_length


@transaction.atomic
def project_create(
    *, name: str, created_by, description: str = "", target_sample_rate: int = 16000, require_speaker: bool = False
) -> Project:
    """Create a project and make its creator a manager."""
    name = _project_fields_check(name=name, target_sample_rate=target_sample_rate)
    project = Project.objects.create(
        name=name,
        description=description,
        target_sample_rate=target_sample_rate,
        require_speaker=require_speaker,
        created_by=created_by,
    )
    if created_by is not None:
        membership_set(project_id=project.id, user=created_by, role=Role.MANAGER)
    return project


def language_get_or_create(*, tag: str) -> Language:
    """The Language for a BCP-47 tag (created on first use); DomainError for a malformed tag."""
    try:
        validate_bcp47(tag)
    except ValidationError as exc:
        raise DomainError(exc.messages[0]) from None
    language, _ = Language.objects.get_or_create(tag=tag)
    return language


def _speaker_code_clean(code: str | None) -> str:
    code = (code or "").strip()
    if not code or len(code) > SPEAKER_CODE_MAX:
        raise DomainError(f"a speaker code must have 1 to {SPEAKER_CODE_MAX} characters")
    return code


def speaker_get_or_create(*, project: Project, code: str) -> Speaker:
    """The project's speaker with this pseudonymous code (created on first use). Writes Speaker."""
    speaker, _ = Speaker.objects.get_or_create(project=project, code=_speaker_code_clean(code))
    return speaker


@transaction.atomic
def speaker_create(*, project: Project, code: str, identity: dict | None = None, **attributes) -> Speaker:
    """A new speaker of the project (and its identity row, when given); DomainError for a bad code, 409 for a
    code already used. Writes Speaker and SpeakerIdentity."""
    code = _speaker_code_clean(code)
    if Speaker.objects.filter(project=project, code=code).exists():
        raise DomainError(f"the speaker code {code} is already used in this project", status_code=409)
    speaker = Speaker.objects.create(project=project, code=code, **attributes)
    if identity and any(identity.values()):
        SpeakerIdentity.objects.create(speaker=speaker, **identity)
    return speaker


RATE_MIN, RATE_MAX = 8000, 192000


def _project_fields_check(*, name: str, target_sample_rate: int) -> str:
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise DomainError("A project needs a name of 1 to 200 characters.")
    if not isinstance(target_sample_rate, int) or not RATE_MIN <= target_sample_rate <= RATE_MAX:
        raise DomainError(f"The target sample rate must be a whole number of Hz from {RATE_MIN} to {RATE_MAX}.")
    return name


@transaction.atomic
def project_update(
    *, project: Project, name: str, description: str = "", target_sample_rate: int, require_speaker: bool
) -> Project:
    """Change a project's name, description, target rate and speaker rule (recordings are not reprocessed)."""
    project.name = _project_fields_check(name=name, target_sample_rate=target_sample_rate)
    project.description = (description or "").strip()
    project.target_sample_rate = target_sample_rate
    project.require_speaker = bool(require_speaker)
    project.save(update_fields=["name", "description", "target_sample_rate", "require_speaker"])
    return project


@transaction.atomic
def recording_speaker_set(*, recording_id: int, speaker_id: int | None) -> None:
    """Write who speaks in a recording. Only apps.consent's ``recording_speaker_change`` calls this: it checks
    consent, refuses when a withdrawal binds the voice, and audits."""
    Recording.objects.filter(pk=recording_id).update(speaker_id=speaker_id)
