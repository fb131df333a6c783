"""Saving, submitting and reviewing annotations; every change keeps a version."""

import json
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from apps.annotation.models import (
    Annotation,
    AnnotationStatus,
    AnnotationVersion,
    Assignment,
    AssignmentStatus,
    Region,
    VersionKind,
)
from apps.annotation.selectors import (
    annotation_content_rows,
    annotation_content_set,
    annotation_settings_get,
)
from apps.annotation.services.alignment import alignment_enqueue
from apps.annotation.services.validation import regions_clean
from apps.core.errors import Conflict, DomainError

EDITABLE = (AnnotationStatus.IN_PROGRESS, AnnotationStatus.REJECTED)
REVIEWABLE = (AnnotationStatus.SUBMITTED, AnnotationStatus.ACCEPTED, AnnotationStatus.REJECTED)


def _fresh(annotation_id) -> Annotation:
    return Annotation.objects.prefetch_related("regions", "clip_labels").get(pk=annotation_id)


class VersionConflict(Conflict):
    """409 for a save based on an old version. ``current`` is the annotation as it is now: the API layer renders
    it into the body (``{"detail", "current"}``, see apps.annotation.views.VersionConflictBody)."""

    def __init__(self, message: str, *, current: Annotation):
        super().__init__(message)
        self.current = current


def _conflict(annotation_id, version: int) -> VersionConflict:
    current = _fresh(annotation_id)
    return VersionConflict(
        f"Version {version} is out of date: this annotation is at version {current.version} "
        "(saved elsewhere meanwhile). Both versions are kept.",
        current=current,
    )


def _bump(annotation, version: int, *, statuses, now=None, **changes) -> int:
    """Move ``annotation`` from ``version`` to version+1 only if nobody moved it first, else 409."""
    now = now or timezone.now()
    changed = Annotation.objects.filter(pk=annotation.pk, version=version, status__in=statuses).update(
        version=version + 1, updated_at=now, **changes
    )
    if not changed:
        raise _conflict(annotation.pk, version)
    return version + 1


def _snapshot(annotation, version, *, status, author, kind, regions, clip_labels, comment="") -> None:
    AnnotationVersion.objects.create(
        annotation_id=annotation.pk,
        version=version,
        author=author,
        kind=kind,
        status=status,
        regions=regions,
        clip_labels=clip_labels,
        comment=comment or "",
    )


_REGION_COLUMNS = ("uid", "start", "end", "channel", "label_id", "text", "attributes", "fmin", "fmax", "source")


def _region_key(uid, start, end, channel, label_id, text, attributes, fmin, fmax, source) -> tuple:
    # json.dumps so that true and 1 (equal in Python) still count as a change.
    return (
        uid,
        start,
        end,
        channel,
        label_id,
        text,
        json.dumps(attributes, sort_keys=True),
        fmin,
        fmax,
        json.dumps(source, sort_keys=True),
    )


def _regions_sync(annotation_id, clean) -> None:
    """Make the Region rows equal ``clean``: one read, then at most one DELETE and one INSERT.

    Rows are matched by uid; unchanged rows are left alone, changed ones are replaced. Call it after
    the conditional version UPDATE, inside its transaction, so the rows read belong to that version.
    """
    stored = {
        row[1]: row for row in Region.objects.filter(annotation_id=annotation_id).values_list("id", *_REGION_COLUMNS)
    }
    wanted = {r.uid: r for r in clean}
    stale = {
        row[0]
        for uid, row in stored.items()
        if uid not in wanted
        or _region_key(*row[1:]) != _region_key(*(getattr(wanted[uid], c) for c in _REGION_COLUMNS))
    }
    if stale:
        Region.objects.filter(id__in=stale).delete()
    fresh = [r for r in clean if r.uid not in stored or stored[r.uid][0] in stale]
    if fresh:
        Region.objects.bulk_create(
            [
                Region(
                    annotation_id=annotation_id,
                    uid=r.uid,
                    start=r.start,
                    end=r.end,
                    channel=r.channel,
                    label_id=r.label_id,
                    text=r.text,
                    attributes=r.attributes,
                    fmin=r.fmin,
                    fmax=r.fmax,
                    source=r.source,
                )
                for r in fresh
            ]
        )


def _clip_labels_sync(annotation_id, clip: list[int]) -> None:
    """Make the annotation's clip labels equal ``clip`` without reading them: one DELETE, at most one INSERT."""
    through = Annotation.clip_labels.through
    through.objects.filter(annotation_id=annotation_id).exclude(label_id__in=clip).delete()
    if clip:
        through.objects.bulk_create(
            [through(annotation_id=annotation_id, label_id=pk) for pk in clip], ignore_conflicts=True
        )


def _content_replace(annotation, clean, clip) -> None:
    _regions_sync(annotation.pk, clean)
    _clip_labels_sync(annotation.pk, clip)


def _content_cache(annotation, clean, clip) -> Annotation:
    """Give ``annotation`` its just-written regions and clip labels as if prefetched: the response reads no rows."""
    regions = [
        Region(
            annotation_id=annotation.pk,
            uid=r.uid,
            start=r.start,
            end=r.end,
            channel=r.channel,
            label_id=r.label_id,
            text=r.text,
            attributes=r.attributes,
            fmin=r.fmin,
            fmax=r.fmax,
            source=r.source,
        )
        for r in clean
    ]
    return annotation_content_set(annotation, regions, clip)


def _owner_check(annotation, user) -> None:
    # Another annotator's work answers like a missing row (the view's selector already filters it).
    if annotation.annotator_id != user.id:
        raise DomainError("No such annotation.", status_code=404)
    if annotation.status not in EDITABLE:
        raise DomainError(f"This annotation is {annotation.get_status_display().lower()} and can no longer be edited.")


def annotation_save(*, annotation, user, version: int, regions: list, clip_labels: list, settings=None) -> Annotation:
    """Save the annotator's regions and clip labels as version+1 (conditional on ``version``; 409 if stale).

    Writes Region rows (only those that changed), clip labels, an AnnotationVersion, and renews the
    annotator's lock. Nothing is written when validation fails. ``settings`` are the project's
    AnnotationSettings when the caller already has them (annotation_get_for_save joins them).
    The returned annotation carries the written content, so rendering it reads nothing more.
    """
    _owner_check(annotation, user)
    settings = settings or annotation_settings_get(annotation.project_id)
    clean, clip = regions_clean(
        recording=annotation.recording, regions=regions, clip_labels=clip_labels, settings=settings
    )
    snapshot = [r.as_json() for r in clean]
    now = timezone.now()
    with transaction.atomic():
        new_version = _bump(annotation, version, statuses=EDITABLE, now=now)
        _regions_sync(annotation.pk, clean)
        _clip_labels_sync(annotation.pk, clip)
        # The status cannot have changed: _bump matched it among EDITABLE, and only submit leaves those.
        _snapshot(
            annotation,
            new_version,
            status=annotation.status,
            author=user,
            kind=VersionKind.SAVE,
            regions=snapshot,
            clip_labels=clip,
        )
        Assignment.objects.filter(
            recording_id=annotation.recording_id, annotator=user, status=AssignmentStatus.OPEN
        ).update(locked_until=now + timedelta(minutes=settings.lock_minutes), updated_at=now)
    annotation.version, annotation.updated_at = new_version, now
    return _content_cache(annotation, clean, clip)


def annotation_submit(*, annotation, user, version: int) -> Annotation:
    """Submit the annotator's work as it stands at ``version`` (409 if stale); it goes to review.

    Writes the status, an AnnotationVersion of kind submit, and marks the assignment done.
    """
    _owner_check(annotation, user)
    assignment = Assignment.objects.filter(recording_id=annotation.recording_id, annotator=user).first()
    if assignment is not None and assignment.status == AssignmentStatus.SKIPPED:
        raise DomainError("You skipped this recording, so it can no longer be submitted.")
    if assignment is not None and assignment.status == AssignmentStatus.CANCELLED:
        raise Conflict(
            "Your lock on this recording expired and it went to another annotator; "
            "your saved versions are kept but it can no longer be submitted."
        )
    now = timezone.now()
    with transaction.atomic():
        new_version = _bump(
            annotation, version, statuses=EDITABLE, now=now, status=AnnotationStatus.SUBMITTED, submitted_at=now
        )
        rows, clip = annotation_content_rows(annotation_id=annotation.pk)
        regions = [r.as_dict() for r in rows]
        _snapshot(
            annotation,
            new_version,
            status=AnnotationStatus.SUBMITTED,
            author=user,
            kind=VersionKind.SUBMIT,
            regions=regions,
            clip_labels=clip,
        )
        alignment_enqueue(annotation_id=annotation.pk, project_id=annotation.project_id, regions=regions)
        done = {"project_id": annotation.project_id, "status": AssignmentStatus.DONE, "locked_until": None}
        # The row read above, by its id (one UPDATE); none then, or gone since: create it (or update one made since).
        if assignment is None or not Assignment.objects.filter(pk=assignment.pk).update(
            **done, finished_at=now, updated_at=now
        ):
            Assignment.objects.update_or_create(
                recording_id=annotation.recording_id, annotator=user, defaults={**done, "finished_at": now}
            )
    # What a fresh read would give (the bump wrote these; the content is what the snapshot read under it).
    annotation.version, annotation.status, annotation.submitted_at, annotation.updated_at = (
        new_version,
        AnnotationStatus.SUBMITTED,
        now,
        now,
    )
    return annotation_content_set(annotation, rows, clip)


@transaction.atomic
def annotation_set_status(*, annotation, status: str, actor, comment: str = "", locked: bool = False) -> Annotation:
    """A reviewer's decision: accepted or rejected (with a comment), or back to submitted.

    Writes the status and review comment and an AnnotationVersion of kind review (content unchanged).
    A rejected annotation returns to its annotator first in their queue. ``locked``: ``annotation`` is the row
    the caller read with ``select_for_update`` in its open transaction (not read and locked again).
    Returns the annotation as it now is, with its content loaded (what a fresh read gives).
    """
    if status not in (AnnotationStatus.ACCEPTED, AnnotationStatus.REJECTED, AnnotationStatus.SUBMITTED):
        raise DomainError("status must be accepted, rejected or submitted.")
    if status == AnnotationStatus.REJECTED and not (comment or "").strip():
        raise DomainError("A rejection needs a comment telling the annotator what to fix.")
    current = annotation if locked else Annotation.objects.select_for_update().get(pk=annotation.pk)
    if current.status not in REVIEWABLE:
        raise DomainError("Only submitted annotations can be reviewed; this one is still in progress.")
    now = timezone.now()
    review_comment = (comment or "").strip() or None
    new_version = _bump(
        current, current.version, statuses=REVIEWABLE, now=now, status=status, review_comment=review_comment
    )
    rows, clip = annotation_content_rows(annotation_id=current.pk)
    regions = [r.as_dict() for r in rows]
    _snapshot(
        current,
        new_version,
        status=status,
        author=actor,
        kind=VersionKind.REVIEW,
        regions=regions,
        clip_labels=clip,
        comment=comment,
    )
    if status == AnnotationStatus.ACCEPTED:  # a no-op when submit's alignment already covered the same text
        alignment_enqueue(annotation_id=current.pk, project_id=current.project_id, regions=regions)
    # The row is locked: nothing changed it since the bump, which wrote these.
    current.version, current.status, current.review_comment, current.updated_at = (
        new_version,
        status,
        review_comment,
        now,
    )
    return annotation_content_set(current, rows, clip)


@transaction.atomic
def annotation_save_version(
    *, annotation, regions: list, clip_labels: list, author, kind: str = VersionKind.CORRECTION
) -> Annotation:
    """Replace the content with a new version (a reviewer's correction); earlier versions stay in history.

    Validates like annotation_save; writes Region rows, clip labels and an AnnotationVersion of ``kind``.
    """
    if kind not in VersionKind.values:
        raise DomainError(f"kind must be one of {', '.join(VersionKind.values)}.")
    current = Annotation.objects.select_for_update().select_related("recording").get(pk=annotation.pk)
    clean, clip = regions_clean(recording=current.recording, regions=regions, clip_labels=clip_labels)
    new_version = _bump(current, current.version, statuses=AnnotationStatus.values)
    _content_replace(current, clean, clip)
    _snapshot(
        current,
        new_version,
        status=current.status,
        author=author,
        kind=kind,
        regions=[r.as_json() for r in clean],
        clip_labels=clip,
    )
    if current.status in REVIEWABLE:  # a reviewer's correction: align the corrected text
        alignment_enqueue(annotation_id=current.pk, project_id=current.project_id, regions=[r.as_json() for r in clean])
    return _fresh(annotation.pk)


@transaction.atomic
def annotation_transcript_import(*, recording, author, text: str, source: dict) -> Annotation:
    """A known transcript (a collection campaign's prompt, read aloud) as a submitted annotation of ``author``.

    Writes one Annotation (status submitted, version 1), one Region spanning the whole recording with the text
    and its provenance in ``source``, and an AnnotationVersion of kind submit. It goes to review like any
    submitted work; releases read its text as the recording's transcript.
    """
    if not (text or "").strip():
        raise DomainError("A transcript needs some text.")
    now = timezone.now()
    annotation = Annotation.objects.create(
        project_id=recording.project_id,
        recording=recording,
        annotator=author,
        status=AnnotationStatus.SUBMITTED,
        version=1,
        submitted_at=now,
    )
    region = Region.objects.create(
        annotation=annotation,
        uid=f"transcript-{recording.pk}",
        start=0.0,
        end=round(float(recording.duration), 3),
        text=text.strip(),
        source=source,
    )
    _snapshot(
        annotation,
        1,
        status=AnnotationStatus.SUBMITTED,
        author=author,
        kind=VersionKind.SUBMIT,
        regions=[region.as_dict()],
        clip_labels=[],
    )
    return annotation
