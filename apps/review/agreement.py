"""Agreement numbers for a project, from annotations loaded in a constant number of queries.

Reads only (no writes). The metrics themselves live in ``apps.review.metrics`` (krippendorff,
statsmodels, scipy, jiwer); this module gathers the data: overlap units are recordings that two or
more annotators submitted (or had accepted), and gold units are recordings with a ``GoldItem``.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import defaultdict

from django.core.cache import cache
from django.db.models import Count, Exists, Max, OuterRef, Prefetch, Q, Sum

from apps.annotation.models import (
    Annotation,
    AnnotationSettings,
    AnnotationStatus,
    Region,
)
from apps.consent.purposes import Purpose
from apps.consent.selectors import recording_get_usable, recordings_usable
from apps.core.permissions import Role
from apps.review import metrics
from apps.review.models import Consensus, GoldItem
from apps.review.selectors import text_transforms_of

AGREEMENT_ROLES = (Role.MANAGER, Role.REVIEWER)  # per-annotator figures: not for viewers or annotators
FINISHED = (AnnotationStatus.SUBMITTED, AnnotationStatus.ACCEPTED)


def _annotation_dict(annotation) -> dict:
    regions = [
        {"start": r.start, "end": r.end, "label": r.label_id, "channel": r.channel, "text": r.text}
        for r in annotation.regions.all()
    ]
    return {"clip_labels": sorted(lb.id for lb in annotation.clip_labels.all()), "regions": regions}


def annotations_by_recording(*, actor, project_id: int) -> tuple[dict, dict]:
    """``({recording_id: {annotator_id: annotation dict}}, {annotator_id: username})``: 3 queries.

    Plain ``values_list`` rows rather than model instances: building thousands of Region objects
    cost more than all the metrics together.
    """
    usable = recordings_usable(actor, Purpose.REVIEW, roles=AGREEMENT_ROLES).filter(project_id=project_id)
    finished = Annotation.objects.filter(project_id=project_id, status__in=FINISHED, recording__in=usable.values("id"))
    rows = finished.order_by("recording_id", "annotator_id").values_list(
        "id", "recording_id", "annotator_id", "annotator__username"
    )
    by_id: dict = {}
    units: dict = defaultdict(dict)
    names: dict = {}
    for annotation_id, recording_id, annotator_id, username in rows:
        by_id[annotation_id] = units[recording_id][annotator_id] = {"clip_labels": [], "regions": []}
        names[annotator_id] = username
    if not by_id:
        return {}, {}
    ids = finished.values("id")
    regions = (
        Region.objects.filter(annotation_id__in=ids)
        .order_by("annotation_id", "start", "end", "id")
        .values_list("annotation_id", "start", "end", "label_id", "channel", "text")
    )
    for annotation_id, start, end, label, channel, text in regions:
        if annotation_id in by_id:
            by_id[annotation_id]["regions"].append(
                {"start": start, "end": end, "label": label, "channel": channel, "text": text}
            )
    clips = (
        Annotation.clip_labels.through.objects.filter(annotation_id__in=ids)
        .order_by("annotation_id", "label_id")
        .values_list("annotation_id", "label_id")
    )
    for annotation_id, label in clips:
        if annotation_id in by_id:
            by_id[annotation_id]["clip_labels"].append(label)
    return dict(units), names


def _clip_value(labels: list, multi: bool):
    if multi:
        return frozenset(labels)
    return labels[0] if labels else None


def _pool_regions(results: list[dict]) -> dict | None:
    results = [r for r in results if r is not None]
    if not results:
        return None
    tp = sum(r["tp"] for r in results)
    fp = sum(r["fp"] for r in results)
    fn = sum(r["fn"] for r in results)
    boundary = sum((r["mean_boundary_error_ms"] or 0.0) * r["tp"] for r in results)
    same = sum((r["label_agreement"] or 0.0) * r["tp"] for r in results)
    return {
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0,
        "mean_boundary_error_ms": boundary / tp if tp else None,
        "label_agreement": same / tp if tp else None,
        "matched": tp,
        "unmatched": fp + fn,
        "units": len(results),
    }


def _mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def project_agreement(*, actor, project_id: int, iou_threshold: float = 0.5) -> dict:
    """Clip-label alpha/kappas, region F1 at IoU >= ``iou_threshold``, transcript WER/CER, per annotator."""
    units, names = annotations_by_recording(actor=actor, project_id=project_id)
    multi = AnnotationSettings.objects.filter(project_id=project_id).values_list("clip_multi", flat=True).first()
    multi = bool(multi)
    overlap = {rid: by for rid, by in units.items() if len(by) >= 2}
    transforms = text_transforms_of(project_id=project_id)

    clip_units = {
        rid: {a: _clip_value(ann["clip_labels"], multi) for a, ann in by.items()} for rid, by in overlap.items()
    }
    clip_units = {rid: {a: v for a, v in by.items() if v not in (None, frozenset())} for rid, by in clip_units.items()}
    clip: dict = {"units": sum(1 for by in clip_units.values() if len(by) >= 2)}
    if multi:
        per_label = metrics.krippendorff_alpha_per_label(clip_units)
        clip["krippendorff_alpha_per_label"] = {str(k): v for k, v in per_label.items()}
    else:
        clip["krippendorff_alpha"] = metrics.krippendorff_alpha_nominal(clip_units)
        fleiss = metrics.fleiss_kappa({rid: by for rid, by in clip_units.items() if len(by) >= 2})
        clip["fleiss_kappa"], clip["fleiss_kappa_note"] = fleiss.value, fleiss.reason
        annotators = sorted({a for by in clip_units.values() for a in by})
        if len(annotators) == 2:
            a, b = annotators
            cohen = metrics.cohen_kappa(
                {u: by.get(a) for u, by in clip_units.items()}, {u: by.get(b) for u, by in clip_units.items()}
            )
            clip["cohen_kappa"], clip["cohen_kappa_note"] = cohen.value, cohen.reason

    regions = _pool_regions(
        [
            metrics.region_agreement_pairwise({a: ann["regions"] for a, ann in by.items()}, iou_threshold)
            for by in overlap.values()
        ]
    )
    texts = [
        metrics.transcript_error_pairwise({a: metrics.annotation_transcript(ann) for a, ann in by.items()}, transforms)
        for by in overlap.values()
        if any(r["text"] for ann in by.values() for r in ann["regions"])
    ]
    transcripts = {
        "wer": _mean([t["wer"] for t in texts]),
        "cer": _mean([t["cer"] for t in texts]),
        "units": len(texts),
        "text_transforms": list(transforms),
    }

    return {
        "overlap_units": len(overlap),
        "iou_threshold": iou_threshold,
        "clip_labels": clip,
        "regions": regions,
        "transcripts": transcripts,
        "annotators": _per_annotator(units, overlap, names, multi, iou_threshold, project_id, transforms),
    }


AGREEMENT_CACHE_SECONDS = 600


def project_agreement_cached(*, actor, project_id: int, iou_threshold: float = 0.5) -> dict:
    """``project_agreement``, reused while nothing it reads has changed (two small aggregate queries).

    The key holds the count, id sum and latest ``updated_at`` of the finished annotations on usable
    recordings (every save, submit, review and withdrawal moves one of them) and the gold items'
    count and latest time; entries also expire after ``AGREEMENT_CACHE_SECONDS``.
    """
    usable = recordings_usable(actor, Purpose.REVIEW, roles=AGREEMENT_ROLES).filter(project_id=project_id)
    state = Annotation.objects.filter(
        project_id=project_id, status__in=FINISHED, recording__in=usable.values("id")
    ).aggregate(n=Count("id"), ids=Sum("id"), latest=Max("updated_at"))
    gold = GoldItem.objects.filter(project_id=project_id).aggregate(
        n=Count("id"), ids=Sum("id"), latest=Max("created_at")
    )
    transforms = ",".join(text_transforms_of(project_id=project_id))
    state = (
        f"{transforms}:{iou_threshold}:{state['n']}:{state['ids']}:{state['latest']}:"
        f"{gold['n']}:{gold['ids']}:{gold['latest']}"
    )
    key = f"review:agreement:{project_id}:{hashlib.sha1(state.encode()).hexdigest()}"
    return cache.get_or_set(
        key,
        lambda: project_agreement(actor=actor, project_id=project_id, iou_threshold=iou_threshold),
        AGREEMENT_CACHE_SECONDS,
    )


def _per_annotator(units, overlap, names, multi, iou_threshold, project_id, transforms) -> list[dict]:
    """Each annotator against their peers on shared overlap units, and against gold."""
    peer_regions: dict = defaultdict(list)
    peer_text: dict = defaultdict(list)
    peer_labels: dict = defaultdict(list)
    for by in overlap.values():
        for a, b in itertools.permutations(by, 2):
            peer_regions[a].append(metrics.region_agreement(by[b]["regions"], by[a]["regions"], iou_threshold))
            ref, hyp = metrics.annotation_transcript(by[b]), metrics.annotation_transcript(by[a])
            if ref or hyp:
                peer_text[a].append(metrics.transcript_error(ref, hyp, transforms)["wer"])
            la, lb = by[a]["clip_labels"], by[b]["clip_labels"]
            if la or lb:
                peer_labels[a].append(_clip_value(la, multi) == _clip_value(lb, multi))
    gold_refs = dict(
        GoldItem.objects.filter(project_id=project_id, recording_id__in=list(units)).values_list(
            "recording_id", "reference"
        )
    )
    by_annotator: dict = defaultdict(dict)
    for rid, by in units.items():
        if rid in gold_refs:
            for a, ann in by.items():
                by_annotator[a][rid] = ann
    gold = (
        metrics.annotator_scores(gold_refs, by_annotator, iou_threshold=iou_threshold, transforms=transforms)
        if gold_refs
        else {}
    )
    counts: dict = defaultdict(int)
    for by in units.values():
        for a in by:
            counts[a] += 1
    rows = []
    for a in sorted(names, key=lambda x: names[x]):
        pooled = _pool_regions(peer_regions.get(a, []))
        rows.append(
            {
                "annotator": a,
                "username": names[a],
                "annotations": counts[a],
                "overlap_units": sum(1 for by in overlap.values() if a in by),
                "region_f1_vs_peers": pooled["f1"] if pooled else None,
                "mean_boundary_error_ms_vs_peers": pooled["mean_boundary_error_ms"] if pooled else None,
                "clip_label_agreement_vs_peers": _mean([float(x) for x in peer_labels.get(a, [])]),
                "wer_vs_peers": _mean(peer_text.get(a, [])),
                "gold": gold.get(a),
            }
        )
    return rows


def recording_consensus(*, actor, recording_id: int, iou_threshold: float = 0.5) -> dict:
    """Every finished annotation of one recording side by side, with their pairwise agreement."""
    recording = recording_get_usable(actor, Purpose.REVIEW, recording_id, roles=(Role.MANAGER, Role.REVIEWER))
    annotations = list(
        Annotation.objects.filter(recording_id=recording.id, status__in=FINISHED)
        .select_related("annotator")
        .prefetch_related(Prefetch("regions", queryset=Region.objects.order_by("start", "end", "id")), "clip_labels")
        .order_by("id")
    )
    by = {a.annotator_id: _annotation_dict(a) for a in annotations}
    decided = Consensus.objects.filter(recording_id=recording.id).values("annotation_id", "version", "decision").first()
    return {
        "recording": recording.id,
        "project": recording.project_id,
        "annotations": annotations,  # rows (regions and clip labels prefetched): ConsensusOutput renders them
        "regions": metrics.region_agreement_pairwise({a: d["regions"] for a, d in by.items()}, iou_threshold),
        "transcripts": metrics.transcript_error_pairwise(
            {a: metrics.annotation_transcript(d) for a, d in by.items()},
            text_transforms_of(project_id=recording.project_id),
        ),
        "consensus": decided,
    }


def overlap_items(*, actor, project_id: int, limit: int = 200) -> list[dict]:
    """Recordings with two or more finished annotations, those still without a consensus first (2 queries)."""
    usable = recordings_usable(actor, Purpose.REVIEW, roles=(Role.MANAGER, Role.REVIEWER)).filter(project_id=project_id)
    rows = (
        usable.annotate(
            finished=Count("annotations", filter=Q(annotations__status__in=FINISHED)),
            decided=Exists(Consensus.objects.filter(recording_id=OuterRef("pk"))),
        )
        .filter(finished__gte=2)
        .order_by("decided", "id")
        .values("id", "original_name", "finished", "decided")[:limit]
    )
    return list(rows)
