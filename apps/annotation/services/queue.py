"""The annotation queue: who gets which recording next, with overlap, expiring locks and skips."""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import BooleanField, Count, Exists, OuterRef, Q, Value
from django.utils import timezone

from apps.annotation.models import (
    Annotation,
    AnnotationStatus,
    Assignment,
    AssignmentStatus,
)
from apps.annotation.selectors import ANNOTATE_ROLES, annotation_settings_get
from apps.catalog.models import RecordingStatus
from apps.consent.purposes import Purpose
from apps.consent.selectors import recording_lock_if_usable, recordings_usable
from apps.core.errors import DomainError
from apps.core.hooks import QUEUE_EXCLUDED_IDS, QUEUE_GOLD_IDS, QUEUE_ORDER, hook_call
from apps.core.permissions import project_role_require

# How many candidate recordings one request tries before giving up on a race-heavy moment.
_CANDIDATES = 20


def _active(now) -> Q:
    """Assignments that hold a slot: finished ones, and open ones whose lock has not expired."""
    return Q(status=AssignmentStatus.DONE) | Q(status=AssignmentStatus.OPEN, locked_until__gt=now)


def _own_work(user, project_id, usable, lock_until):
    """This annotator's rejected or still-open work, oldest first, with its lock renewed."""
    rejected = (
        Annotation.objects.filter(
            project_id=project_id, annotator=user, status=AnnotationStatus.REJECTED, recording__in=usable.values("id")
        )
        .order_by("id")
        .first()
    )
    if rejected is not None:
        Assignment.objects.update_or_create(
            recording_id=rejected.recording_id,
            annotator=user,
            defaults={
                "project_id": project_id,
                "status": AssignmentStatus.OPEN,
                "locked_until": lock_until,
                "finished_at": None,
            },
        )
        return rejected
    for assignment in Assignment.objects.filter(
        project_id=project_id, annotator=user, status=AssignmentStatus.OPEN, recording__in=usable.values("id")
    ).order_by("id"):
        # Conditional: a lock that expired may just have been handed to someone else.
        if Assignment.objects.filter(pk=assignment.pk, status=AssignmentStatus.OPEN).update(
            locked_until=lock_until, updated_at=timezone.now()
        ):
            annotation, _ = Annotation.objects.get_or_create(
                recording_id=assignment.recording_id, annotator=user, defaults={"project_id": project_id}
            )
            return annotation
    return None


def _claim(user, project_id, recording_id, overlap, now, lock_until):
    """Take a slot on one recording if one is free; None when others filled it first.

    ``overlap`` None (gold items) means no limit: only the one-per-annotator constraint applies.
    """
    # Concurrent claims on one recording run one after another, and consent is read under the row lock.
    if not recording_lock_if_usable(Purpose.ANNOTATE, recording_id):
        return None
    if overlap is not None:
        slots = Assignment.objects.filter(recording_id=recording_id).exclude(annotator=user)
        if slots.filter(_active(now)).count() >= overlap:
            return None
        # Expired locks give their slot back: the abandoned assignment is cancelled (its saved versions stay).
        expired = slots.filter(status=AssignmentStatus.OPEN, locked_until__lte=now)
        if slots.filter(_active(now)).count() + expired.count() >= overlap:
            expired.update(status=AssignmentStatus.CANCELLED, locked_until=None, finished_at=now, updated_at=now)
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
    annotation, _ = Annotation.objects.get_or_create(
        recording_id=recording_id, annotator=user, defaults={"project_id": project_id}
    )
    return annotation


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


def _open_items(user, project_id, usable, settings, now):
    """Recordings this annotator could still be handed: not theirs yet, a free overlap slot (or gold)."""
    gold: Value | Exists = Value(False, output_field=BooleanField())
    for gold_ids in hook_call(QUEUE_GOLD_IDS, project_id=project_id):  # review: gold recordings
        gold = Exists(gold_ids.filter(recording_id=OuterRef("pk")))
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
        .annotate(gold=gold)
        .filter(Q(taken__lt=settings.overlap) | Q(gold=True))
    )


def queue_progress(*, project_id: int, user) -> dict:
    """How much is left for this annotator: items open to them plus their own unfinished work, of the total.

    ``total`` counts the usable recordings they could work on at all (their finished ones included), so the
    page can say "12 of 40 left". Reads only.
    """
    settings = annotation_settings_get(project_id)
    usable = _usable(user, project_id)
    own = Assignment.objects.filter(project_id=project_id, annotator=user, recording__in=usable.values("id")).aggregate(
        open=Count("id", filter=Q(status=AssignmentStatus.OPEN)),
        done=Count("id", filter=Q(status=AssignmentStatus.DONE)),
    )
    left = own["open"] + _open_items(user, project_id, usable, settings, timezone.now()).count()
    return {"left": left, "total": left + own["done"]}


def queue_next(*, project_id, user):
    """The next (annotation, recording) for this annotator, or None when nothing is left.

    Writes an Assignment (the lock) and an empty Annotation for a new item; own rejected or open work
    comes first. Only recordings usable for annotation (consent selector) and not excluded by automatic
    QA (flagged and not accepted, see apps.review.selectors) are ever handed out. Gold recordings go to
    every annotator once, whatever the overlap; they are otherwise ordinary items (same order by id).
    The number of queries does not depend on how many recordings are flagged or gold.
    """
    project_role_require(user, project_id, ANNOTATE_ROLES)
    settings = annotation_settings_get(project_id)
    now = timezone.now()
    lock_until = now + timedelta(minutes=settings.lock_minutes)
    usable = _usable(user, project_id)
    with transaction.atomic():
        annotation = _own_work(user, project_id, usable, lock_until)
    if annotation is None:
        candidates = _ordered(project_id, _open_items(user, project_id, usable, settings, now)).values_list(
            "id", "gold"
        )[:_CANDIDATES]
        for recording_id, is_gold in candidates:
            with transaction.atomic():
                annotation = _claim(
                    user, project_id, recording_id, None if is_gold else settings.overlap, now, lock_until
                )
            if annotation is not None:
                break
    if annotation is None:
        return None
    recording = usable.select_related("speaker", "language").get(pk=annotation.recording_id)
    return annotation, recording


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
