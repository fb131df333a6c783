"""The review workflow: the reviewer's queue (with sampling), decisions, and their history.

Annotation tables belong to apps.annotation: every status change and correction goes through its
services (annotation_set_status, annotation_save_version); this module writes only Review rows and
ReviewSample rows.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import BigIntegerField, Case, Exists, F, IntegerField, Q, Value, When
from django.utils import timezone

from apps.annotation.models import Annotation, AnnotationStatus
from apps.annotation.selectors import annotation_content
from apps.annotation.services import annotation_save_version, annotation_set_status
from apps.consent.purposes import Purpose
from apps.consent.selectors import recordings_usable
from apps.core.errors import Conflict, DomainError
from apps.core.permissions import Role
from apps.review.models import Review, ReviewDecision, ReviewSample
from apps.review.services.qa import qa_settings_get

REVIEW_ROLES = (Role.MANAGER, Role.REVIEWER)
DECISIONS = (ReviewDecision.ACCEPT, ReviewDecision.REJECT, ReviewDecision.CORRECT)
SAMPLING_COMMENT = "Not drawn for review (the project reviews a sample of each annotator's work)."
_BATCH = 50
REVIEW_LOCK_MINUTES = 30  # how long a handed-out item stays with its reviewer
# How a reviewer's queue is ordered: oldest submission first, or most transcript-QA flags first.
REVIEW_ORDERS = ("oldest", "transcript_flags")


def review_sampled(*, annotation, fraction: float) -> bool:
    """Whether this submission is drawn for review: a seeded coin per annotation, so each annotator's
    work is sampled at ``fraction`` independently and the draw is the same however often it is asked."""
    if fraction >= 1.0:
        return True
    if fraction <= 0.0:
        return False
    return (
        random.Random(f"review:{annotation.project_id}:{annotation.annotator_id}:{annotation.id}").random() < fraction
    )


def _sample_decide(annotation, fraction: float) -> bool:
    """Record the draw once; an annotation not drawn is accepted without review. Writes ReviewSample (+ status).

    Called for an annotation the queue read without a sample: the row is inserted straight away (in a savepoint);
    only when another request drew it meanwhile is the stored draw read."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                sample = ReviewSample.objects.create(
                    annotation_id=annotation.id, selected=review_sampled(annotation=annotation, fraction=fraction)
                )
            created = True
        except IntegrityError:  # drawn by a concurrent request: its draw stands
            sample, created = ReviewSample.objects.get(annotation_id=annotation.id), False
        if created and not sample.selected:
            annotation_set_status(annotation=annotation, status=AnnotationStatus.ACCEPTED, actor=None)
            Review.objects.create(
                annotation_id=annotation.id,
                project_id=annotation.project_id,
                reviewer=None,
                annotator_id=annotation.annotator_id,
                decision=ReviewDecision.ACCEPT,
                comment=SAMPLING_COMMENT,
                reviewed_version=annotation.version,
                resulting_version=annotation.version + 1,
            )
    return sample.selected


def _claim(annotation_id: int, user, now) -> bool:
    """Take (or renew) the reviewer's claim unless another reviewer holds a live one or the annotation is no longer
    submitted (conditional update). The status is part of the condition because the queue's batch is read before
    the claim: another reviewer can decide the item in between, which frees its claim, and the item would then be
    handed out already decided (its accept answering 409)."""
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lte=now) | Q(claimed_by=user)
    # EXISTS, not a filter across the relation: that makes Django wrap the whole condition in "id IN (subquery)",
    # and PostgreSQL would then not re-check `free` on the row a concurrent claim just updated (two reviewers
    # could both take the item). Here `free` stays on the updated row itself.
    still_submitted = Exists(Annotation.objects.filter(pk=annotation_id, status=AnnotationStatus.SUBMITTED))
    return bool(
        ReviewSample.objects.filter(Q(annotation_id=annotation_id) & free, still_submitted).update(
            claimed_by=user, claimed_until=now + timedelta(minutes=REVIEW_LOCK_MINUTES)
        )
    )


_ORDERING = {
    "oldest": ("submitted_at", "id"),
    "transcript_flags": (F("transcript_qa__flag_count").desc(nulls_last=True), "submitted_at", "id"),
}


def review_next(*, project_id: int, user, order: str = "oldest") -> Annotation | None:
    """The reviewer's claimed item, else the oldest unclaimed submission they may review, or None.

    ``order="transcript_flags"``: the submission with the most transcript-QA flags first (then the oldest).

    Never the reviewer's own work; only recordings usable for review (consent selector). Submissions
    not drawn by the project's sampling rate are accepted on the way (see ``_sample_decide``). Handing
    an item out claims it for ``REVIEW_LOCK_MINUTES`` (writes ReviewSample), so concurrent reviewers
    get different items and a reload gets the same one back.
    """
    now = timezone.now()
    usable = recordings_usable(user, Purpose.REVIEW, roles=REVIEW_ROLES).filter(project_id=project_id).values("id")
    submitted = Annotation.objects.filter(
        project_id=project_id, status=AnnotationStatus.SUBMITTED, recording__in=usable
    ).exclude(annotator_id=user.id)
    # One query (the set-wise consent filter is built and compiled once, ~4 ms of CPU): the reviewer's own live
    # claims first (by id), then the unclaimed submissions in the queue's order.
    mine = Q(review_sample__claimed_by=user, review_sample__claimed_until__gt=now)
    pending = (
        submitted.exclude(review_sample__selected=False)
        .exclude(Q(review_sample__claimed_until__gt=now) & ~Q(review_sample__claimed_by=user))
        .select_related("review_sample")
        .annotate(
            _mine_first=Case(When(mine, then=Value(0)), default=Value(1), output_field=IntegerField()),
            _mine_id=Case(When(mine, then=F("id")), default=Value(None), output_field=BigIntegerField()),
        )
        .order_by("_mine_first", "_mine_id", *_ORDERING[order])
    )
    fraction: float | None = None  # the project's sampling rate, read when a submission is first drawn
    skipped: set[int] = set()
    while True:
        batch = list(pending.exclude(id__in=skipped)[:_BATCH])
        if not batch:
            return None
        for annotation in batch:
            drawn = getattr(annotation, "review_sample", None) is not None  # pending holds no undrawn sample
            if not drawn:
                if fraction is None:
                    fraction = qa_settings_get(project_id=project_id).review_fraction
                drawn = _sample_decide(annotation, fraction)
            if drawn and _claim(annotation.id, user, now):
                return annotation
            skipped.add(annotation.id)


def annotation_review(
    *,
    annotation: Annotation,
    reviewer,
    decision: str,
    comment: str = "",
    regions: list | None = None,
    clip_labels: list | None = None,
) -> Annotation:
    """Accept, reject (comment required) or correct (a new version by the reviewer, then accepted).

    Writes through the annotation services (status, versions) plus one Review row, in one transaction;
    a refused decision writes nothing.
    """
    if decision not in DECISIONS:
        raise DomainError(f"decision must be accept, reject or correct, not {decision!r}.")
    comment = (comment or "").strip()
    if annotation.annotator_id == reviewer.id:
        raise DomainError("You cannot review your own annotation; another reviewer has to.", status_code=403)
    if decision == ReviewDecision.REJECT and not comment:
        raise DomainError("A rejection needs a comment telling the annotator what to fix.")
    if decision == ReviewDecision.CORRECT and regions is None and clip_labels is None:
        raise DomainError("A correction needs the corrected regions or clip labels.")
    with transaction.atomic():
        current = Annotation.objects.select_for_update().get(pk=annotation.pk)
        if current.status != AnnotationStatus.SUBMITTED:
            raise Conflict(
                f"This annotation is {current.get_status_display().lower()}; only submitted annotations can be "
                "reviewed."
            )
        claim = ReviewSample.objects.filter(annotation_id=current.pk).values("claimed_by", "claimed_until").first()
        if (
            claim
            and claim["claimed_by"] not in (None, reviewer.id)
            and claim["claimed_until"]
            and claim["claimed_until"] > timezone.now()
        ):
            raise Conflict("Another reviewer has this annotation open right now; take the next one from the queue.")
        reviewed_version = current.version
        if decision == ReviewDecision.CORRECT:
            now_regions, now_clip = annotation_content(annotation_id=current.pk)
            current = annotation_save_version(
                annotation=current,
                author=reviewer,
                regions=now_regions if regions is None else regions,
                clip_labels=now_clip if clip_labels is None else clip_labels,
            )
        status = AnnotationStatus.REJECTED if decision == ReviewDecision.REJECT else AnnotationStatus.ACCEPTED
        result = annotation_set_status(annotation=current, status=status, actor=reviewer, comment=comment, locked=True)
        # Decided: the claim ends here. The sample read above is updated in place (one UPDATE); none: created.
        ended = {"selected": True, "claimed_by": None, "claimed_until": None}
        if claim is None or not ReviewSample.objects.filter(annotation_id=current.pk).update(**ended):
            ReviewSample.objects.update_or_create(annotation_id=current.pk, defaults=ended)
        Review.objects.create(
            annotation_id=current.pk,
            project_id=current.project_id,
            reviewer=reviewer,
            annotator_id=current.annotator_id,
            decision=decision,
            comment=comment,
            reviewed_version=reviewed_version,
            resulting_version=result.version,
        )
    return result
