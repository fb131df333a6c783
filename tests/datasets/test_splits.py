"""Speaker-disjoint, stratified, deterministic splits."""

import math
import random
from collections import Counter, defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.datasets.splits import SplitItem, assign_splits, leakage_warnings, split_stats, validate_ratios


@pytest.fixture(autouse=True)
def _media_storage():
    """No-op stand-in for tests/conftest.py's autouse fixture, which needs pytest-django's
    `settings`: this module touches no Django, so it also runs with `-p no:django`."""


@st.composite
def item_lists(draw):
    n = draw(st.integers(0, 60))
    speakers = draw(st.lists(st.text("abcdef", min_size=1, max_size=3), min_size=1, max_size=8))
    labels = ["dog", "cat", "bird", "rare"]
    items = []
    for i in range(n):
        items.append(
            SplitItem(
                key=f"k{i:03d}",
                speaker=draw(st.one_of(st.none(), st.sampled_from(speakers))),
                labels=tuple(draw(st.lists(st.sampled_from(labels), max_size=2))),
                language=draw(st.sampled_from([None, "en", "de"])),
                duration=draw(st.floats(0, 30, allow_nan=False)),
                recording_id=draw(st.one_of(st.none(), st.sampled_from(["rec1", "rec2", "rec3", "rec4"]))),
            )
        )
    return items


ratio_sets = st.sampled_from(
    [
        {"train": 0.8, "validation": 0.1, "test": 0.1},
        {"train": 0.5, "test": 0.5},
        {"train": 1.0},
        {"train": 0.7, "validation": 0.0, "test": 0.3},
        {"test": 0.2, "validation": 0.2, "train": 0.6},
    ]
)


@settings(max_examples=150, deadline=None)
@given(items=item_lists(), ratios=ratio_sets, seed=st.integers(0, 2**32), rnd=st.randoms(use_true_random=False))
def test_splits_are_disjoint_complete_deterministic_and_order_free(items, ratios, seed, rnd):
    assignment = assign_splits(items, ratios, seed=seed)
    assert sorted(assignment) == sorted(i.key for i in items)  # every item exactly once
    assert set(assignment.values()) <= {s for s, r in ratios.items() if r > 0}
    for attr in ("speaker", "recording_id"):
        where = defaultdict(set)
        for item in items:
            if getattr(item, attr) is not None:
                where[getattr(item, attr)].add(assignment[item.key])
        assert all(len(splits) == 1 for splits in where.values()), attr
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert assign_splits(shuffled, ratios, seed=seed) == assignment
    assert assign_splits(items, dict(reversed(list(ratios.items()))), seed=seed) == assignment


def test_items_without_speaker_or_recording_are_their_own_groups():
    items = [SplitItem(key=f"k{i:03d}") for i in range(100)]
    counts = Counter(assign_splits(items, seed=1).values())
    assert counts == {"train": 80, "validation": 10, "test": 10}


def test_splits_follow_the_ratios_per_label_and_language():
    rng = random.Random(7)
    items = []
    for s in range(300):
        label = "rare" if s % 25 == 0 else rng.choice(["dog", "cat", "bird"])
        language = rng.choice(["en", "de", "fr"])
        for k in range(rng.randint(1, 5)):
            items.append(
                SplitItem(
                    key=f"s{s:03d}-{k}",
                    speaker=f"spk{s}",
                    labels=(label,),
                    language=language,
                    duration=rng.uniform(1, 10),
                )
            )
    stats = split_stats(items, assign_splits(items, seed=3))
    total_items = sum(s["items"] for s in stats.values())
    total_hours = sum(s["hours"] for s in stats.values())
    for split, target in {"train": 0.8, "validation": 0.1, "test": 0.1}.items():
        assert stats[split]["items"] / total_items == pytest.approx(target, abs=0.02)
        assert stats[split]["hours"] / total_hours == pytest.approx(target, abs=0.02)
        for key in ("labels", "languages"):
            overall = Counter()
            for s in stats.values():
                overall.update(s[key])
            for name, count in overall.items():
                assert stats[split][key].get(name, 0) / count == pytest.approx(target, abs=0.05), (split, name)


def test_seed_changes_the_assignment_but_not_its_balance():
    items = [SplitItem(key=f"k{i:03d}", speaker=f"s{i // 2}", duration=1.0) for i in range(200)]
    a, b = assign_splits(items, seed=1), assign_splits(items, seed=2)
    assert a != b
    assert Counter(a.values()) == Counter(b.values()) == {"train": 160, "validation": 20, "test": 20}


def test_items_may_be_mappings():
    items = [{"key": "a", "speaker": "s1", "labels": ["x"], "duration": 2.0}, {"key": "b", "speaker": "s1"}]
    assignment = assign_splits(items, {"train": 0.5, "test": 0.5})
    assert assignment["a"] == assignment["b"]


@pytest.mark.parametrize(
    "ratios, message",
    [
        ({"train": 0.8, "validation": 0.1}, "must sum to 1"),
        ({"train": 0.8, "validation": 0.1, "test": 0.2}, "must sum to 1"),
        ({"train": 1.2, "test": -0.2}, "must not be negative"),
        ({"train": 0.9, "dev": 0.1}, "Unknown split name 'dev'"),
        ({"train": math.nan, "test": 1.0}, "must be a number"),
        ({}, "at least one"),
    ],
)
def test_bad_ratios_raise(ratios, message):
    with pytest.raises(ValueError, match=message):
        assign_splits([SplitItem(key="a")], ratios)


def test_ratio_sum_tolerance_is_1e_6():
    assert validate_ratios({"train": 0.8, "validation": 0.1, "test": 0.1 + 5e-7})
    with pytest.raises(ValueError):
        validate_ratios({"train": 0.8, "validation": 0.1, "test": 0.1 + 5e-6})


def test_duplicate_keys_raise():
    with pytest.raises(ValueError, match="more than once"):
        assign_splits([SplitItem(key="a"), SplitItem(key="a")])


def test_split_stats_counts_items_hours_speakers_labels_languages():
    items = [
        SplitItem("a", "s1", ("dog",), "en", 1800.0),
        SplitItem("b", "s1", ("dog", "cat"), "en", 1800.0),
        SplitItem("c", None, (), "de", 360.0),
    ]
    stats = split_stats(items, {"a": "train", "b": "train", "c": "test"})
    assert list(stats) == ["train", "test"]
    assert stats["train"] == {
        "items": 2,
        "hours": 1.0,
        "speakers": 1,
        "labels": {"cat": 1, "dog": 2},
        "languages": {"en": 2},
    }
    assert stats["test"] == {"items": 1, "hours": 0.1, "speakers": 0, "labels": {}, "languages": {"de": 1}}


def test_leakage_warnings_report_only_near_duplicates_across_splits():
    fps = {"a": 1.0, "b": 1.01, "c": 5.0, "d": 5.0, "e": 1.0}
    assignment = {"a": "train", "b": "test", "c": "train", "d": "train", "e": "train"}

    def sim(x, y):
        return 1.0 / (1.0 + abs(x - y))

    pairs = leakage_warnings(fps, assignment, sim, threshold=0.95)
    assert [(p.key_a, p.key_b) for p in pairs] == [("a", "b"), ("b", "e")]  # c/d are in the same split
    assert pairs[0].split_a == "train" and pairs[0].split_b == "test" and pairs[0].similarity > 0.95
    blocked = leakage_warnings(
        list(fps.items()), assignment, sim, threshold=0.95, blocking_keys={"a": ["x"], "b": ["x"], "e": ["y"]}
    )
    assert [(p.key_a, p.key_b) for p in blocked] == [("a", "b")]
