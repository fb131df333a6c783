"""Consent forms, speakers' consent records, evidence, and the ingest check."""

import hashlib
from datetime import datetime

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from apps.catalog import services as catalog_services
from apps.catalog.models import Project, RecordingStatus, Speaker
from apps.consent.models import (
    ConsentForm,
    ConsentRecord,
    ConsentStatus,
    OnMissing,
    ProjectConsentPolicy,
)
from apps.consent.purposes import (
    ALL_PURPOSES_MASK,
    Purpose,
    mask_to_purposes,
    purposes_to_mask,
)
from apps.consent.selectors import recordings_usable
from apps.consent.services.audit import audit_record
from apps.core.errors import DomainError
from apps.core.hooks import RECORDINGS_RELEASED, hook_call

EVIDENCE_MAX_BYTES = 50 * 1024 * 1024
EVIDENCE_TYPES = {  # leading bytes -> (extension, content type); evidence is a signed document or a recording
    b"%PDF": ("pdf", "application/pdf"),
    b"\x89PNG": ("png", "image/png"),
    b"\xff\xd8\xff": ("jpg", "image/jpeg"),
    b"RIFF": ("wav", "audio/wav"),
    b"fLaC": ("flac", "audio/flac"),
    b"OggS": ("ogg", "audio/ogg"),
    b"ID3": ("mp3", "audio/mpeg"),
}


def _mask(purposes, what="purposes") -> int:
    try:
        mask = purposes_to_mask(purposes or [])
    except ValueError as exc:
        raise DomainError(f"{what}: {exc}") from None
    if not mask:
        raise DomainError(f"{what}: name at least one purpose")
    return mask


def policy_get(project_id) -> ProjectConsentPolicy:
    """The project's consent policy; unsaved defaults when none was stored."""
    return ProjectConsentPolicy.objects.filter(project_id=project_id).first() or ProjectConsentPolicy(
        project_id=project_id
    )


@transaction.atomic
def policy_set(*, project: Project, actor, **fields) -> ProjectConsentPolicy:
    """Create or change a project's consent policy (purpose lists per use, on_missing, retention); audited."""
    policy = policy_get(project.id)
    for key, value in fields.items():
        if key.endswith("_purposes"):
            setattr(policy, key.replace("_purposes", "_mask"), _mask(value, key))
        else:
            setattr(policy, key, value)
    policy.save()
    audit_record(
        actor=actor,
        action="consent_policy.set",
        object_type="project",
        object_id=project.id,
        project_id=project.id,
        data={"fields": sorted(fields)},
    )
    return policy


def recording_ingest_check(*, project, speaker) -> str | None:
    """Raise DomainError when the project's ingest purposes are not granted for ``speaker`` and it rejects.

    With ``on_missing = quarantine`` (the default) the file is stored but the consent selector keeps it out of
    every path until consent is recorded; the answer is then the reason, in words, that ingest reports with its
    ``quarantined`` result. None when the file may be stored and used (or names no speaker).
    """
    if speaker is None:
        return None
    policy = policy_get(project.id)
    need = policy.ingest_mask
    now = timezone.now()
    masks = [
        mask
        for mask, expires in ConsentRecord.objects.filter(speaker=speaker, status=ConsentStatus.GRANTED).values_list(
            "purpose_mask", "expires_at"
        )
        if expires is None or expires > now
    ]
    if any(mask & need == need for mask in masks):
        return None
    held = 0
    for mask in masks:
        held |= mask
    missing = mask_to_purposes(need & ~held) or mask_to_purposes(need)
    if policy.on_missing == OnMissing.REJECT:
        raise DomainError(
            f"speaker {speaker.code} has no consent on record for {', '.join(missing)}, "
            f"which this project needs before it accepts their recordings"
        )
    return f"speaker {speaker.code} has no consent on record for {', '.join(missing)}"


@transaction.atomic
def consent_form_create(*, title: str, text: str, purposes, language_tag: str = "", project=None) -> ConsentForm:
    """Store a new version of a consent form (version = last + 1, sha256 of the text)."""
    if not text.strip():
        raise DomainError("the consent form text is empty")
    language = catalog_services.language_get_or_create(tag=language_tag) if language_tag else None
    last = ConsentForm.objects.select_for_update().filter(project=project, title=title).order_by("-version").first()
    return ConsentForm.objects.create(
        project=project,
        title=title,
        text=text,
        version=(last.version + 1) if last else 1,
        language=language,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        purpose_mask=_mask(purposes),
    )


@transaction.atomic
def speaker_create(*, project: Project, code: str, actor, identity: dict | None = None, **attributes) -> Speaker:
    """Create a pseudonymous speaker (and their identity row, managers only see it); audited without names."""
    speaker = catalog_services.speaker_create(project=project, code=code, identity=identity, **attributes)
    audit_record(
        actor=actor, action="speaker.created", object_type="speaker", object_id=speaker.id, project_id=project.id
    )
    return speaker


def _evidence_store(upload) -> tuple[str, str, str]:
    data = upload.read(EVIDENCE_MAX_BYTES + 1)
    if len(data) > EVIDENCE_MAX_BYTES:
        raise DomainError(f"the evidence file is larger than {EVIDENCE_MAX_BYTES // (1024 * 1024)} MB")
    if not data:
        raise DomainError("the evidence file is empty")
    kind = next((v for magic, v in EVIDENCE_TYPES.items() if data.startswith(magic)), None)
    if kind is None:
        raise DomainError("the evidence must be a PDF, PNG or JPEG document or a WAV, FLAC, Ogg or MP3 recording")
    digest = hashlib.sha256(data).hexdigest()
    key = f"consent-evidence/{digest[:2]}/{digest[2:4]}/{digest}.{kind[0]}"
    if not default_storage.exists(key):
        default_storage.save(key, ContentFile(data))
    return key, digest, kind[1]


def consent_record(
    *,
    speaker: Speaker,
    actor,
    purposes,
    form: ConsentForm | None = None,
    granted_at: datetime | None = None,
    expires_at: datetime | None = None,
    evidence=None,
) -> ConsentRecord:
    """Record a speaker's consent; stores the evidence (content-addressed) and writes an audit event.

    Checks run before anything is written; an evidence object written for a
    failed save is removed again.
    """
    mask = _mask(purposes)
    if form is not None and mask & ~form.purpose_mask:
        extra = mask_to_purposes(mask & ~form.purpose_mask)
        raise DomainError(f"the form {form.title} v{form.version} does not cover {', '.join(extra)}")
    granted_at = granted_at or timezone.now()
    if expires_at is not None and expires_at <= granted_at:
        raise DomainError("expires_at must be later than granted_at")
    if mask & ~ALL_PURPOSES_MASK:
        raise DomainError("unknown purposes")
    key = digest = content_type = ""
    wrote = False
    if evidence is not None:
        key, digest, content_type = _evidence_store(evidence)
        wrote = True
    try:
        with transaction.atomic():
            record = ConsentRecord.objects.create(
                speaker=speaker,
                form=form,
                purpose_mask=mask,
                granted_at=granted_at,
                expires_at=expires_at,
                collected_by=actor if getattr(actor, "is_authenticated", False) else None,
                evidence_key=key,
                evidence_sha256=digest,
                evidence_content_type=content_type,
            )
            audit_record(
                actor=actor,
                action="consent.granted",
                object_type="consent",
                object_id=record.id,
                project_id=speaker.project_id,
                data={"speaker_id": speaker.id, "purposes": record.purposes, "evidence": bool(key)},
            )
            _quarantine_lift(speaker)
    except Exception:
        if wrote and not ConsentRecord.objects.filter(evidence_key=key).exists():
            default_storage.delete(key)
        raise
    return record


def _quarantine_lift(speaker: Speaker) -> None:
    """Recordings of ``speaker`` that this consent makes storable and that were never processed (quarantined
    on ingest): processing is queued now (RECORDINGS_RELEASED), inside the consent's transaction."""
    ids = list(
        recordings_usable(None, Purpose.STORE)
        .filter(speaker=speaker, status__in=[RecordingStatus.INGESTED, RecordingStatus.FAILED])
        .values_list("pk", flat=True)
    )
    if ids:
        hook_call(RECORDINGS_RELEASED, recording_ids=ids, reason="consent_recorded")


def consents_grant_bulk(*, speakers, purposes=None) -> int:
    """Grant every (or the given) purpose to many speakers at once — seeding demos and benchmarks."""
    mask = purposes_to_mask(purposes) if purposes else ALL_PURPOSES_MASK
    now = timezone.now()
    rows = [ConsentRecord(speaker=s, purpose_mask=mask, granted_at=now) for s in speakers]
    return len(ConsentRecord.objects.bulk_create(rows, batch_size=1000))


@transaction.atomic
def demo_speakers_seed(*, project: Project, actor, speaker_codes) -> None:
    """DEMO_PROJECT_SEED: a demo consent form and speakers who consented to every purpose (so the demo's clips
    are usable at once; without consent on record the default policy quarantines a speaker's audio)."""
    form = consent_form_create(
        title="Demo consent",
        text="Generated audio; no real person.",
        purposes=list(Purpose),
        language_tag="en",
        project=project,
    )
    for code in speaker_codes:
        speaker = speaker_create(project=project, code=code, actor=actor)
        consent_record(speaker=speaker, actor=actor, purposes=list(Purpose), form=form)


@transaction.atomic
def speaker_enrol(
    *, project: Project, code: str, actor, purposes, identity: dict | None = None, evidence=None
) -> ConsentRecord:
    """A new speaker and their first consent record, together or neither (the manager's "add speaker" form).

    Writes Speaker (and its identity), ConsentRecord and audit events; see speaker_create and consent_record.
    """
    speaker = speaker_create(project=project, code=code, actor=actor, identity=identity)
    return consent_record(speaker=speaker, actor=actor, purposes=purposes, evidence=evidence)
