"""Which examples a release spec selects: consented recordings, their chosen annotation, regions.

Every recording comes from the consent selector (`recordings_usable(None, purpose)`);
annotations come from the annotation app's selector. The result is a sorted list
of `Candidate`s, each a frozen description of one example (no audio yet).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from operator import attrgetter
from typing import Any, NamedTuple

from apps.annotation.models import AnnotationStatus, Label
from apps.annotation.selectors import annotations_for_recordings
from apps.catalog.models import RecordingStatus
from apps.collection.models import ClipState
from apps.collection.selectors import campaign_recording_ids
from apps.consent.purposes import Purpose
from apps.consent.selectors import recordings_usable
from apps.core.errors import DomainError
from apps.review.selectors import recordings_exclude_qa_flagged


class _Rec(NamedTuple):
    id: int
    sha256: str
    duration: float
    speaker_code: str | None
    language: str | None


@dataclass(slots=True)
class Candidate:
    key: str
    recording_id: int
    audio_sha256: str
    start: float
    end: float | None  # None: to the end of the recording
    duration: float
    text: str = ""
    labels: tuple[str, ...] = ()
    speaker_code: str = ""
    language: str = ""
    annotation_id: int | None = None
    annotation_version: int | None = None
    region_uid: str = ""
    extra: dict = field(default_factory=dict)


def _recordings(project_id: int, spec: dict, purpose: str):
    f = spec["filters"]
    qs = recordings_usable(None, purpose).filter(project_id=project_id).exclude(status=RecordingStatus.FAILED)
    if spec["audio"]["source"] == "recipe":
        qs = qs.filter(status=RecordingStatus.READY)
    if f["languages"]:
        qs = qs.filter(language__tag__in=f["languages"])
    if f["recorded_after"]:
        qs = qs.filter(created_at__gte=_as_datetime(f["recorded_after"]))
    if f["recorded_before"]:
        qs = qs.filter(created_at__lt=_as_datetime(f["recorded_before"], end_of_day=True))
    if f["qa"] == "exclude_flagged":
        qs = recordings_exclude_qa_flagged(qs)
    if f.get("campaign") is not None or f.get("validation", "any") != "any":
        states = [ClipState.VALIDATED] if f.get("validation") == "validated" else None
        qs = qs.filter(
            id__in=campaign_recording_ids(project_id=project_id, campaign_id=f.get("campaign"), states=states)
        )
    return qs


def _as_datetime(value: str, *, end_of_day: bool = False):
    from django.utils import timezone

    if "T" in value:
        parsed = datetime.fromisoformat(value)
    else:
        d = date.fromisoformat(value)
        parsed = datetime(d.year, d.month, d.day)
        if end_of_day:
            parsed += timedelta(days=1)
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, UTC)


def _pick_annotation(annotations: list, accepted_only: bool):
    """Accepted beats submitted; then the most recent. In-progress and rejected work never ships."""
    usable = [a for a in annotations if a.status == AnnotationStatus.ACCEPTED]
    if not usable and not accepted_only:
        usable = [a for a in annotations if a.status == AnnotationStatus.SUBMITTED]
    return max(usable, key=lambda a: (a.submitted_at is not None, a.submitted_at, a.id), default=None)


def _in_bounds(duration: float, f: dict) -> bool:
    return not (
        (f["min_duration"] is not None and duration < f["min_duration"])
        or (f["max_duration"] is not None and duration > f["max_duration"])
    )


def candidates_select(*, project_id: int, spec: dict, purpose: str | None = None) -> list[Candidate]:
    """The examples the spec selects now, sorted by key. Reads only; no rows written."""
    purpose = purpose or spec["purpose"]
    f = spec["filters"]
    # Plain tuples, not model instances: this list holds every selected recording at once.
    selected = _recordings(project_id, spec, purpose)
    recordings = selected.order_by("id").values_list("id", "sha256", "duration", "speaker__code", "language__tag")
    label_names = dict(Label.objects.filter(project_id=project_id).values_list("id", "name"))
    statuses = (
        [AnnotationStatus.ACCEPTED] if f["accepted_only"] else [AnnotationStatus.ACCEPTED, AnnotationStatus.SUBMITTED]
    )
    by_recording: dict[int, list] = {}
    # The same selection as a subquery, not lists of ids (their parameters took ~0.1 s to compile at 10,000
    # recordings). A recording whose consent changed between the two reads is caught by the build's re-checks.
    for ann in annotations_for_recordings(selected.values("id"), statuses=statuses):
        by_recording.setdefault(ann.recording_id, []).append(ann)
    wanted = set(f["labels"])
    whole = spec["unit"] == "recording"
    annotated_only = f["accepted_only"] or not whole
    out: list[Candidate] = []
    for rec in map(_Rec._make, recordings):
        found = by_recording.get(rec.id)
        ann = _pick_annotation(found, f["accepted_only"]) if found else None
        if ann is None and annotated_only:
            continue
        if whole and ann is None:  # most of a large release: no annotation, no labels, no text
            if wanted or not _in_bounds(rec.duration, f):
                continue
            speaker, language = rec.speaker_code or "", rec.language or ""
            out.append(
                Candidate(f"r{rec.id:08d}", rec.id, rec.sha256, 0.0, None, rec.duration, "", (), speaker, language)
            )
            continue
        regions = list(ann.regions.all()) if ann else []
        base: dict[str, Any] = dict(
            recording_id=rec.id,
            audio_sha256=rec.sha256,
            speaker_code=rec.speaker_code or "",
            language=rec.language or "",
            annotation_id=ann.id if ann else None,
            annotation_version=ann.version if ann else None,
        )
        if whole:
            labels = {label_names[lb.id] for lb in ann.clip_labels.all()} if ann else set()
            labels |= {label_names[r.label_id] for r in regions if r.label_id}
            if wanted and not labels & wanted:
                continue
            if not _in_bounds(rec.duration, f):
                continue
            text = " ".join(r.text.strip() for r in regions if r.text.strip())
            out.append(
                Candidate(
                    key=f"r{rec.id:08d}",
                    start=0.0,
                    end=None,
                    duration=rec.duration,
                    text=text,
                    labels=tuple(sorted(labels)),
                    **base,
                )
            )
            continue
        margin = spec["margin"]
        for index, region in enumerate(regions):
            label = label_names.get(region.label_id) if region.label_id else None
            if label is None and not region.text.strip():
                continue  # nothing to learn from an empty, unlabelled region
            if wanted and label not in wanted:
                continue
            start = max(0.0, float(region.start) - margin)
            end = min(rec.duration, float(region.end) + margin)
            if end <= start or not _in_bounds(end - start, f):
                continue
            out.append(
                Candidate(
                    key=f"r{rec.id:08d}-g{index:04d}",
                    start=start,
                    end=end,
                    duration=end - start,
                    text=region.text,
                    labels=(label,) if label else (),
                    region_uid=region.uid,
                    extra={"region_start": float(region.start), "region_end": float(region.end)},
                    **base,
                )
            )
    out.sort(key=attrgetter("key"))
    return out


def candidates_require(*, project_id: int, spec: dict) -> list[Candidate]:
    """`candidates_select`, or a 400 saying why nothing qualifies (purpose not granted, or empty filters)."""
    found = candidates_select(project_id=project_id, spec=spec)
    if found:
        return found
    purpose = spec["purpose"]
    if candidates_select(project_id=project_id, spec=spec, purpose=Purpose.STORE):
        raise DomainError(
            f"No speaker in this selection has granted the purpose {purpose!r} that the project's consent policy "
            "requires for this release, so it would be empty; record consent for it or choose another purpose."
        )
    raise DomainError("The release selects no examples: no usable recording or annotated region matches the filters.")
