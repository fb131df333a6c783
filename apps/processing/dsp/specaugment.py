"""SpecAugment (Park et al. 2019): seeded frequency and time masks on mel spectrograms.

Re-exported by ``augment``; same seeding rules (a ``numpy.random.Generator``
built from the caller's seed, never global state).
"""

from __future__ import annotations

import numpy as np

Seed = int | np.random.Generator | None


def _rng(seed: Seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def spec_augment_masks(
    n_mels: int,
    n_frames: int,
    *,
    rng: Seed = None,
    n_freq_masks: int = 2,
    freq_mask_param: int = 27,
    n_time_masks: int = 2,
    time_mask_param: int = 100,
    max_time_fraction: float = 1.0,
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The ``(freq_masks, time_masks)`` SpecAugment would draw, as ``[start, end)`` pairs.

    Park et al. 2019: each frequency mask has width ``f ~ U{0..F}`` and start
    ``f0 ~ U{0..n_mels-f}``; each time mask width ``t ~ U{0..min(T, p*n_frames)}``
    and start ``t0 ~ U{0..n_frames-t}``.  Defaults are their LibriSpeech "LD"
    policy (F=27, mF=2, T=100, mT=2, p=1.0).  Masks may overlap.
    """
    for name, value in (
        ("n_freq_masks", n_freq_masks),
        ("freq_mask_param", freq_mask_param),
        ("n_time_masks", n_time_masks),
        ("time_mask_param", time_mask_param),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}.")
    if not 0.0 <= max_time_fraction <= 1.0:
        raise ValueError(f"max_time_fraction must be within [0, 1], got {max_time_fraction!r}.")
    gen = _rng(rng)
    freq_masks = []
    f_max = min(freq_mask_param, n_mels)
    for _ in range(n_freq_masks):
        f = int(gen.integers(0, f_max + 1))
        f0 = int(gen.integers(0, n_mels - f + 1))
        freq_masks.append((f0, f0 + f))
    time_masks = []
    t_max = min(time_mask_param, int(max_time_fraction * n_frames))
    for _ in range(n_time_masks):
        t = int(gen.integers(0, t_max + 1))
        t0 = int(gen.integers(0, n_frames - t + 1))
        time_masks.append((t0, t0 + t))
    return freq_masks, time_masks


def spec_augment(
    mel: np.ndarray,
    *,
    rng: Seed = None,
    seed: int | None = None,
    n_freq_masks: int = 2,
    freq_mask_param: int = 27,
    n_time_masks: int = 2,
    time_mask_param: int = 100,
    max_time_fraction: float = 1.0,
    mask_value: float | str = 0.0,
) -> np.ndarray:
    """SpecAugment frequency and time masking of a ``(..., n_mels, n_frames)`` array.

    Returns a masked copy; leading axes (channels) share the same masks.
    ``mask_value`` is a number, ``"mean"`` or ``"min"`` of the input.  0.0 (the
    paper's choice) suits mean-normalised features; for raw log-mel in dB pass
    ``"min"`` or the floor you use.  Written here because audiomentations'
    SpecFrequencyMask draws one band from global state and has no time mask.
    Pass ``rng`` (Generator or int) or ``seed``; the masks drawn are exactly
    ``spec_augment_masks(...)`` with the same generator state.
    """
    mel = np.asarray(mel)
    if mel.ndim < 2:
        raise ValueError(f"SpecAugment needs a (n_mels, n_frames) array, got shape {mel.shape}.")
    if rng is not None and seed is not None:
        raise ValueError("Pass either rng or seed to spec_augment, not both.")
    if isinstance(mask_value, str):
        if mask_value == "mean":
            fill = float(np.mean(mel)) if mel.size else 0.0
        elif mask_value == "min":
            fill = float(np.min(mel)) if mel.size else 0.0
        else:
            raise ValueError(f'mask_value must be a number, "mean" or "min", got {mask_value!r}.')
    else:
        fill = float(mask_value)
    freq_masks, time_masks = spec_augment_masks(
        mel.shape[-2],
        mel.shape[-1],
        rng=rng if rng is not None else seed,
        n_freq_masks=n_freq_masks,
        freq_mask_param=freq_mask_param,
        n_time_masks=n_time_masks,
        time_mask_param=time_mask_param,
        max_time_fraction=max_time_fraction,
    )
    out = np.array(mel, dtype=np.result_type(mel.dtype, np.float32), copy=True)
    for f0, f1 in freq_masks:
        out[..., f0:f1, :] = fill
    for t0, t1 in time_masks:
        out[..., :, t0:t1] = fill
    return out
