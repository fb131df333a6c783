"""The autosave path as it was before issue 4's tuning (commit 7fb6d26), kept verbatim as the baseline.

Only benchmarks/autosave.py uses it, by swapping AnnotationDetailView.put for ``legacy_put``. It
validates eagerly (settings, labels, fields: 3 queries), replaces every Region row and the clip labels
on each save (clip_labels.set), and re-reads the annotation with a prefetch to answer.
"""

import math
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from rest_framework.response import Response

from apps.annotation.models import (
    Annotation,
    AnnotationStatus,
    AnnotationVersion,
    Assignment,
    AssignmentStatus,
    FieldType,
    LabelKind,
    Region,
    VersionKind,
)
from apps.annotation.selectors import (
    annotation_get,
    annotation_settings_get,
    label_list,
    region_field_list,
)
from apps.annotation.serializers import AnnotationOutput, AnnotationSaveInput
from apps.core.errors import Conflict, DomainError

# Floating-point slack when comparing a millisecond-rounded end with the recording's duration.
_EPS = 0.0005


@dataclass
class CleanRegion:
    uid: str
    start: float
    end: float
    channel: int | None
    label_id: int | None
    text: str
    attributes: dict
    fmin: float | None
    fmax: float | None

    def as_json(self) -> dict:
        return {
            "id": self.uid,
            "start": self.start,
            "end": self.end,
            "channel": self.channel,
            "label": self.label_id,
            "text": self.text,
            "attributes": self.attributes,
            "fmin": self.fmin,
            "fmax": self.fmax,
        }


def _number(value, where: str, *, unit="seconds", allow_none=False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DomainError(f"{where} must be a number of {unit}.")
    return float(value)


def _attributes_clean(attributes, fields: dict, where: str) -> dict:
    if attributes is None:
        return {}
    if not isinstance(attributes, dict):
        raise DomainError(f"{where}.attributes must be an object.")
    for name, value in attributes.items():
        field = fields.get(name)
        if field is None:
            if not isinstance(value, (str, int, float, bool)) and value is not None:
                raise DomainError(f"{where}.attributes.{name} must be text, a number or true/false.")
            continue
        if field.type == FieldType.CHECKBOX and not isinstance(value, bool):
            raise DomainError(f"{where}.attributes.{name} must be true or false.")
        if field.type == FieldType.TEXT and not isinstance(value, str):
            raise DomainError(f"{where}.attributes.{name} must be text.")
        if field.type == FieldType.CHOICE and value not in (None, "") and value not in (field.choices or []):
            raise DomainError(
                f"{where}.attributes.{name}: {value!r} is not one of {', '.join(map(str, field.choices))}."
            )
    return dict(attributes)


def regions_clean(*, recording, regions, clip_labels, settings=None) -> tuple[list[CleanRegion], list[int]]:
    """Validated regions (times rounded to ms) and clip-label ids, or DomainError naming the problem."""
    if not isinstance(regions, list):
        raise DomainError("regions must be a list.")
    if not isinstance(clip_labels, list):
        raise DomainError("clip_labels must be a list of label ids.")
    labels = list(label_list(recording.project_id))
    region_labels = {lb.id for lb in labels if lb.kind == LabelKind.REGION}
    clip_ids = {lb.id for lb in labels if lb.kind == LabelKind.CLIP}
    fields = {f.name: f for f in region_field_list(recording.project_id)}
    nyquist = recording.sample_rate / 2 if recording.sample_rate else None
    duration = float(recording.duration)
    seen: set[str] = set()
    clean: list[CleanRegion] = []
    for i, raw in enumerate(regions):
        where = f"regions[{i}]"
        if not isinstance(raw, dict):
            raise DomainError(f"{where} must be an object.")
        uid = raw.get("id")
        if not isinstance(uid, str) or not uid.strip() or len(uid) > 64:
            raise DomainError(f"{where}.id must be a non-empty string of at most 64 characters (the client's uuid).")
        if uid in seen:
            raise DomainError(f"{where}.id {uid!r} appears twice.")
        seen.add(uid)
        start = round(_number(raw.get("start"), f"{where}.start"), 3)
        end = round(_number(raw.get("end"), f"{where}.end"), 3)
        if start < 0:
            raise DomainError(f"{where}.start must not be negative (got {start} s).")
        if start >= end:
            raise DomainError(f"{where}: start ({start} s) must be before end ({end} s).")
        if end > duration + _EPS:
            raise DomainError(f"{where}.end ({end} s) is past the end of the recording ({duration:.3f} s).")
        channel = raw.get("channel")
        if channel is not None:
            if isinstance(channel, bool) or not isinstance(channel, int) or channel < 0:
                raise DomainError(f"{where}.channel must be a channel number or null.")
            if channel >= recording.channels:
                raise DomainError(
                    f"{where}.channel {channel} does not exist; the recording has {recording.channels} channel(s)."
                )
        label = raw.get("label")
        if label is not None:
            if isinstance(label, bool) or not isinstance(label, int) or label not in region_labels:
                hint = " (that is a clip label)" if label in clip_ids else ""
                raise DomainError(f"{where}.label {label!r} is not a region label of this project{hint}.")
        text = raw.get("text") or ""
        if not isinstance(text, str):
            raise DomainError(f"{where}.text must be a string.")
        fmin = _number(raw.get("fmin"), f"{where}.fmin", unit="hertz", allow_none=True)
        fmax = _number(raw.get("fmax"), f"{where}.fmax", unit="hertz", allow_none=True)
        if (fmin is None) != (fmax is None):
            raise DomainError(f"{where}: give both fmin and fmax, or neither.")
        if fmin is not None:
            if fmin < 0 or fmin >= fmax:
                raise DomainError(f"{where}: fmin ({fmin} Hz) must be at least 0 and below fmax ({fmax} Hz).")
            if nyquist and fmax > nyquist + 0.5:
                raise DomainError(
                    f"{where}.fmax ({fmax} Hz) is above the recording's Nyquist frequency ({nyquist:g} Hz)."
                )
        attributes = _attributes_clean(raw.get("attributes"), fields, where)
        clean.append(CleanRegion(uid, start, end, channel, label, text, attributes, fmin, fmax))
    clean.sort(key=lambda r: (r.start, r.end, r.uid))
    clip = []
    for label in clip_labels:
        if isinstance(label, bool) or not isinstance(label, int) or label not in clip_ids:
            raise DomainError(f"clip_labels: {label!r} is not a clip label of this project.")
        if label not in clip:
            clip.append(label)
    if len(clip) > 1 and not (settings or annotation_settings_get(recording.project_id)).clip_multi:
        raise DomainError("clip_labels: this project allows one clip label per recording.")
    return clean, clip


EDITABLE = (AnnotationStatus.IN_PROGRESS, AnnotationStatus.REJECTED)
REVIEWABLE = (AnnotationStatus.SUBMITTED, AnnotationStatus.ACCEPTED, AnnotationStatus.REJECTED)


def _fresh(annotation_id) -> Annotation:
    return Annotation.objects.prefetch_related("regions", "clip_labels").get(pk=annotation_id)


def _conflict(annotation_id, version: int) -> Conflict:
    current = _fresh(annotation_id)
    return Conflict(
        f"Version {version} is out of date: this annotation is at version {current.version} "
        "(saved elsewhere meanwhile). Both versions are kept.",
        extra={"current": AnnotationOutput(current).data},
    )


def _bump(annotation, version: int, *, statuses, **changes) -> int:
    """Move ``annotation`` from ``version`` to version+1 only if nobody moved it first, else 409."""
    now = timezone.now()
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


def _content_replace(annotation, clean, clip) -> None:
    Region.objects.filter(annotation_id=annotation.pk).delete()
    Region.objects.bulk_create(
        [
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
            )
            for r in clean
        ]
    )
    annotation.clip_labels.set(clip)


def _current_content(annotation) -> tuple[list[dict], list[int]]:
    regions = [r.as_dict() for r in Region.objects.filter(annotation_id=annotation.pk).order_by("start", "end", "id")]
    clip = sorted(annotation.clip_labels.values_list("id", flat=True))
    return regions, clip


def _owner_check(annotation, user) -> None:
    # Another annotator's work answers like a missing row (the view's selector already filters it).
    if annotation.annotator_id != user.id:
        raise DomainError("No such annotation.", status_code=404)
    if annotation.status not in EDITABLE:
        raise DomainError(f"This annotation is {annotation.get_status_display().lower()} and can no longer be edited.")


def annotation_save(*, annotation, user, version: int, regions: list, clip_labels: list) -> Annotation:
    """Save the annotator's regions and clip labels as version+1 (conditional on ``version``; 409 if stale).

    Writes Region rows, clip labels, an AnnotationVersion, and renews the annotator's lock.
    Nothing is written when validation fails.
    """
    _owner_check(annotation, user)
    settings = annotation_settings_get(annotation.project_id)
    clean, clip = regions_clean(
        recording=annotation.recording, regions=regions, clip_labels=clip_labels, settings=settings
    )
    with transaction.atomic():
        new_version = _bump(annotation, version, statuses=EDITABLE)
        _content_replace(annotation, clean, clip)
        # The status cannot have changed: _bump matched it among EDITABLE, and only submit leaves those.
        _snapshot(
            annotation,
            new_version,
            status=annotation.status,
            author=user,
            kind=VersionKind.SAVE,
            regions=[r.as_json() for r in clean],
            clip_labels=clip,
        )
        now = timezone.now()
        Assignment.objects.filter(
            recording_id=annotation.recording_id, annotator=user, status=AssignmentStatus.OPEN
        ).update(locked_until=now + timedelta(minutes=settings.lock_minutes), updated_at=now)
    return _fresh(annotation.pk)


def legacy_put(self, request, annotation_id):
    annotation = annotation_get(request.user, annotation_id, for_edit=True, with_content=False)
    data = AnnotationSaveInput(data=request.data)
    data.is_valid(raise_exception=True)
    saved = annotation_save(annotation=annotation, user=request.user, **data.validated_data)
    return Response(AnnotationOutput(saved).data)
