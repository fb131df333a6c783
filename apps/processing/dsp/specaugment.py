"""SpecAugment (Park et al. 2019): seeded frequency and time masks on mel spectrograms.

Re-exported by ``augment``; same seeding rules (a ``numpy.random.Generator``
built from the caller's seed, never global state).
"""

from __future__ import annotations

import functools

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


@functools.lru_cache(maxsize=16)
def _mel_centres(n_mels: int, fmin: float, fmax: float, htk: bool) -> np.ndarray:
    import librosa

    return librosa.mel_frequencies(n_mels=n_mels + 2, fmin=fmin, fmax=fmax, htk=htk)[1:-1]


def _vtlp_source(freqs: np.ndarray, factor: float, nyquist: float, boundary: float) -> np.ndarray:
    """The input frequency each output frequency reads under VTLP's piecewise-linear warp.

    Jaitly & Hinton 2013: ``f -> factor * f`` up to the knee ``boundary * min(factor, 1) / factor``, then a
    straight line that lands on the top frequency, so the warped axis keeps both ends; inverted here.
    """
    low = boundary * min(factor, 1.0)  # where the knee lands on the output axis
    knee = low / factor
    slope = (nyquist - low) / (nyquist - knee)
    return np.where(freqs <= low, freqs / factor, nyquist - (nyquist - freqs) / slope)


def mel_warp(
    mel: np.ndarray,
    factor: float,
    *,
    sr: int,
    fmin: float = 0.0,
    fmax: float | None = None,
    htk: bool = False,
    boundary: float = 0.8,
) -> np.ndarray:
    """Vocal-tract-length perturbation on a mel spectrogram ``(..., n_mels, n_frames)``.

    Each output band reads the input at its centre frequency divided by ``factor`` (piecewise, so 0 Hz and
    the top stay put; ``boundary`` is the knee as a share of the top frequency), interpolating linearly
    between neighbouring bands. ``factor`` > 1 moves formants up (a shorter vocal tract), < 1 down; 1 returns
    an unchanged copy. Works on power or dB values alike; shape, dtype and the frames are kept, so a
    label stays valid. The band centres are librosa's for the same ``sr``/``fmin``/``fmax``/``htk``.
    """
    mel = np.asarray(mel)
    if mel.ndim < 2:
        raise ValueError(f"mel_warp needs a (n_mels, n_frames) array, got shape {mel.shape}.")
    if not (isinstance(factor, (int, float, np.floating)) and 0.5 <= float(factor) <= 2.0):
        raise ValueError(f"mel_warp factor must be a number within [0.5, 2], got {factor!r}.")
    if not 0.0 < boundary < 1.0:
        raise ValueError(f"mel_warp boundary must be within (0, 1), got {boundary!r}.")
    n_mels = mel.shape[-2]
    top = float(fmax if fmax is not None else sr / 2.0)
    centres = _mel_centres(n_mels, float(fmin), top, bool(htk))
    source = _vtlp_source(centres, float(factor), top, boundary * top)
    pos = np.interp(source, centres, np.arange(n_mels, dtype=np.float64))
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, n_mels - 1)
    w = (pos - lo).astype(np.float32)[:, None]
    out = (1.0 - w) * mel[..., lo, :] + w * mel[..., hi, :]
    return out.astype(np.result_type(mel.dtype, np.float32), copy=False)
