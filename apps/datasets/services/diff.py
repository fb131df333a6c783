"""release_diff: what changed between two releases of a project, read from their frozen manifests.

Examples are matched by identity: the source region (recording and region uid) for region releases, else the
example key. Each identity present in one release and not the other is *added* or *removed*; removals say why:

- ``withdrawn``: its recording may no longer be used for the release's purpose (the consent selector says
  so now, or the example was flagged withdrawn after its build);
- ``qa``: automatic QA now keeps the recording out (flagged and not accepted by a manager);
- ``filter``: the spec's selection no longer picks it (filters, annotation status, unit, labels…).

Examples in both are *relabelled* (labels differ), *re-transcribed* (text differs; the texts themselves are
not shown) and *moved* (split differs). An example whose speaker withdrew is listed only as removed
(withdrawn), whichever release held it, and nothing else about it is shown.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from django.db.models import TextField
from django.db.models.functions import Cast

from apps.consent.selectors import recordings_usable
from apps.core.errors import DomainError
from apps.datasets.models import DatasetRelease, ReleaseItem, ReleaseStatus
from apps.review.selectors import qa_excluded_recording_ids


class _Row(NamedTuple):
    key: str
    split: str
    labels: tuple[str, ...]
    text: str
    recording_ref: int
    region_uid: str
    withdrawn: bool


def _rows(release: DatasetRelease) -> dict[tuple, _Row]:
    out = {}
    # Labels as their JSON text, parsed once per distinct label set (a release repeats a few): the JSON field's
    # own conversion parsed every row's (a third of a 10,000-item diff).
    label_sets: dict[str | None, tuple[str, ...]] = {None: ()}
    for key, split, raw, text, ref, uid, withdrawn_at in (
        ReleaseItem.objects.filter(release=release)
        .values_list("key", "split", Cast("labels", TextField()), "text", "recording_ref", "region_uid", "withdrawn_at")
        .order_by("key")
    ):
        labels = label_sets.get(raw)
        if labels is None:
            labels = label_sets[raw] = tuple(sorted(json.loads(raw) or ()))
        out[(ref, uid) if uid else (key,)] = _Row(key, split, labels, text, ref, uid, withdrawn_at is not None)
    return out


def _rows_of(items) -> dict[tuple, _Row]:
    """`_rows` of a manifest in memory (items with key, split, labels, text, recording_ref, region_uid)."""
    out = {}
    for i in items:
        row = _Row(i.key, i.split, tuple(sorted(i.labels or ())), i.text, i.recording_ref, i.region_uid, False)
        out[(i.recording_ref, i.region_uid) if i.region_uid else (i.key,)] = row
    return out


def _usable(release: DatasetRelease, refs) -> set[int]:
    return set(
        recordings_usable(None, release.purpose)
        .filter(project_id=release.project_id, id__in=refs)
        .values_list("id", flat=True)
    )


def release_diff(*, release: DatasetRelease, other: DatasetRelease, items=None) -> dict[str, Any]:
    """Changes from ``other`` (the baseline) to ``release``: lists of keys by kind, and their counts.

    ``items``: ``release``'s manifest already in memory (a build's frozen items, none withdrawn yet), read
    instead of its rows.
    """
    if release.project_id != other.project_id:
        raise DomainError("A diff compares two releases of the same project.", status_code=404)
    new = _rows(release) if items is None else _rows_of(items)
    old = _rows(other)
    # Every recording either manifest names, as a subquery: an id list of a large release cost ~0.1 ms an id
    # to compile (10,000 items: a second) and would outgrow SQLite's parameter cap.
    refs = ReleaseItem.objects.filter(release_id__in=(release.id, other.id)).values("recording_ref")
    usable_new = _usable(release, refs)
    usable_old = usable_new if other.purpose == release.purpose else _usable(other, refs)  # one project
    qa_out = set(qa_excluded_recording_ids(project_id=release.project_id).filter(recording_id__in=refs))
    qa_applies = release.spec.get("filters", {}).get("qa", "exclude_flagged") == "exclude_flagged"

    def gone(row: _Row, usable: set[int]) -> bool:
        return row.withdrawn or row.recording_ref not in usable

    added, removed, relabelled, retranscribed, moved = [], [], [], [], []
    for ident in sorted(set(new) | set(old), key=lambda i: (new.get(i) or old[i]).key):
        n, o = new.get(ident), old.get(ident)
        if (n is not None and gone(n, usable_new)) or (o is not None and gone(o, usable_old)):
            row = o or n
            assert row is not None  # ident came from new or old
            removed.append({"key": row.key, "split": row.split, "reason": "withdrawn"})
        elif o is None:
            assert n is not None  # ident came from new or old
            added.append({"key": n.key, "split": n.split})
        elif n is None:
            reason = "qa" if qa_applies and o.recording_ref in qa_out else "filter"
            removed.append({"key": o.key, "split": o.split, "reason": reason})
        else:
            if n.labels != o.labels:
                relabelled.append({"key": n.key, "from": list(o.labels), "to": list(n.labels)})
            if n.text != o.text:
                retranscribed.append({"key": n.key})
            if n.split != o.split:
                moved.append({"key": n.key, "from": o.split, "to": n.split})
    reasons = {r: sum(1 for x in removed if x["reason"] == r) for r in ("withdrawn", "qa", "filter")}
    return {
        "release": release.id,
        "version": release.version,
        "against": other.id,
        "against_version": other.version,
        "summary": {
            "added": len(added),
            "removed": len(removed),
            "removed_by_reason": reasons,
            "relabelled": len(relabelled),
            "retranscribed": len(retranscribed),
            "moved": len(moved),
        },
        "added": added,
        "removed": removed,
        "relabelled": relabelled,
        "retranscribed": retranscribed,
        "moved": moved,
    }


def release_previous(*, release: DatasetRelease) -> DatasetRelease | None:
    """The project's latest built release before ``release`` (the baseline its card compares against)."""
    return (
        DatasetRelease.objects.filter(
            project_id=release.project_id, version__lt=release.version, status=ReleaseStatus.READY
        )
        .order_by("-version")
        .first()
    )
