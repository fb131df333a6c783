"""The annotation queue: who gets which recording next, with overlap, expiring locks and skips."""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import BooleanField, Count, Exists, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.annotation.models import (
    Annotation,
    AnnotationSettings,
    AnnotationStatus,
    Assignment,
    AssignmentStatus,
)
from apps.annotation.selectors import ANNOTATE_ROLES, annotation_content_load, annotation_settings_get
from apps.catalog.models import RecordingStatus
from apps.consent.purposes import Purpose
from apps.consent.selectors import recording_lock_if_usable, recordings_usable, recordings_usable_among
from apps.core.errors import DomainError
from apps.core.hooks import QUEUE_EXCLUDED_IDS, QUEUE_GOLD_IDS, QUEUE_ORDER, hook_call
from apps.core.permissions import project_role_require

# How many candidate recordings one request tries before giving up on a race-heavy moment.
_CANDIDATES = 20
SKIPPED = False  # _claim: the recording was locked by another claim (or no longer usable); None: its slots are full


def _active(now) -> Q:
    """Assignments that hold a slot: finished ones, and open ones whose lock has not expired."""
    return Q(status=AssignmentStatus.DONE) | Q(status=AssignmentStatus.OPEN, locked_until__gt=now)


def _own_work(user, project_id, lock_until):
    """This annotator's rejected or still-open work, oldest first, with its lock renewed: (annotation, recording).

    Their own rows are a handful, read without the consent query; QA's exclusion is then asked of just those
    recordings, and consent of each one (``recordings_usable_among``: the set-wise query's rule, without the
    cost of building it), which also reads the rows the answer needs.
    """
    rejected = list(
        Annotation.objects.filter(project_id=project_id, annotator=user, status=AnnotationStatus.REJECTED).order_by(
            "id"
        )
    )
    open_work = list(
        Assignment.objects.filter(project_id=project_id, annotator=user, status=AssignmentStatus.OPEN)
        .order_by("id")
        .values_list("id", "recording_id")
    )
    if not rejected and not open_work:
        return None
    ids = {a.recording_id for a in rejected} | {recording_id for _, recording_id in open_work}
    for excluded_ids in hook_call(QUEUE_EXCLUDED_IDS, project_id=project_id):  # review: QA-flagged recordings
        ids -= set(excluded_ids.filter(recording_id__in=ids))
    allowed = recordings_usable_among(
        user, Purpose.ANNOTATE, ids, roles=ANNOTATE_ROLES, related=("speaker", "language")
    )
    for annotation in rejected:
        if annotation.recording_id not in allowed:
            continue
        Assignment.objects.update_or_create(
            recording_id=annotation.recording_id,
            annotator=user,
            defaults={
                "project_id": project_id,
                "status": AssignmentStatus.OPEN,
                "locked_until": lock_until,
                "finished_at": None,
            },
        )
        return annotation_content_load(annotation), allowed[annotation.recording_id]
    for assignment_id, recording_id in open_work:
        # Conditional: a lock that expired may just have been handed to someone else.
        if recording_id in allowed and Assignment.objects.filter(pk=assignment_id, status=AssignmentStatus.OPEN).update(
            locked_until=lock_until, updated_at=timezone.now()
        ):
            annotation, created = Annotation.objects.get_or_create(
                recording_id=recording_id, annotator=user, defaults={"project_id": project_id}
            )
            return annotation_content_load(annotation, fresh=created), allowed[recording_id]
    return None


def _claim(user, project_id, recording_id, overlap, now, lock_until, *, skip_locked=False):
    """Take a slot on one recording if one is free: (annotation, recording); None when others filled it first,
    or SKIPPED when it could not be locked (``skip_locked``: another claim holds it) or is no longer usable.

    ``overlap`` None (gold items) means no limit: only the one-per-annotator constraint applies.
    """
    # Concurrent claims on one recording run one after another, and consent is read under the row lock; the row
    # read under it is the one the answer renders.
    recording = recording_lock_if_usable(
        Purpose.ANNOTATE, recording_id, related=("speaker", "language"), skip_locked=skip_locked
    )
    if recording is None:
        return SKIPPED
    if overlap is not None:
        slots = Assignment.objects.filter(recording_id=recording_id).exclude(annotator=user)
        expired = Q(status=AssignmentStatus.OPEN, locked_until__lte=now)
        held = slots.aggregate(active=Count("id", filter=_active(now)), expired=Count("id", filter=expired))
        if held["active"] >= overlap:
            return None
        # Expired locks give their slot back: the abandoned assignment is cancelled (its saved versions stay).
        if held["active"] + held["expired"] >= overlap:
            slots.filter(expired).update(
                status=AssignmentStatus.CANCELLED, locked_until=None, finished_at=now, updated_at=now
            )
    try:
        with transaction.atomic():
            Assignment.objects.create(
                project_id=project_id,
                recording_id=recording_id,
                annotator=user,
                status=AssignmentStatus.OPEN,
                locked_until=lock_until,
            )
    except IntegrityError:  # the same annotator asked twice at once; the other request has it
        return None
    try:  # most claims are of a recording new to this annotator: insert first, read only if it was there
        with transaction.atomic():
            annotation = Annotation.objects.create(project_id=project_id, recording_id=recording_id, annotator=user)
        return annotation_content_load(annotation, fresh=True), recording
    except IntegrityError:  # kept from an earlier skip or a cancelled lock, with its saved versions
        annotation = Annotation.objects.get(recording_id=recording_id, annotator=user)
        return annotation_content_load(annotation), recording


def _claim_first(user, project_id, candidates, overlap, now, lock_until):
    """Claim the first candidate with a free slot. Everyone's queue starts at the same recordings, so concurrent
    requests meet on one row: a candidate another claim holds locked is passed over at once (SKIP LOCKED) rather
    than waited for, only to find its slot gone. Candidates passed over are tried again, waiting, if no other
    was free, so a busy moment never answers "queue empty" while one is left."""
    passed: list[tuple[int, bool]] = []
    for skip_locked, tries in ((True, candidates), (False, passed)):
        for recording_id, is_gold in tries:
            with transaction.atomic():
                found = _claim(
                    user,
                    project_id,
                    recording_id,
                    None if is_gold else overlap,
                    now,
                    lock_until,
                    skip_locked=skip_locked,
                )
            if found:
                return found
            if found is SKIPPED and skip_locked:
                passed.append((recording_id, is_gold))
    return None


def _ordered(project_id, candidates):
    """The project's queue order (a higher app, learning, may choose random or most-uncertain first), else by id."""
    for ordered in hook_call(QUEUE_ORDER, project_id=project_id, candidates=candidates):
        if ordered is not None:
            return ordered
    return candidates.order_by("id")


def _usable(user, project_id):
    usable = recordings_usable(user, Purpose.ANNOTATE, roles=ANNOTATE_ROLES).filter(project_id=project_id)
    for excluded_ids in hook_call(QUEUE_EXCLUDED_IDS, project_id=project_id):  # review: QA-flagged recordings
        usable = usable.exclude(id__in=excluded_ids)
    return usable


def _gold(project_id) -> Value | Exists:
    """Whether the outer recording is one of the project's gold items (review's hook), else False."""
    gold: Value | Exists = Value(False, output_field=BooleanField())
    for gold_ids in hook_call(QUEUE_GOLD_IDS, project_id=project_id):  # review: gold recordings
        gold = Exists(gold_ids.filter(recording_id=OuterRef("pk")))
    return gold


def _open_items(user, project_id, usable, settings, now):
    """Recordings this annotator could still be handed: not theirs yet, a free overlap slot (or gold)."""
    return (
        usable.exclude(status=RecordingStatus.FAILED)
        .exclude(assignments__annotator=user)
        .annotate(
            taken=Count(
                "assignments",
                filter=Q(assignments__status=AssignmentStatus.DONE)
                | Q(assignments__status=AssignmentStatus.OPEN, assignments__locked_until__gt=now),
            )
        )
        .annotate(gold=_gold(project_id))
        .filter(Q(taken__lt=settings.overlap) | Q(gold=True))
    )


def queue_progress(*, project_id: int, user, settings: AnnotationSettings | None = None, usable=None) -> dict:
    """How much is left for this annotator: items open to them plus their own unfinished work, of the total.

    ``total`` counts the usable recordings they could work on at all (their finished ones included), so the
    page can say "12 of 40 left". Reads only: one query over the usable recordings (the consent query built
    once), each with this annotator's assignment status (one per recording and annotator) and its taken slots.
    """
    settings = settings or annotation_settings_get(project_id)
    now = timezone.now()
    mine = Assignment.objects.filter(recording_id=OuterRef("pk"), annotator=user).values("status")[:1]
    taken = (
        Assignment.objects.filter(_active(now), recording_id=OuterRef("pk"))
        .values("recording_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    rows = (usable if usable is not None else _usable(user, project_id)).annotate(
        mine=Subquery(mine), taken=Coalesce(Subquery(taken), 0), gold=_gold(project_id)
    )
    counts = rows.aggregate(
        open=Count("id", filter=Q(mine=AssignmentStatus.OPEN)),
        done=Count("id", filter=Q(mine=AssignmentStatus.DONE)),
        items=Count(
            "id",
            filter=Q(mine__isnull=True)
            & ~Q(status=RecordingStatus.FAILED)
            & (Q(taken__lt=settings.overlap) | Q(gold=True)),
        ),
    )
    left = counts["open"] + counts["items"]
    return {"left": left, "total": left + counts["done"]}


def queue_next(*, project_id, user, settings: AnnotationSettings | None = None):
    """The next (annotation, recording) for this annotator, or None when nothing is left.

    Writes an Assignment (the lock) and an empty Annotation for a new item; own rejected or open work
    comes first. Only recordings usable for annotation (consent selector) and not excluded by automatic
    QA (flagged and not accepted, see apps.review.selectors) are ever handed out. Gold recordings go to
    every annotator once, whatever the overlap; they are otherwise ordinary items (same order by id).
    The number of queries does not depend on how many recordings are flagged or gold. The recording comes
    with its speaker and language, read with consent: under the claim's row lock, or with the own work's
    per-recording consent check; the annotation with its regions and clip labels.
    """
    found = queue_next_item(project_id=project_id, user=user, settings=settings, progress=False)
    return None if found is None else found[:2]


def queue_next_item(
    *, project_id, user, settings: AnnotationSettings | None = None, progress: bool = True, role: str | None = None
):
    """``queue_next`` plus, with ``progress``, ``queue_progress`` as it is after the claim: (annotation, recording,
    progress or None), or None when nothing is left. Both use one build of the usable recordings' query, when
    the claim needs it at all. ``role``: the user's role in the project when the caller has just read it (the
    annotator page's guard), so it is not read again; any other is checked here."""
    if role not in ANNOTATE_ROLES:
        project_role_require(user, project_id, ANNOTATE_ROLES)
    settings = settings or annotation_settings_get(project_id)
    now = timezone.now()
    lock_until = now + timedelta(minutes=settings.lock_minutes)
    with transaction.atomic():
        found = _own_work(user, project_id, lock_until)
    usable = None  # built only when needed: its query costs ~3 ms to build, and own work (the common case) needs none
    if found is None:
        usable = _usable(user, project_id)
        candidates = _ordered(project_id, _open_items(user, project_id, usable, settings, now)).values_list(
            "id", "gold"
        )[:_CANDIDATES]
        found = _claim_first(user, project_id, list(candidates), settings.overlap, now, lock_until)
    if found is None:
        return None
    counts = queue_progress(project_id=project_id, user=user, settings=settings, usable=usable) if progress else None
    return *found, counts


@transaction.atomic
def annotation_skip(*, annotation, user) -> Assignment:
    """Give an item back: the assignment is marked skipped (recorded) and frees its slot for others.

    An annotation never saved is deleted; one with saved versions is kept so nothing typed is lost.
    """
    if annotation.annotator_id != user.id:
        raise DomainError("Only the annotator can skip their own item.", status_code=404)
    if annotation.status != AnnotationStatus.IN_PROGRESS:
        raise DomainError(
            f"This annotation is {annotation.get_status_display().lower()}; only work in progress can be skipped."
        )
    now = timezone.now()
    assignment, _ = Assignment.objects.update_or_create(
        recording_id=annotation.recording_id,
        annotator=user,
        defaults={
            "project_id": annotation.project_id,
            "status": AssignmentStatus.SKIPPED,
            "locked_until": None,
            "finished_at": now,
        },
    )
    if annotation.version == 0:
        annotation.delete()
    return assignment
