"""Reads with rules: label schemas, and which annotations a user may see or edit."""

import hashlib
from collections.abc import Iterable

from django.db.models import Prefetch, Q, QuerySet, prefetch_related_objects
from django.http import Http404

from apps.accounts.selectors import project_ids_for
from apps.annotation.models import (
    AlignmentStatus,
    Annotation,
    AnnotationSettings,
    AnnotationVersion,
    Assignment,
    Label,
    LabelKind,
    Region,
    RegionField,
    TranscriptAlignment,
    TranscriptDraft,
)
from apps.consent.purposes import Purpose
from apps.consent.selectors import recording_is_usable, recordings_usable
from apps.core.permissions import Role

# Who may work in the annotator (managers may label too); who may read everyone's work in a project.
ANNOTATE_ROLES = (Role.MANAGER, Role.ANNOTATOR)
OVERSEE_ROLES = (Role.MANAGER, Role.REVIEWER)


def annotation_settings_get(project_id) -> AnnotationSettings:
    """The project's annotation settings; unsaved defaults when none were stored."""
    found = AnnotationSettings.objects.filter(project_id=project_id).first()
    return found or AnnotationSettings(project_id=project_id)


def annotation_settings_of(annotation) -> AnnotationSettings:
    """The settings of an annotation's project, from ``select_related("project__annotation_settings")``."""
    try:
        return annotation.project.annotation_settings
    except AnnotationSettings.DoesNotExist:
        return AnnotationSettings(project_id=annotation.project_id)


def label_list(project_id, kind: str | None = None) -> QuerySet:
    qs = Label.objects.filter(project_id=project_id).order_by("kind", "order", "id")
    return qs if kind is None else qs.filter(kind=kind)


def region_field_list(project_id) -> QuerySet:
    return RegionField.objects.filter(project_id=project_id).order_by("order", "id")


def labels_schema(project_id, *, settings: AnnotationSettings | None = None) -> dict:
    """The annotator's view of a project's schema (docs/annotator-api.md, `projects/{pid}/labels/`); ``settings``
    when the caller has read them already (the annotator page, for its queue claim too)."""
    settings = settings or annotation_settings_get(project_id)

    def one(label):
        return {"id": label.id, "name": label.name, "color": label.color, "hotkey": label.hotkey}

    labels = list(label_list(project_id))
    return {
        "region_labels": [one(lb) for lb in labels if lb.kind == LabelKind.REGION],
        "clip_labels": [one(lb) for lb in labels if lb.kind == LabelKind.CLIP],
        "clip_multi": settings.clip_multi,
        "transcript": settings.transcript,
        "overlap": settings.overlap,
        "lock_minutes": settings.lock_minutes,
        "region_fields": [
            {"name": f.name, "type": f.type, "choices": f.choices or []} for f in region_field_list(project_id)
        ],
    }


_CONTENT = (
    Prefetch("regions", queryset=Region.objects.order_by("start", "end", "uid")),
    Prefetch("clip_labels", queryset=Label.objects.only("id")),
)


def _with_content(qs: QuerySet) -> QuerySet:
    """Regions (in time order) and clip labels prefetched: two extra queries however many rows."""
    return qs.prefetch_related(*_CONTENT)


def annotations_for_recordings(recording_ids, statuses=None) -> QuerySet:
    """Annotations of these recordings (optionally only some statuses) with regions prefetched.

    No consent check here: callers (review, releases) pass ids they got from the consent selector.
    """
    # A queryset of ids stays a subquery (no list of thousands of parameters to compile).
    qs = Annotation.objects.filter(
        recording_id__in=recording_ids if isinstance(recording_ids, QuerySet) else list(recording_ids)
    )
    if statuses is not None:
        qs = qs.filter(status__in=list(statuses))
    return _with_content(qs.order_by("recording_id", "id"))


def annotation_content_rows(*, annotation_id: int) -> tuple[list[Region], list[int]]:
    """An annotation's Region rows (in time order) and sorted clip-label ids, read fresh (2 queries)."""
    regions = list(Region.objects.filter(annotation_id=annotation_id).order_by("start", "end", "uid"))
    clip = sorted(
        Annotation.clip_labels.through.objects.filter(annotation_id=annotation_id).values_list("label_id", flat=True)
    )
    return regions, clip


def annotation_content(*, annotation_id: int) -> tuple[list[dict], list[int]]:
    """An annotation's regions (as plain dicts, in time order) and clip-label ids, read fresh (2 queries)."""
    regions, clip = annotation_content_rows(annotation_id=annotation_id)
    return [r.as_dict() for r in regions], clip


def annotation_content_set(annotation: Annotation, regions: list[Region], clip: list[int]) -> Annotation:
    """Give ``annotation`` these regions and clip-label ids as if prefetched (Django's own prefetch cache, as
    ``prefetch_related`` fills it): rendering it reads no rows. For content the caller has just read or written
    in the same transaction."""

    def cached(model, rows):
        qs = model.objects.all()
        qs._result_cache, qs._prefetch_done = rows, True
        return qs

    annotation._prefetched_objects_cache = {  # type: ignore[attr-defined]
        "regions": cached(Region, list(regions)),
        "clip_labels": cached(Label, [Label(id=pk) for pk in clip]),
    }
    return annotation


def annotation_for_review(annotation_id: int) -> Annotation:
    """The annotation ``review_next`` has just handed its reviewer, read fresh after the claim: its recording (with
    speaker and language), annotator, regions and clip labels, for the answer (4 queries).

    No consent check here: the caller took the id from the review queue, which asked the consent selector
    (``recordings_usable`` for review) in the same request; ``annotation_get`` asked it again with the set-wise
    query (~5 ms of CPU per review next)."""
    return _with_content(
        Annotation.objects.select_related("recording__speaker", "recording__language", "annotator")
    ).get(pk=annotation_id)


def annotations_export(*, recording_ids) -> list[dict]:
    """Plain dicts of these recordings' annotations for a speaker's subject-access export (ANNOTATIONS_EXPORT)."""
    return [
        {
            "id": a.id,
            "recording_id": a.recording_id,
            "status": a.status,
            "version": a.version,
            "clip_labels": [label.id for label in a.clip_labels.all()],
            "regions": [
                {"start": r.start, "end": r.end, "label_id": r.label_id, "text": r.text, "attributes": r.attributes}
                for r in a.regions.all()
            ],
        }
        for a in annotations_for_recordings(recording_ids)
    ]


def _visible(user) -> QuerySet:
    own = Q(annotator=user, recording__in=recordings_usable(user, Purpose.ANNOTATE, roles=ANNOTATE_ROLES).values("id"))
    oversee_ids = project_ids_for(user, OVERSEE_ROLES)
    usable_for_review = recordings_usable(user, Purpose.REVIEW, roles=OVERSEE_ROLES).values("id")
    if oversee_ids is None:
        others = Q(recording__in=usable_for_review)
    else:
        others = Q(project_id__in=oversee_ids, recording__in=usable_for_review)
    return Annotation.objects.filter(own | others)


def annotation_list(user, *, project_id=None, statuses=None) -> QuerySet:
    """Annotations ``user`` may read: their own, and everyone's in projects they manage or review."""
    qs = _visible(user)
    if project_id is not None:
        qs = qs.filter(project_id=project_id)
    if statuses:
        qs = qs.filter(status__in=list(statuses))
    return _with_content(qs)


def annotation_get_for_save(user, annotation_id) -> Annotation:
    """The annotation ``user`` may edit as its annotator, with its recording and project settings.

    Same rules and the same 404 as ``annotation_get(..., for_edit=True)``; the autosave path uses it,
    so the consent question is asked of this one recording (``recording_is_usable``: three small
    lookups) rather than by building the set-wise selector query, which alone costs ~3 ms a save.
    """
    qs = Annotation.objects.select_related("recording", "project__annotation_settings")
    try:
        annotation = qs.get(pk=annotation_id, annotator=user)
    except (Annotation.DoesNotExist, ValueError, TypeError):
        raise Http404("No such annotation.") from None
    if not recording_is_usable(user, Purpose.ANNOTATE, annotation.recording_id, roles=ANNOTATE_ROLES):
        raise Http404("No such annotation.")
    return annotation


def annotation_content_load(annotation: Annotation, *, fresh: bool = False) -> Annotation:
    """The annotation the queue has just handed its annotator (``services.queue_next``), with its regions and
    clip labels loaded onto it (two queries), or, ``fresh`` (created by this claim), with none and no query. The
    queue answered for consent and ownership in the same request; asking ``annotation_get`` again built the
    set-wise consent query once more (~5 ms of CPU on the annotator page's critical path)."""
    if fresh:
        # Django's own prefetch cache (what prefetch_related_objects fills), set to the known empty answers.
        annotation._prefetched_objects_cache = {  # type: ignore[attr-defined]
            "regions": Region.objects.none(),
            "clip_labels": Label.objects.none(),
        }
    else:
        prefetch_related_objects([annotation], *_CONTENT)
    return annotation


def annotation_get(user, annotation_id, *, for_edit: bool = False, with_content: bool = True) -> Annotation:
    """One annotation ``user`` may read (or, with ``for_edit``, edit as its annotator), else Http404.

    ``with_content=False`` skips prefetching regions and clip labels (writes replace them anyway).

    The answer is the same for a missing row, another project's or annotator's work, and work whose
    recording is no longer usable (consent withdrawn).
    """
    if for_edit:
        usable = recordings_usable(user, Purpose.ANNOTATE, roles=ANNOTATE_ROLES).values("id")
        qs = Annotation.objects.filter(annotator=user, recording__in=usable)
    else:
        qs = _visible(user)
    try:
        qs = qs.select_related("recording")
        return (_with_content(qs) if with_content else qs).get(pk=annotation_id)
    except (Annotation.DoesNotExist, ValueError, TypeError):
        raise Http404("No such annotation.") from None


def recording_in_annotator_work(*, actor, role: str, recording_id: int) -> bool:
    """RECORDING_IN_WORK for annotators: the recording is assigned to them or they annotated it."""
    if role != "annotator":
        return False
    return (
        Assignment.objects.filter(annotator=actor, recording_id=recording_id).exists()
        or Annotation.objects.filter(annotator=actor, recording_id=recording_id).exists()
    )


# ---------------------------------------------------------------- word timings

ID_CHUNK = 500


def text_sha256(text: str) -> str:
    """The key of a transcript's alignment: sha256 of its text without surrounding spaces."""
    return hashlib.sha256((text or "").strip().encode()).hexdigest()


def alignments_for_spans(spans: Iterable[tuple[int, float, float, str]]) -> dict[tuple, TranscriptAlignment]:
    """Stored alignments of (recording_id, start, end, text) spans, keyed by the same tuples; missing ones absent.

    No consent check: callers pass spans of recordings they got from the consent selector.
    """
    wanted = {(rid, start, end, text_sha256(text)): (rid, start, end, text) for rid, start, end, text in spans}
    found: dict[tuple, TranscriptAlignment] = {}
    keys = sorted(wanted)
    for i in range(0, len(keys), ID_CHUNK):  # bounded parameter lists (SQLite caps them)
        chunk = keys[i : i + ID_CHUNK]
        rows = TranscriptAlignment.objects.filter(
            recording_id__in={k[0] for k in chunk}, text_sha256__in={k[3] for k in chunk}
        )
        for row in rows:
            key = (row.recording_id, row.start, row.end, row.text_sha256)
            if key in wanted:
                found[wanted[key]] = row
    return found


def words_as_dicts(alignment: TranscriptAlignment | None, *, offset: float = 0.0) -> list[dict]:
    """An alignment's words as ``{word, start, end, score}`` with times shifted by ``-offset`` (seconds)."""
    if alignment is None or alignment.status != AlignmentStatus.ALIGNED:
        return []
    return [
        {"word": w, "start": round(s - offset, 3), "end": round(e - offset, 3), "score": score}
        for w, s, e, score in alignment.words
    ]


def annotation_words(annotation: Annotation) -> list[dict]:
    """Each transcribed region of ``annotation`` with its word timings (recording seconds) and alignment status.

    ``status`` is ``aligned``, ``failed``, ``no_engine``, or ``pending`` (queued, not aligned yet).
    """
    regions = [r for r in annotation.regions.all() if r.text.strip()]
    found = alignments_for_spans((annotation.recording_id, r.start, r.end, r.text) for r in regions)
    out = []
    for r in regions:
        row = found.get((annotation.recording_id, r.start, r.end, r.text))
        out.append(
            {
                "id": r.uid,
                "start": r.start,
                "end": r.end,
                "text": r.text,
                "status": row.status if row else "pending",
                "score": row.score if row else None,
                "error": row.error if row else "",
                "engine": f"{row.engine} {row.engine_version}".strip() if row else "",
                "words": words_as_dicts(row),
            }
        )
    return out


def release_words(items) -> dict[str, tuple]:
    """Word timings of release examples: ``{key: ((word, start, end, score), ...)}`` in seconds of the example.

    ``items`` have ``key, recording_ref, annotation_ref, annotation_version, region_uid, start, end`` (a release's
    frozen manifest). The regions come from the frozen annotation version (one region, or all of them for a
    whole-recording example), their words from the stored alignments of that text on that span; words outside
    the example's window are dropped. Examples with no aligned region are absent. Reads in chunks of ID_CHUNK.
    """
    out: dict[str, tuple] = {}
    items = [i for i in items if i.annotation_ref is not None and i.text]  # no text, no words: no queries
    for n in range(0, len(items), ID_CHUNK):
        chunk = items[n : n + ID_CHUNK]
        snapshots = {
            (a, v): regions
            for a, v, regions in AnnotationVersion.objects.filter(
                annotation_id__in={i.annotation_ref for i in chunk}, version__in={i.annotation_version for i in chunk}
            ).values_list("annotation_id", "version", "regions")
        }
        spans = {}
        for item in chunk:
            regions = snapshots.get((item.annotation_ref, item.annotation_version)) or []
            spans[item.key] = [
                (item.recording_ref, r["start"], r["end"], r["text"])
                for r in regions
                if (r.get("text") or "").strip() and (not item.region_uid or r["id"] == item.region_uid)
            ]
        found = alignments_for_spans(s for ss in spans.values() for s in ss)
        for item in chunk:
            end = (item.end if item.end is not None else float("inf")) - item.start
            words: list[tuple] = []
            for span in sorted(spans[item.key], key=lambda s: (s[1], s[2])):
                for w in words_as_dicts(found.get(span), offset=item.start):
                    # inside the window, and in order (overlapping regions: the earlier one's words win)
                    if 0.0 <= w["start"] < end and (not words or w["start"] >= words[-1][2]):
                        words.append((w["word"], w["start"], min(w["end"], end), w["score"]))
            if words:
                out[item.key] = tuple(words)
    return out


def draft_words(*, recording_id: int) -> list[tuple[str, float, float, float]] | None:
    """The recogniser's words over a recording, in time order, ``(word, start, end, score)``; None without drafts.

    No consent check: the caller asked the consent selector about the recording.
    """
    rows = list(TranscriptDraft.objects.filter(recording_id=recording_id).values_list("words", flat=True))
    if not rows:
        return None
    return sorted((w, s, e, score) for words in rows for w, s, e, score in words)
