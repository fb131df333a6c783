"""Seeded, reproducible data augmentation for waveforms and mel spectrograms.

An augmentation is described by a small plain dict that a recipe can store as
JSON, for example::

    {"kind": "pitch_shift", "semitones": 2}
    {"kind": "time_stretch", "rate": [0.9, 1.1]}      # drawn per call from the seed
    {"kind": "noise", "snr_db": 20, "color": "pink"}

Every numeric parameter is either a number or a two-item ``[low, high]`` range
drawn uniformly from the seeded generator, so the same (spec, seed) always gives
the same output and a different seed usually gives a different one.

Randomness: every draw comes from a ``numpy.random.Generator`` built from the
caller's seed.  audiomentations transforms draw from the process-global
``random``/``np.random`` state, which is neither per-call reproducible nor
thread-safe, so we construct them with fixed parameters and freeze them; the
library does the signal processing, we own the randomness.

Array convention as in ``preprocess``: mono ``(n,)``, multichannel
``(channels, n)``.  Waveform outputs are float32 (audiomentations' working type).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from audiomentations import Gain, PitchShift, Shift, TimeStretch

# SpecAugment and the mel-axis warp live in their own module; re-exported here, where recipes look for them.
from . import specaugment as _specaugment
from .specaugment import Seed, _rng

spec_augment = _specaugment.spec_augment
spec_augment_masks = _specaugment.spec_augment_masks
mel_warp = _specaugment.mel_warp


# --------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class _Param:
    name: str
    low: float | None = None  # inclusive bounds on any value or range end
    high: float | None = None
    required: bool = True
    default: Any = None
    exclusive_low: bool = False
    numeric: bool = True
    choices: tuple = ()


@dataclass(frozen=True)
class _Kind:
    params: tuple[_Param, ...]
    apply: Callable[..., np.ndarray] = field(repr=False)
    description: str = ""


@dataclass(frozen=True)
class AugmentSpec:
    """A validated augmentation: ``kind`` plus its parameters (numbers or ranges)."""

    kind: str
    params: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        for key, value in self.params.items():
            out[key] = list(value) if isinstance(value, tuple) else value
        return out


def _check_number(kind: str, p: _Param, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f'Augmentation "{kind}" parameter "{p.name}" must be a number, got {value!r}.')
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f'Augmentation "{kind}" parameter "{p.name}" must be finite, got {value!r}.')
    if p.low is not None and (value <= p.low if p.exclusive_low else value < p.low):
        op = ">" if p.exclusive_low else ">="
        raise ValueError(f'Augmentation "{kind}" parameter "{p.name}" must be {op} {p.low}, got {value}.')
    if p.high is not None and value > p.high:
        raise ValueError(f'Augmentation "{kind}" parameter "{p.name}" must be <= {p.high}, got {value}.')
    return value


def parse_spec(spec: Mapping[str, Any] | AugmentSpec) -> AugmentSpec:
    """Validate a spec dict; raise ``ValueError`` with a sentence naming the problem."""
    if isinstance(spec, AugmentSpec):
        spec = spec.as_dict()
    if not isinstance(spec, Mapping):
        raise ValueError(f'An augmentation spec must be a mapping with a "kind", got {spec!r}.')
    kind = spec.get("kind")
    if kind not in KINDS:
        raise ValueError(f"Unknown augmentation kind {kind!r}; expected one of: {', '.join(sorted(KINDS))}.")
    definition = KINDS[kind]
    known = {p.name for p in definition.params}
    unknown = set(spec) - known - {"kind"}
    if unknown:
        raise ValueError(
            f'Augmentation "{kind}" does not take parameter(s) {", ".join(sorted(unknown))}; '
            f"it takes: {', '.join(sorted(known))}."
        )
    params: dict[str, Any] = {}
    for p in definition.params:
        if p.name not in spec:
            if p.required:
                raise ValueError(f'Augmentation "{kind}" needs parameter "{p.name}".')
            params[p.name] = p.default
            continue
        value = spec[p.name]
        if p.choices:
            if value not in p.choices:
                raise ValueError(
                    f'Augmentation "{kind}" parameter "{p.name}" must be one of '
                    f"{', '.join(map(repr, p.choices))}, got {value!r}."
                )
            params[p.name] = value
        elif not p.numeric:
            if not isinstance(value, bool):
                raise ValueError(f'Augmentation "{kind}" parameter "{p.name}" must be true or false, got {value!r}.')
            params[p.name] = value
        elif isinstance(value, Sequence) and not isinstance(value, str):
            if len(value) != 2:
                raise ValueError(
                    f'Augmentation "{kind}" parameter "{p.name}" range must be [low, high], got {value!r}.'
                )
            low, high = (_check_number(kind, p, v) for v in value)
            if low > high:
                raise ValueError(f'Augmentation "{kind}" parameter "{p.name}" range has low {low} above high {high}.')
            params[p.name] = (low, high)
        else:
            params[p.name] = _check_number(kind, p, value)
    return AugmentSpec(kind=kind, params=params)


def validate_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The normalised dict form of a valid spec (ranges as lists); ``ValueError`` otherwise."""
    return parse_spec(spec).as_dict()


def _draw(value: Any, rng: np.random.Generator) -> Any:
    if isinstance(value, tuple):
        low, high = value
        return float(rng.uniform(low, high)) if high > low else float(low)
    return value


# --------------------------------------------------------------------------- transforms


def _prepare(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.floating):
        raise ValueError(f"Audio must be a floating-point array, got dtype {y.dtype}.")
    if y.ndim not in (1, 2):
        raise ValueError(f"Audio must be 1-D (n,) or 2-D (channels, n), got shape {y.shape}.")
    # audiomentations works in float32 and warns on float64 input.
    return np.ascontiguousarray(y, dtype=np.float32)


def _frozen(transform, **parameters):
    """An audiomentations transform that applies exactly ``parameters``, drawing nothing."""
    transform.parameters.update(should_apply=True, **parameters)
    transform.freeze_parameters()
    return transform


def time_shift(y: np.ndarray, sr: int, seconds: float, *, rollover: bool = False, fade_s: float = 0.0) -> np.ndarray:
    """Move the signal by ``seconds`` (positive = later), zero-filling unless ``rollover``."""
    y = _prepare(y)
    shift = _frozen(
        Shift(
            min_shift=seconds,
            max_shift=seconds,
            shift_unit="seconds",
            rollover=rollover,
            fade_duration=fade_s,
            p=1.0,
        ),
        shift_amount=seconds,
    )
    return shift(y, sr)


def pitch_shift(y: np.ndarray, sr: int, semitones: float) -> np.ndarray:
    """Shift pitch by ``semitones`` keeping duration (Signalsmith Stretch via audiomentations)."""
    y = _prepare(y)
    if y.ndim == 2 and y.shape[0] > 2:
        # Signalsmith handles mono and stereo only; the phase vocoder takes any layout.
        method = "librosa_phase_vocoder"
    else:
        method = "signalsmith_stretch"
    t = _frozen(
        PitchShift(min_semitones=semitones, max_semitones=semitones, method=method, p=1.0),
        num_semitones=semitones,
    )
    return np.asarray(t(y, sr), dtype=np.float32)


def time_stretch(y: np.ndarray, sr: int, rate: float) -> np.ndarray:
    """Play ``rate`` times faster keeping pitch; the output lasts ``duration / rate``."""
    y = _prepare(y)
    method = "librosa_phase_vocoder" if (y.ndim == 2 and y.shape[0] > 2) else "signalsmith_stretch"
    t = _frozen(
        TimeStretch(min_rate=rate, max_rate=rate, leave_length_unchanged=False, method=method, p=1.0),
        rate=rate,
    )
    return np.asarray(t(y, sr), dtype=np.float32)


def gain(y: np.ndarray, db: float) -> np.ndarray:
    """Multiply by ``db`` decibels (may exceed full scale; nothing is clipped)."""
    y = _prepare(y)
    t = _frozen(Gain(min_gain_db=db, max_gain_db=db, p=1.0), amplitude_ratio=10.0 ** (db / 20.0))
    return t(y, 16000)  # Gain ignores the rate


def _pink(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    n = shape[-1]
    spectrum = np.fft.rfft(rng.standard_normal(shape), axis=-1)
    freqs = np.arange(spectrum.shape[-1], dtype=np.float64)
    freqs[0] = 1.0  # leave DC finite; it is removed below
    spectrum /= np.sqrt(freqs)
    spectrum[..., 0] = 0.0
    return np.fft.irfft(spectrum, n=n, axis=-1)


def add_noise(
    y: np.ndarray,
    snr_db: float,
    *,
    color: str = "white",
    rng: Seed = None,
) -> np.ndarray:
    """Add white or pink Gaussian noise at exactly ``snr_db`` (signal power / noise power).

    Written here rather than with audiomentations' AddGaussianSNR because that
    draws from global ``np.random`` (not reproducible per seed) and sets the
    noise *standard deviation*, so the realised SNR wanders by a fraction of a
    dB; we rescale the drawn noise to the exact power, so the SNR measured back
    from ``out - y`` matches ``snr_db``.  Power is over all channels together.
    Digital silence is returned unchanged (SNR undefined).
    """
    y = _prepare(y)
    if color not in ("white", "pink"):
        raise ValueError(f'Noise color must be "white" or "pink", got {color!r}.')
    gen = _rng(rng)
    signal_power = float(np.mean(np.square(y, dtype=np.float64))) if y.size else 0.0
    if signal_power == 0.0:
        return y.copy()
    noise = gen.standard_normal(y.shape) if color == "white" else _pink(y.shape, gen)
    noise -= noise.mean(axis=-1, keepdims=True)
    noise_power = float(np.mean(np.square(noise)))
    if noise_power == 0.0:  # one-sample signal: nothing to shape
        return y.copy()
    noise *= math.sqrt(signal_power / (noise_power * 10.0 ** (snr_db / 10.0)))
    return (y + noise).astype(np.float32)


def _apply_time_shift(y, sr, p, rng):
    return time_shift(y, sr, _draw(p["seconds"], rng), rollover=p["rollover"], fade_s=_draw(p["fade_s"], rng))


def _apply_pitch_shift(y, sr, p, rng):
    return pitch_shift(y, sr, _draw(p["semitones"], rng))


def _apply_time_stretch(y, sr, p, rng):
    return time_stretch(y, sr, _draw(p["rate"], rng))


def _apply_noise(y, sr, p, rng):
    return add_noise(y, _draw(p["snr_db"], rng), color=p["color"], rng=rng)


def _apply_gain(y, sr, p, rng):
    return gain(y, _draw(p["db"], rng))


KINDS: dict[str, _Kind] = {
    "time_shift": _Kind(
        params=(
            _Param("seconds", low=-3600.0, high=3600.0),
            _Param("rollover", numeric=False, required=False, default=False),
            # audiomentations refuses fades shorter than 0.25 ms other than 0
            _Param("fade_s", low=0.0, high=1.0, required=False, default=0.0),
        ),
        apply=_apply_time_shift,
        description="move the audio in time",
    ),
    "pitch_shift": _Kind(
        params=(_Param("semitones", low=-24.0, high=24.0),),  # audiomentations' limits
        apply=_apply_pitch_shift,
        description="change pitch, keep duration",
    ),
    "time_stretch": _Kind(
        params=(_Param("rate", low=0.1, high=10.0),),  # audiomentations' limits
        apply=_apply_time_stretch,
        description="change duration by 1/rate, keep pitch",
    ),
    "noise": _Kind(
        params=(
            _Param("snr_db", low=-30.0, high=120.0),
            _Param("color", numeric=False, required=False, default="white", choices=("white", "pink")),
        ),
        apply=_apply_noise,
        description="add Gaussian noise at a signal-to-noise ratio",
    ),
    "gain": _Kind(
        params=(_Param("db", low=-96.0, high=48.0),),
        apply=_apply_gain,
        description="change level",
    ),
}


def augment(y: np.ndarray, sr: int, spec: Mapping[str, Any] | AugmentSpec, seed: Seed = None) -> np.ndarray:
    """Apply one augmentation spec to ``y``; same ``(spec, seed)`` → identical output.

    ``seed`` is an int or a ``numpy.random.Generator`` (shared generators
    advance, which is how ``augment_chain`` keeps steps independent).
    """
    parsed = parse_spec(spec)
    if not (isinstance(sr, (int, np.integer)) and sr > 0):
        raise ValueError(f"Sample rate must be a positive integer, got {sr!r}.")
    return KINDS[parsed.kind].apply(y, sr, parsed.params, _rng(seed))


def augment_chain(
    y: np.ndarray, sr: int, specs: Sequence[Mapping[str, Any] | AugmentSpec], seed: Seed = None
) -> np.ndarray:
    """Apply several specs in order from one seeded generator.

    All specs are validated before any is applied, so a bad step late in the
    list fails fast.
    """
    parsed = [parse_spec(s) for s in specs]
    rng = _rng(seed)
    out = _prepare(y)
    for s in parsed:
        out = augment(out, sr, s, rng)
    return out
