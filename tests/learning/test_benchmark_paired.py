"""The models benchmark calls augmentation "measurably better" only when the paired interval clears zero."""

from benchmarks.models import paired_difference


def test_a_difference_every_seed_agrees_on_is_above_zero():
    out = paired_difference([0.95, 0.93, 0.97, 0.91, 0.96], [0.92, 0.90, 0.95, 0.88, 0.93])
    assert out.startswith("augmented - none, paired by seed: +0.028")
    assert "above zero: measurably better" in out
    assert "better on 5 of 5 seeds, worse on 0" in out


def test_a_difference_the_seeds_disagree_on_includes_zero():
    # The last session's three 0 dB splits: +0.033, -0.017, -0.023.
    out = paired_difference([0.880, 0.933, 0.967], [0.847, 0.950, 0.990])
    assert "includes zero" in out
    assert "measurably" not in out
    assert "better on 1 of 3 seeds, worse on 2" in out


def test_a_difference_every_seed_agrees_is_worse_is_below_zero():
    assert "below zero" in paired_difference([0.80, 0.81], [0.90, 0.92])
