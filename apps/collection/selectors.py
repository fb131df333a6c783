"""Reads of campaigns and clips. Clips are read only through the consent selector (their recordings)."""

from collections import defaultdict

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from apps.catalog.models import AgeBand
from apps.collection.models import Campaign, Clip, ClipState, Contributor, Listener, Prompt
from apps.consent.purposes import Purpose
from apps.consent.selectors import recordings_usable
from apps.core.permissions import Role, project_role_get, project_role_require

VALIDATOR_ROLES = (Role.MANAGER, Role.REVIEWER, Role.ANNOTATOR)
DECIDER_ROLES = (Role.MANAGER, Role.REVIEWER)
COVERAGE_ROLES = (Role.MANAGER, Role.REVIEWER, Role.VIEWER, Role.EXPORTER)
# Listening to a clip to judge it is checking the work, the review purpose (docs/collection.md).
VALIDATION_PURPOSE = Purpose.REVIEW


def campaign_get(*, actor, campaign_id, roles=COVERAGE_ROLES, hide: bool = False) -> Campaign:
    """One campaign of a project where ``actor`` holds one of ``roles``; 404 otherwise (403 for a wrong role)."""
    campaign = Campaign.objects.select_related("project", "consent_form").filter(pk=campaign_id).first()
    if campaign is None:
        raise Http404("No such campaign.")
    project_role_require(actor, campaign.project_id, roles, hide=hide)
    return campaign


def campaign_languages(*, campaign: Campaign) -> list[str]:
    """The language tags the campaign has prompts in."""
    return sorted(set(campaign.prompts.values_list("language__tag", flat=True)))


def campaign_list(*, project_id) -> QuerySet:
    return Campaign.objects.filter(project_id=project_id).order_by("-id")


def may_validate(*, actor, project_id) -> bool:
    """Members who work on the data, and the volunteers the project admitted as listeners."""
    if not getattr(actor, "is_authenticated", False):
        return False
    if project_role_get(actor, project_id) in VALIDATOR_ROLES:
        return True
    return Listener.objects.filter(project_id=project_id, user=actor).exists()


def campaign_for_validator(*, actor, campaign_id) -> Campaign:
    """A campaign whose clips ``actor`` may validate, or 404."""
    campaign = Campaign.objects.select_related("project").filter(pk=campaign_id).first()
    if campaign is None or not may_validate(actor=actor, project_id=campaign.project_id):
        raise Http404("No such campaign.")
    return campaign


def clips_usable(purpose: str) -> QuerySet:
    """Clips whose recording the consent selector lets the system use for ``purpose`` now."""
    return Clip.objects.filter(recording__in=recordings_usable(None, purpose).values("pk"))


def clip_get_for_validation(*, actor, clip_id) -> Clip:
    """A clip ``actor`` may hear and vote on (usable for review, actor a validator of its project), or 404."""
    clip = (
        clips_usable(VALIDATION_PURPOSE)
        .select_related("prompt", "contributor__campaign", "recording")
        .filter(pk=clip_id)
        .first()
    )
    if clip is None or not may_validate(actor=actor, project_id=clip.contributor.campaign.project_id):
        raise Http404("No such clip.")
    return clip


def clip_get_for_review(*, actor, clip_id) -> Clip:
    """A clip a reviewer or manager of its project may decide on, or 404 (403 for another role)."""
    clip = clips_usable(VALIDATION_PURPOSE).select_related("contributor__campaign").filter(pk=clip_id).first()
    if clip is None:
        raise Http404("No such clip.")
    project_role_require(actor, clip.contributor.campaign.project_id, DECIDER_ROLES)
    return clip


def validation_queue(*, actor, campaign: Campaign) -> QuerySet:
    """Pending clips of the campaign ``actor`` has not voted on yet, oldest first."""
    return (
        clips_usable(VALIDATION_PURPOSE)
        .filter(contributor__campaign=campaign, state=ClipState.PENDING)
        .exclude(votes__voter=actor)
        .select_related("prompt", "recording")
        .order_by("id")
    )


def disputed_clips(*, campaign: Campaign) -> QuerySet:
    return (
        clips_usable(VALIDATION_PURPOSE)
        .filter(contributor__campaign=campaign, state=ClipState.DISPUTED)
        .select_related("prompt")
        .order_by("id")
    )


def prompts_for_contributor(*, contributor: Contributor) -> list[Prompt]:
    """The prompts still wanted, in order: not yet recorded by this contributor, not yet at their quota."""
    campaign = contributor.campaign
    counted = clips_usable(Purpose.STORE).exclude(state__in=[ClipState.VOIDED, ClipState.INVALIDATED])
    prompts = Prompt.objects.filter(campaign=campaign)
    if contributor.language:
        prompts = prompts.filter(language__tag=contributor.language)
    return list(
        prompts.exclude(clips__contributor=contributor)
        .annotate(n=Count("clips", filter=Q(clips__in=counted.values("pk"))))
        .filter(n__lt=campaign.clips_per_prompt)
        .select_related("language")
        .order_by("position", "id")
    )


def _bucket(rows, dim) -> dict:
    out: dict = defaultdict(lambda: {"clips": 0, "seconds": 0.0, "validated": 0})
    for row in rows:
        b = out[row[dim] or ""]
        b["clips"] += 1
        b["seconds"] += row["recording__duration"]
        b["validated"] += row["state"] == ClipState.VALIDATED
    return out


def campaign_coverage(*, campaign: Campaign) -> dict:
    """Hours and clips per language, accent, age band and gender against the targets; prompts missing
    recordings; contributor counts; the validation queue. Counts only clips usable for storage now."""
    rows = list(
        clips_usable(Purpose.STORE)
        .filter(contributor__campaign=campaign)
        .exclude(state=ClipState.VOIDED)
        .values(
            "state",
            "recording__duration",
            "prompt__language__tag",
            "contributor__speaker__accent",
            "contributor__speaker__age_band",
            "contributor__speaker__gender",
        )
    )
    fields = {
        "language": "prompt__language__tag",
        "accent": "contributor__speaker__accent",
        "age_band": "contributor__speaker__age_band",
        "gender": "contributor__speaker__gender",
    }
    age_names = dict(AgeBand.choices)
    dimensions = {}
    for dim, field in fields.items():
        got = _bucket(rows, field)
        targets = campaign.targets.get(dim, {})
        table = []
        for value in sorted(set(got) | set(targets)):
            b = got.get(value, {"clips": 0, "seconds": 0.0, "validated": 0})
            target = targets.get(value)
            table.append(
                {
                    "value": value,
                    "shown": (age_names.get(value, value) if dim == "age_band" else value) or "not given",
                    "clips": b["clips"],
                    "hours": round(b["seconds"] / 3600, 4),
                    "minutes": round(b["seconds"] / 60, 1),
                    "validated": b["validated"],
                    "target": target,
                    "percent": round(100 * b["clips"] / target, 1) if target else None,
                }
            )
        dimensions[dim] = table
    counted = clips_usable(Purpose.STORE).exclude(state__in=[ClipState.VOIDED, ClipState.INVALIDATED])
    prompts = (
        Prompt.objects.filter(campaign=campaign)
        .annotate(n=Count("clips", filter=Q(clips__in=counted.values("pk"))))
        .order_by("position", "id")
    )
    missing = [{"key": p.key, "text": p.text, "clips": p.n} for p in prompts if p.n < campaign.clips_per_prompt]
    contributors = Contributor.objects.filter(campaign=campaign)
    states = _state_counts(rows)
    return {
        "clips": len(rows),
        "hours": round(sum(r["recording__duration"] for r in rows) / 3600, 4),
        "minutes": round(sum(r["recording__duration"] for r in rows) / 60, 1),
        "dimensions": dimensions,
        "prompts_total": prompts.count(),
        "prompts_missing": missing,
        "contributors": {
            "joined": contributors.count(),
            "recorded": contributors.filter(clips__isnull=False).distinct().count(),
            "voided": contributors.filter(voided_at__isnull=False).count(),
        },
        "states": states,
        "queue": states.get(ClipState.PENDING, 0),
        "disputed": states.get(ClipState.DISPUTED, 0),
    }


def _state_counts(rows) -> dict[str, int]:
    counts: dict[str, int] = {s: 0 for s in ClipState.values if s != ClipState.VOIDED}
    for row in rows:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    return counts


def release_clip_rows(*, project_id: int, purpose: str, campaign_id: int | None = None) -> list[dict]:
    """Campaign clips of a project (one campaign's) whose recordings consent lets a release use for ``purpose``,
    with their prompt, votes and speaker's self-description: what validated.tsv and invalidated.tsv list."""
    qs = clips_usable(purpose).filter(contributor__campaign__project_id=project_id).exclude(state=ClipState.VOIDED)
    if campaign_id is not None:
        qs = qs.filter(contributor__campaign_id=campaign_id)
    out: list[dict] = []
    for row in qs.order_by("recording_id").values(
        "recording_id",
        "state",
        "up_votes",
        "down_votes",
        "prompt__key",
        "prompt__text",
        "prompt__language__tag",
        "contributor__campaign_id",
        "contributor__speaker__code",
        "contributor__speaker__age_band",
        "contributor__speaker__gender",
        "contributor__speaker__accent",
    ):
        out.append(dict(row))
    return out


def campaign_recording_ids(*, project_id: int, campaign_id: int | None = None, states=None) -> QuerySet:
    """Recording ids of a project's campaign clips (one campaign's, optionally only in ``states``; never voided
    ones), for a release's selection to intersect with the consent selector's answer."""
    qs = Clip.objects.filter(contributor__campaign__project_id=project_id).exclude(state=ClipState.VOIDED)
    if campaign_id is not None:
        qs = qs.filter(contributor__campaign_id=campaign_id)
    if states:
        qs = qs.filter(state__in=list(states))
    return qs.values("recording_id")
