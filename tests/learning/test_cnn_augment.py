"""The CNN's on-the-fly augmentation: the mel-axis warp is drawn per example and batch from the recipe's seed."""

import numpy as np
import pytest

from apps.core.errors import DomainError
from apps.learning.backends import Example
from apps.learning.services.training import recipe_clean
from apps.processing import dsp

PARAMS = dsp.FeatureParams(sr=16000, n_fft=512, hop_length=160, n_mels=40)


def _examples(n=24, seed=0):
    """Two classes of 40-band patches: a ridge low or high in frequency, with noise."""
    rng = np.random.default_rng(seed)
    out, y = [], []
    for i in range(n):
        mel = rng.normal(-60.0, 3.0, (40, 100)).astype(np.float32)
        band = 8 if i % 2 else 28
        mel[band : band + 3] += 30.0
        out.append(Example(mel=mel))
        y.append(i % 2)
    return out, np.array(y)


def _fit(recipe):
    from apps.learning.backends.cnn import CnnModel

    train, y = _examples()
    model = CnnModel()
    model.fit(
        train,
        y,
        n_classes=2,
        recipe={"epochs": 2, "width": 4, "threads": 1, **recipe},
        sr=16000,
        feature_params=PARAMS,
        progress=lambda *_: None,
    )
    return model, model.predict_proba(_examples(8, seed=1)[0])


def test_warp_is_reproducible_with_the_seed_and_changes_training():
    pytest.importorskip("torch")
    _, a = _fit({"seed": 5})  # the default recipe warps the mel axis
    _, b = _fit({"seed": 5})
    _, plain = _fit({"seed": 5, "warp": None})
    _, other = _fit({"seed": 6})
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, plain)
    assert not np.array_equal(a, other)
    assert a.shape == (8, 2) and np.allclose(a.sum(axis=1), 1.0)


def test_warp_draws_factors_within_the_recipe_range(monkeypatch):
    pytest.importorskip("torch")
    from apps.learning.backends import cnn

    drawn = []

    def spy(mel, factor, **kwargs):
        drawn.append(factor)
        assert kwargs == {"sr": 16000, "fmin": PARAMS.fmin, "fmax": PARAMS.fmax, "htk": PARAMS.htk}
        return dsp.specaugment.mel_warp(mel, factor, **kwargs)

    monkeypatch.setattr(cnn, "mel_warp", spy)
    _fit({"warp": [0.95, 1.05]})
    assert len(drawn) == 2 * 24  # every example, every epoch (no copies: as many steps as without)
    assert min(drawn) >= 0.95 and max(drawn) <= 1.05 and len(set(drawn)) == len(drawn)
    drawn.clear()
    _fit({"augment": False})
    assert drawn == []


@pytest.mark.parametrize("warp", [[1.2, 0.8], [0.1, 1.0], "0.9", [0.9], [True, 1.1]])
def test_recipe_rejects_a_bad_warp(warp):
    with pytest.raises(DomainError, match="recipe.warp"):
        recipe_clean("cnn", {"warp": warp})


def test_recipe_defaults_warp_on_the_fly_without_copies():
    clean = recipe_clean("cnn", {"warp": [0.9, 1.1]})
    assert clean["warp"] == [0.9, 1.1] and clean["copies"] == 0
    assert recipe_clean("cnn", {"warp": None})["warp"] is None
