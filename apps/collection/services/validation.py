"""Listeners' votes: a clip is validated or invalidated after enough agreeing votes; disagreement goes to review."""

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from apps.annotation.models import AnnotationStatus
from apps.annotation.services import annotation_set_status
from apps.collection.models import Clip, ClipState, Vote
from apps.collection.selectors import clip_get_for_review, clip_get_for_validation
from apps.consent.services import audit_record
from apps.core.errors import Conflict

OUTCOME_STATUS: dict[str, str] = {
    ClipState.VALIDATED: AnnotationStatus.ACCEPTED,
    ClipState.INVALIDATED: AnnotationStatus.REJECTED,
}


def _settle(clip: Clip, state: str, *, actor, comment: str) -> None:
    """Write the clip's outcome and carry it to the prompt's transcript annotation (accepted or rejected)."""
    clip.state, clip.decided_at = state, timezone.now()
    clip.save(update_fields=["state", "decided_at", "up_votes", "down_votes"])
    annotation = clip.annotation
    if annotation is not None and state in OUTCOME_STATUS and annotation.status == AnnotationStatus.SUBMITTED:
        annotation_set_status(annotation=annotation, status=OUTCOME_STATUS[state], actor=actor, comment=comment)


def vote_cast(*, clip_id: int, voter, matches: bool) -> Clip:
    """One listener's vote: does the clip say its prompt? Settles the clip when the campaign's count agrees.

    ``votes_needed`` agreeing votes with none against: validated (transcript accepted) or invalidated (rejected,
    with the reason as the review comment). Votes both ways: disputed, and the clip waits for a reviewer
    (clip_review_decide). Writes a Vote, the clip's counts and state, an AuditEvent on a decision.
    """
    with transaction.atomic():
        clip = clip_get_for_validation(actor=voter, clip_id=clip_id)
        clip = (
            Clip.objects.select_for_update(of=("self",))
            .select_related("annotation", "contributor__campaign")
            .get(pk=clip.pk)
        )
        if clip.state != ClipState.PENDING:
            raise Conflict(f"This clip is already settled ({clip.get_state_display().lower()}).")
        try:
            with transaction.atomic():
                Vote.objects.create(clip=clip, voter=voter, matches=bool(matches))
        except IntegrityError:
            raise Conflict("You have already voted on this clip.") from None
        counts = clip.votes.aggregate(up=Count("id", filter=Q(matches=True)), down=Count("id", filter=Q(matches=False)))
        clip.up_votes, clip.down_votes = counts["up"], counts["down"]
        needed = clip.contributor.campaign.votes_needed
        state = None
        if clip.up_votes and clip.down_votes:
            state = ClipState.DISPUTED
        elif clip.up_votes >= needed:
            state = ClipState.VALIDATED
        elif clip.down_votes >= needed:
            state = ClipState.INVALIDATED
        if state is None:
            clip.save(update_fields=["up_votes", "down_votes"])
            return clip
        comment = (
            f"{clip.down_votes} listeners heard that this clip does not say its prompt."
            if state == ClipState.INVALIDATED
            else f"{clip.up_votes} listeners confirmed this clip says its prompt."
        )
        _settle(clip, state, actor=None, comment=comment)
        audit_record(
            actor="system",
            action=f"clip.{state}",
            object_type="clip",
            object_id=clip.pk,
            project_id=clip.contributor.campaign.project_id,
            data={"up_votes": clip.up_votes, "down_votes": clip.down_votes},
        )
    return clip


def clip_review_decide(*, clip_id: int, actor, matches: bool) -> Clip:
    """A reviewer's (or manager's) decision on a disputed clip: validated or invalidated; audited."""
    with transaction.atomic():
        clip = clip_get_for_review(actor=actor, clip_id=clip_id)
        clip = (
            Clip.objects.select_for_update(of=("self",))
            .select_related("annotation", "contributor__campaign")
            .get(pk=clip.pk)
        )
        if clip.state != ClipState.DISPUTED:
            raise Conflict("Only clips the listeners disagree on wait for a reviewer's decision.")
        state = ClipState.VALIDATED if matches else ClipState.INVALIDATED
        comment = "A reviewer decided: " + ("it says its prompt." if matches else "it does not say its prompt.")
        _settle(clip, state, actor=actor, comment=comment)
        audit_record(
            actor=actor,
            action=f"clip.{state}",
            object_type="clip",
            object_id=clip.pk,
            project_id=clip.contributor.campaign.project_id,
            data={"via": "review"},
        )
    return clip
