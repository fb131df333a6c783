"""Speaker-disjoint, stratified train/validation/test splits. No Django here.

Items are grouped so that no speaker and no recording crosses a split: items
sharing a speaker or a recording are joined (transitively) into one group;
an item with neither is a group of its own.

Groups are then placed to keep every split close to its ratio along several
dimensions at once: item count, duration, item count per label and per
language. The error minimised is the sum over splits and dimensions of
((amount in split - ratio * total) / total) ** 2, so a rare label weighs as
much as a common one. Groups go greedily, largest first (ties in a seeded
shuffled order), to the split where they add least error against targets
scaled to what has been placed so far; then single groups move between splits
while that lowers the error (a few passes). The result depends only on the
items (not their order), the ratios and the seed.

Split names are limited to train, validation and test.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from operator import attrgetter
from typing import Any, NamedTuple

SPLIT_NAMES = ("train", "validation", "test")
DEFAULT_RATIOS = {"train": 0.8, "validation": 0.1, "test": 0.1}
MAX_REFINE_PASSES = 5


class SplitItem(NamedTuple):
    """What the split code reads of an item (a tuple: a release build makes 10,000s of them)."""

    key: str
    speaker: str | None = None
    labels: tuple[str, ...] = ()
    language: str | None = None
    duration: float = 0.0
    recording_id: str | None = None


def _coerce(item: Any) -> SplitItem:
    if isinstance(item, SplitItem):
        return item
    if type(item) is dict:  # the release build's rows (10,000s): no Mapping check, no accessor per field
        return SplitItem(
            item.get("key"),
            item.get("speaker"),
            tuple(item.get("labels", ()) or ()),
            item.get("language"),
            float(item.get("duration", 0.0) or 0.0),
            item.get("recording_id"),
        )
    get = item.get if isinstance(item, Mapping) else lambda name, default=None: getattr(item, name, default)
    return SplitItem(
        key=get("key"),
        speaker=get("speaker"),
        labels=tuple(get("labels", ()) or ()),
        language=get("language"),
        duration=float(get("duration", 0.0) or 0.0),
        recording_id=get("recording_id"),
    )


_BY_KEY = attrgetter("key")


def _sorted_items(items: Iterable[Any]) -> list[SplitItem]:
    """The items as SplitItems, sorted by key (a build's manifest already is: then only checked)."""
    out = [_coerce(i) for i in items]
    keys = [i.key for i in out]
    if any(a > b for a, b in zip(keys, keys[1:])):
        out.sort(key=_BY_KEY)
    return out


def validate_ratios(ratios: Mapping[str, float]) -> dict[str, float]:
    """Return the ratios in canonical split order, or raise ValueError saying what is wrong."""
    if not ratios:
        raise ValueError("Give at least one split ratio.")
    for name, value in ratios.items():
        if name not in SPLIT_NAMES:
            raise ValueError(f"Unknown split name {name!r}; use train, validation or test.")
        if not isinstance(value, (int, float)) or math.isnan(value):
            raise ValueError(f"Split ratio for {name!r} must be a number (got {value!r}).")
        if value < 0:
            raise ValueError(f"Split ratio for {name!r} must not be negative (got {value}).")
    total = sum(ratios.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"Split ratios must sum to 1 (got {total:g}).")
    return {name: float(ratios[name]) for name in SPLIT_NAMES if name in ratios}


def _groups(items: list[SplitItem]) -> list[list[SplitItem]]:
    parent = list(range(len(items)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    # The first item of each speaker and of each recording (two tables: a speaker code and a recording id
    # never join by being equal); each later item joins that one's group.
    first_of_speaker: dict[str, int] = {}
    first_of_recording: dict[str, int] = {}
    for i, item in enumerate(items):
        if item.speaker and (j := first_of_speaker.setdefault(item.speaker, i)) != i:
            parent[find(i)] = find(j)
        if item.recording_id and (j := first_of_recording.setdefault(item.recording_id, i)) != i:
            parent[find(i)] = find(j)
    groups: dict[int, list[SplitItem]] = defaultdict(list)
    for i, item in enumerate(items):
        groups[find(i)].append(item)
    return list(groups.values())  # in order of each group's first (smallest) key


def _dims(group: list[SplitItem]) -> dict[str, float]:
    dims: Counter[str] = Counter()
    for item in group:
        dims["items"] += 1
        dims["duration"] += item.duration
        for label in sorted(set(item.labels)) or [None]:
            dims[f"label:{label}"] += 1
        dims[f"language:{item.language}"] += 1
    return dict(dims)


def assign_splits(items: Iterable[Any], ratios: Mapping[str, float] = DEFAULT_RATIOS, seed: int = 0) -> dict[str, str]:
    """Map every item key to a split name. Items carry key, speaker, labels, language, duration, recording_id."""
    targets = validate_ratios(ratios)
    items = _sorted_items(items)
    for a, b in zip(items, items[1:]):
        if a.key == b.key:
            raise ValueError(f"Item key {a.key!r} appears more than once.")
    if any(not math.isfinite(i.duration) or i.duration < 0 for i in items):
        raise ValueError("Item durations must be finite and not negative.")

    groups = _groups(items)
    random.Random(seed).shuffle(groups)
    groups.sort(key=lambda g: (-sum(i.duration for i in g), -len(g)))  # stable: the shuffle breaks ties
    group_dims = [_dims(g) for g in groups]
    totals: Counter[str] = Counter()
    for dims in group_dims:
        totals.update(dims)
    candidates = [s for s, r in targets.items() if r > 0]
    filled = {s: Counter() for s in candidates}

    def cost_change(split: str, dims: dict[str, float], sign: int, goal: Mapping[str, float]) -> float:
        """How much the error grows when the group joins (+1) or leaves (-1) the split."""
        f, r = filled[split], targets[split]
        return sum(
            ((f[d] + sign * v - r * goal[d]) / totals[d]) ** 2 - ((f[d] - r * goal[d]) / totals[d]) ** 2
            for d, v in dims.items()
            if totals[d] > 0
        )

    # Greedy, largest group first, against targets scaled to the mass placed so far, so
    # every split gets its share of large groups instead of train taking all of them.
    placed, done = [], Counter()
    for dims in group_dims:
        done.update(dims)
        best = min(candidates, key=lambda s: cost_change(s, dims, +1, done))  # first of equals wins
        filled[best].update(dims)
        placed.append(best)
    # Then move single groups, smallest first, while that lowers the final error.
    for _ in range(MAX_REFINE_PASSES):
        moved = False
        for i in reversed(range(len(groups))):
            dims, here = group_dims[i], placed[i]
            leave = cost_change(here, dims, -1, totals)
            gains = [(leave + cost_change(s, dims, +1, totals), s) for s in candidates if s != here]
            change, there = min(gains, default=(0.0, here), key=lambda g: g[0])
            if change < -1e-12:
                filled[here].subtract(dims)
                filled[there].update(dims)
                placed[i], moved = there, True
        if not moved:
            break
    return {item.key: split for group, split in zip(groups, placed) for item in group}


def split_stats(items: Iterable[Any], assignment: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Per split: items, hours, speakers, and item counts per label and language."""
    acc: dict[str, dict[str, Any]] = {}
    for item in _sorted_items(items):
        split = assignment[item.key]
        s = acc.get(split)
        if s is None:  # not setdefault: that built two Counters and a set per item (a release has 10,000s)
            s = acc[split] = {
                "items": 0,
                "seconds": 0.0,
                "speakers": set(),
                "labels": Counter(),
                "languages": Counter(),
            }
        s["items"] += 1
        s["seconds"] += item.duration
        if item.speaker:
            s["speakers"].add(item.speaker)
        labels = s["labels"]
        for label in item.labels if len(item.labels) < 2 else set(item.labels):  # each label once per item
            labels[label] += 1
        if item.language:
            s["languages"][item.language] += 1
    order = [s for s in SPLIT_NAMES if s in acc] + sorted(s for s in acc if s not in SPLIT_NAMES)
    return {
        split: {
            "items": acc[split]["items"],
            "hours": acc[split]["seconds"] / 3600,
            "speakers": len(acc[split]["speakers"]),
            "labels": dict(sorted(acc[split]["labels"].items())),
            "languages": dict(sorted(acc[split]["languages"].items())),
        }
        for split in order
    }


class LeakagePair(NamedTuple):
    key_a: str
    split_a: str
    key_b: str
    split_b: str
    similarity: float


def leakage_warnings(
    items_with_fingerprints: Mapping[str, Any] | Iterable[tuple[str, Any]],
    assignment: Mapping[str, str],
    similarity_fn: Callable[[Any, Any], float],
    *,
    threshold: float = 0.9,
    blocking_keys: Mapping[str, Iterable[Hashable]] | None = None,
) -> list[LeakagePair]:
    """Near-duplicate pairs (similarity >= threshold) that sit in different splits.

    `similarity_fn(fp_a, fp_b)` compares two precomputed fingerprints (the QA
    fingerprint lives elsewhere). Without `blocking_keys` every cross-split
    pair is compared (quadratic: fine for thousands of items); with them
    (key -> bucket ids, e.g. LSH bands) only items sharing a bucket are.
    """
    fps = dict(
        items_with_fingerprints.items() if isinstance(items_with_fingerprints, Mapping) else items_with_fingerprints
    )
    keys = sorted(k for k in fps if k in assignment)
    if blocking_keys is None:
        candidates: Iterable[tuple[str, str]] = ((a, b) for i, a in enumerate(keys) for b in keys[i + 1 :])
    else:
        buckets: dict[Hashable, list[str]] = defaultdict(list)
        for key in keys:
            for bucket in set(blocking_keys.get(key, ())):
                buckets[bucket].append(key)
        candidates = sorted(
            {(a, b) for members in buckets.values() for i, a in enumerate(members) for b in members[i + 1 :]}
        )
    pairs = []
    for a, b in candidates:
        if assignment[a] != assignment[b]:
            sim = float(similarity_fn(fps[a], fps[b]))
            if sim >= threshold:
                pairs.append(LeakagePair(a, assignment[a], b, assignment[b], sim))
    return sorted(pairs, key=lambda p: (-p.similarity, p.key_a, p.key_b))


def empty_split_warnings(items: Iterable[Any], assignment: Mapping[str, str], ratios: Mapping[str, float]) -> list[str]:
    """A sentence for every split asked for (ratio > 0) that got no item, naming the speaker count it needs."""
    used = set(assignment.values())
    if all(ratio <= 0 or name in used for name, ratio in ratios.items()):
        return []  # no split left empty: no need to count speakers and groups (a release build's common case)
    items = [_coerce(i) for i in items]
    speakers = len({i.speaker for i in items if i.speaker})
    groups = len(_groups(items))
    out = []
    for name, ratio in ratios.items():
        if ratio > 0 and name not in used:
            need = math.ceil(1 / ratio - 1e-9)
            out.append(
                f"The {name} split ({ratio:.0%} requested) is empty: splits are speaker-disjoint and this selection "
                f"has {speakers} speaker(s) in {groups} group(s) that must stay together, so a {ratio:.0%} split "
                f"needs at least {need} speakers. Add speakers, or set its ratio to 0."
            )
    return out
