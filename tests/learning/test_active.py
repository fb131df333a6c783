"""The active-learning order (apps/learning/active.py): uncertainty first, spread over clusters, coverage honoured.

Pure numpy: no database. The product's queue writes this order (tests/learning/test_api.py checks that).
"""

import numpy as np
import pytest

from apps.learning.active import active_learning_order


def sure(k: int, label: int, p: float) -> list[float]:
    """A probability row giving ``label`` probability ``p`` and the rest spread evenly."""
    row = [(1.0 - p) / (k - 1)] * k
    row[label] = p
    return row


def test_most_uncertain_items_come_first():
    proba = np.array([sure(3, 0, p) for p in (0.95, 0.40, 0.90, 0.50, 0.99, 0.45)])
    features = np.arange(6, dtype=float)[:, None]
    ranked = active_learning_order(proba, features, coverage_weight=0.0, batch_size=3, shortlist=1)
    assert ranked.order.tolist() == [1, 5, 3, 2, 0, 4]  # smallest margin first, batch after batch
    assert ranked.margin[1] < ranked.margin[3] < ranked.margin[0]
    assert ranked.predicted.tolist() == [0] * 6


def test_margin_and_entropy_are_different_orders():
    # Item 0: two labels tie (margin 0) but the third is ruled out; item 1: all three nearly equal.
    proba = np.array([[0.5, 0.5, 0.0], [0.4, 0.3, 0.3]])
    features = np.zeros((2, 1))
    by_margin = active_learning_order(proba, features, measure="margin", coverage_weight=0.0, batch_size=1)
    by_entropy = active_learning_order(proba, features, measure="entropy", coverage_weight=0.0, batch_size=1)
    assert by_margin.order.tolist() == [0, 1]
    assert by_entropy.order.tolist() == [1, 0]
    with pytest.raises(ValueError, match="measure must be one of margin, entropy"):
        active_learning_order(proba, features, measure="variance")


def test_a_batch_spreads_over_clusters_of_the_models_features():
    # Six near-duplicates (one confusion) are the most uncertain; three others sit far away, a bit less unsure.
    rng = np.random.default_rng(0)
    margins = [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.10, 0.11, 0.12]
    proba = np.array([[0.5 + m / 2, 0.5 - m / 2] for m in margins])
    near = rng.normal(0.0, 0.01, size=(6, 4))
    far = np.array([[10.0, 0, 0, 0], [0, 10.0, 0, 0], [0, 0, 10.0, 0]])
    features = np.vstack([near, far])

    spread = active_learning_order(proba, features, coverage_weight=0.0, batch_size=4, shortlist=5)
    assert sorted(spread.order[:4].tolist()) == [0, 6, 7, 8]  # the best of the duplicates, and each far one
    assert spread.order[0] == 0  # within a batch: most uncertain first
    plain = active_learning_order(proba, features, coverage_weight=0.0, batch_size=4, shortlist=1)
    assert plain.order[:4].tolist() == [0, 1, 2, 3]  # without the shortlist to spread over: all duplicates
    assert sorted(spread.order.tolist()) == list(range(9))  # every item once


def test_coverage_brings_unlabelled_speakers_and_rare_labels_forward():
    # Four equally unsure items; speaker "a" already has many labels, "b" none. Labels: class 1 is rare.
    proba = np.array([sure(2, 0, 0.7), sure(2, 0, 0.7), sure(2, 1, 0.7), sure(2, 0, 0.7)])
    features = np.eye(4)
    groups = {"speaker": ["a", "a", "a", "b"], "language": [None] * 4}
    labelled = {"label": {0: 20, 1: 2}, "speaker": {"a": 30}, "language": {None: 30}}
    ranked = active_learning_order(
        proba, features, groups=groups, labelled=labelled, coverage_weight=0.5, batch_size=1, shortlist=1
    )
    assert ranked.order.tolist()[:2] == [3, 2]  # the unheard speaker, then the rarely labelled class
    none = active_learning_order(
        proba, features, groups=groups, labelled=labelled, coverage_weight=0.0, batch_size=1, shortlist=1
    )
    assert none.order.tolist() == [0, 1, 2, 3]  # weight 0: uncertainty alone (a tie: the caller's order)


def test_rarity_is_measured_against_the_best_covered_group_even_one_with_nothing_left_to_label():
    proba = np.array([sure(2, 0, 0.6)] * 2)
    labelled = {"speaker": {"z": 30, "b": 3}}  # z is well covered and has no recording left in the pool
    ranked = active_learning_order(
        proba, np.eye(2), groups={"speaker": ["b", "c"]}, labelled=labelled, coverage_weight=1.0, batch_size=1
    )
    assert ranked.order.tolist() == [1, 0]
    assert ranked.score.tolist() == pytest.approx([0.9, 1.0])  # b: 1 - 3/30, c: never labelled


def test_a_chosen_batch_counts_as_covered_for_the_next():
    # Speakers a, a, b, b, c, all equally unsure and none labelled yet: batches of one rotate through speakers.
    proba = np.array([sure(2, 0, 0.6)] * 5)
    groups = {"speaker": ["a", "a", "b", "b", "c"]}
    ranked = active_learning_order(
        proba, np.eye(5), groups=groups, labelled={}, coverage_weight=1.0, batch_size=1, shortlist=1
    )
    speakers = [groups["speaker"][i] for i in ranked.order]
    assert speakers == ["a", "b", "c", "a", "b"]


def test_a_recordings_windows_are_averaged_not_their_probabilities():
    # Recording 0: two confident windows of different labels (sure of each word); recording 1: one unsure window.
    windows = [np.array([sure(2, 0, 0.95), sure(2, 1, 0.95)]), np.array([sure(2, 0, 0.6)])]
    ranked = active_learning_order(windows, np.eye(2), coverage_weight=0.0, batch_size=1)
    assert ranked.order.tolist() == [1, 0]
    assert ranked.margin[0] == pytest.approx(0.9) and ranked.margin[1] == pytest.approx(0.2)


def test_after_max_batches_the_rest_follow_in_score_order():
    proba = np.array([sure(2, 0, p) for p in (0.9, 0.6, 0.8, 0.7, 0.55)])
    ranked = active_learning_order(proba, np.eye(5), coverage_weight=0.0, batch_size=1, max_batches=1)
    assert ranked.order.tolist() == [4, 1, 3, 2, 0]
    assert active_learning_order(np.zeros((0, 2)), np.zeros((0, 3))).order.tolist() == []
