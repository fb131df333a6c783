"""Campaigns, their prompt sets, invite codes and admitted listeners."""

import csv
import io
import re
import secrets
from datetime import datetime

from django.db import transaction

from apps.catalog.models import AgeBand, Project
from apps.catalog.services import language_get_or_create
from apps.collection.models import Campaign, InviteCode, Listener, Prompt
from apps.consent.purposes import PURPOSE_BITS, Purpose
from apps.consent.services import audit_record, consent_form_create
from apps.core.errors import DomainError

PROMPT_MAX_CHARS = 500
PROMPTS_MAX = 20000
TARGET_DIMENSIONS = ("language", "accent", "age_band", "gender")
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")


def _purposes(values, what: str) -> list[str]:
    values = [str(v) for v in (values or [])]
    unknown = [v for v in values if v not in PURPOSE_BITS]
    if unknown:
        raise DomainError(f"{what}: unknown purpose {unknown[0]!r}; use {', '.join(PURPOSE_BITS)}")
    return [p for p in PURPOSE_BITS if p in values]  # vocabulary order, no repeats


def _targets(targets) -> dict:
    targets = targets or {}
    if not isinstance(targets, dict):
        raise DomainError('targets must map a dimension to {value: clips}, e.g. {"language": {"en": 500}}')
    out: dict = {}
    for dim, wanted in targets.items():
        if dim not in TARGET_DIMENSIONS:
            raise DomainError(f"targets: unknown dimension {dim!r}; use {', '.join(TARGET_DIMENSIONS)}")
        if not isinstance(wanted, dict) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in wanted.values()
        ):
            raise DomainError(f"targets: {dim} must map each value to a whole number of clips")
        if dim == "age_band" and set(wanted) - set(AgeBand.values):
            bad = sorted(set(wanted) - set(AgeBand.values))[0]
            raise DomainError(f"targets: age band {bad!r} is not one of {', '.join(v for v in AgeBand.values if v)}")
        out[dim] = {str(k): int(v) for k, v in wanted.items()}
    return out


@transaction.atomic
def campaign_create(
    *,
    project: Project,
    actor,
    name: str,
    consent_text: str,
    purposes_asked,
    purposes_required=(Purpose.STORE,),
    description: str = "",
    ui_language: str = "en",
    public_link: bool = True,
    public_max_contributors: int | None = None,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    clips_per_prompt: int = 5,
    clips_per_contributor: int = 100,
    targets: dict | None = None,
    votes_needed: int = 2,
    link_joins_per_hour: int = 60,
    contributor_clips_per_minute: int = 20,
    max_clip_seconds: float = 20.0,
) -> Campaign:
    """A campaign in ``project`` with its consent form (a new consent form version); audited.

    Writes ConsentForm (through consent), Campaign and an AuditEvent.
    """
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise DomainError("A campaign needs a name of 1 to 200 characters.")
    asked = _purposes(purposes_asked, "purposes_asked")
    required = _purposes(purposes_required, "purposes_required")
    if Purpose.STORE not in asked:
        raise DomainError("purposes_asked must include store: nothing can be recorded without keeping it.")
    if Purpose.STORE not in required:
        raise DomainError("purposes_required must include store: nothing can be recorded without keeping it.")
    if set(required) - set(asked):
        raise DomainError("purposes_required must be among purposes_asked (the form asks for every one it needs).")
    if opens_at and closes_at and closes_at <= opens_at:
        raise DomainError("The campaign must close after it opens.")
    if votes_needed < 1 or clips_per_prompt < 1 or clips_per_contributor < 1:
        raise DomainError("votes_needed, clips_per_prompt and clips_per_contributor must be at least 1.")
    form = consent_form_create(
        title=f"Campaign: {name}"[:200], text=consent_text, purposes=asked, language_tag=ui_language, project=project
    )
    campaign = Campaign.objects.create(
        project=project,
        name=name,
        description=description,
        consent_form=form,
        purposes_asked=asked,
        purposes_required=required,
        ui_language=ui_language,
        opens_at=opens_at,
        closes_at=closes_at,
        public_token=secrets.token_urlsafe(16) if public_link else "",
        public_max_contributors=public_max_contributors,
        clips_per_prompt=clips_per_prompt,
        clips_per_contributor=clips_per_contributor,
        targets=_targets(targets),
        votes_needed=votes_needed,
        link_joins_per_hour=link_joins_per_hour,
        contributor_clips_per_minute=contributor_clips_per_minute,
        max_clip_seconds=max_clip_seconds,
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action="campaign.created",
        object_type="campaign",
        object_id=campaign.id,
        project_id=project.id,
        data={"purposes": asked, "form_version": form.version},
    )
    return campaign


def _rows(content: str) -> list[tuple[int, str, str, list[str]]]:
    """(line number, key or '', text, tags) from CSV/TSV with a header naming a text column, or plain lines."""
    lines = content.lstrip("\ufeff").splitlines()
    first = lines[0] if lines else ""
    delimiter = "\t" if "\t" in first else ","
    header = [h.strip().lower() for h in first.split(delimiter)]
    if "text" in header or "sentence" in header:
        reader = csv.DictReader(io.StringIO("\n".join(lines)), delimiter=delimiter)
        reader.fieldnames = [h.strip().lower() for h in reader.fieldnames or []]
        out = []
        for number, row in enumerate(reader, start=2):
            text = (row.get("text") or row.get("sentence") or "").strip()
            key = (row.get("id") or row.get("prompt_id") or row.get("sentence_id") or "").strip()
            tags = [t.strip() for t in re.split(r"[;|]", row.get("tags") or "") if t.strip()]
            out.append((number, key, text, tags))
        return out
    return [(number, "", line.strip(), []) for number, line in enumerate(lines, start=1) if line.strip()]


@transaction.atomic
def prompts_import(*, campaign: Campaign, content: str, language_tag: str, actor) -> list[Prompt]:
    """Add prompts from text (one per line) or CSV/TSV (columns id, text, tags); all or nothing.

    Writes Prompt rows and an AuditEvent. Errors name the line: empty text, a text too long, a malformed or
    repeated id (in the file or the campaign).
    """
    language = language_get_or_create(tag=(language_tag or "").strip())
    rows = _rows(content or "")
    if not rows:
        raise DomainError("The prompt file holds no prompts.")
    existing = set(campaign.prompts.values_list("key", flat=True))
    if len(existing) + len(rows) > PROMPTS_MAX:
        raise DomainError(f"A campaign holds at most {PROMPTS_MAX} prompts.")
    start = campaign.prompts.count()
    seen: set[str] = set()
    prompts = []
    for index, (line, key, text, tags) in enumerate(rows):
        if not text:
            raise DomainError(f"Line {line}: the prompt text is empty.")
        if len(text) > PROMPT_MAX_CHARS:
            raise DomainError(f"Line {line}: the prompt is longer than {PROMPT_MAX_CHARS} characters.")
        key = key or f"{language.tag}-{start + index + 1:05d}"
        if not _KEY.match(key):
            raise DomainError(f"Line {line}: the prompt id {key!r} may hold only letters, digits and . _ : -")
        if key in seen or key in existing:
            raise DomainError(f"Line {line}: the prompt id {key!r} is used twice.")
        seen.add(key)
        prompts.append(
            Prompt(campaign=campaign, key=key, language=language, text=text, tags=tags, position=start + index)
        )
    created = Prompt.objects.bulk_create(prompts)
    audit_record(
        actor=actor,
        action="campaign.prompts_imported",
        object_type="campaign",
        object_id=campaign.id,
        project_id=campaign.project_id,
        data={"count": len(created), "language": language.tag},
    )
    return created


@transaction.atomic
def invites_create(*, campaign: Campaign, actor, count: int = 1, max_contributors: int = 1) -> list[InviteCode]:
    """``count`` invite codes, each good for ``max_contributors`` people. Writes InviteCode rows, an AuditEvent."""
    if not 1 <= count <= 1000:
        raise DomainError("Make between 1 and 1000 invite codes at a time.")
    if max_contributors < 1:
        raise DomainError("An invite code must admit at least one contributor.")
    codes = InviteCode.objects.bulk_create(
        [
            InviteCode(campaign=campaign, code=secrets.token_urlsafe(9), max_contributors=max_contributors)
            for _ in range(count)
        ]
    )
    audit_record(
        actor=actor,
        action="campaign.invites_created",
        object_type="campaign",
        object_id=campaign.id,
        project_id=campaign.project_id,
        data={"count": count, "max_contributors": max_contributors},
    )
    return codes


@transaction.atomic
def listener_admit(*, project: Project, user, actor) -> Listener:
    """Admit a signed-in volunteer to validate the project's campaign clips. Writes Listener, an AuditEvent."""
    listener, _ = Listener.objects.get_or_create(project=project, user=user, defaults={"admitted_by": actor})
    audit_record(
        actor=actor, action="campaign.listener_admitted", object_type="user", object_id=user.pk, project_id=project.id
    )
    return listener
