"""Automatic audio QA: measurements on a signal, and the checks they trip.

``qa_measure(y, sr)`` returns a ``QAMetrics``; ``qa_flags(metrics, thresholds,
...)`` names each tripped check, in this fixed order: "clipping", "silence",
"low_snr", "dc_offset", "loudness", "duration", "sample_rate", "channels".

Array convention as in ``preprocess``: mono ``(n,)``, multichannel
``(channels, n)``; samples are floats with full scale at 1.0.

Everything except loudness is computed from per-sample counts and per-frame
energies over short non-overlapping frames, so a chunked (blockwise) variant only
needs to concatenate frame energies and add counts.  Loudness uses pyloudnorm's
BS.1770 meter on the whole signal.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np
import pyloudnorm

FLAG_ORDER = (
    "clipping",
    "silence",
    "low_snr",
    "dc_offset",
    "loudness",
    "duration",
    "sample_rate",
    "channels",
)

_LOUDNESS_BLOCK_S = 0.400
_ENERGY_FLOOR = 1e-12  # -120 dBFS power; below any real recording's noise floor


@dataclass(frozen=True)
class QAMetrics:
    """What ``qa_measure`` found.  Levels in dBFS/LUFS; ``None`` = not measurable.

    - ``clipped_ratio``: fraction of samples with ``|x| >= clip_level``.
    - ``clip_runs``: runs of at least ``min_clip_run`` consecutive clipped
      samples (a flattened peak, as opposed to one sample touching full scale).
    - ``longest_clip_run``: samples in the longest such run.
    - ``silence_ratio``: fraction of frames whose RMS is below the silence threshold.
    - ``snr_db``: percentile SNR estimate, see ``estimate_snr_db``; ``None`` for silence.
    - ``dc_offset``: the channel mean with the largest magnitude (signed).
    - ``loudness_lufs``: integrated loudness; ``None`` under 400 ms, ``-inf`` for silence.
    - ``peak_dbfs``, ``rms_dbfs``: ``-inf`` for digital silence.
    """

    duration_s: float
    channels: int
    clipped_ratio: float
    clip_runs: int
    longest_clip_run: int
    silence_ratio: float
    snr_db: float | None
    dc_offset: float
    loudness_lufs: float | None
    peak_dbfs: float
    rms_dbfs: float

    def as_dict(self) -> dict:
        """JSON-safe dict: non-finite levels (digital silence) become ``None``."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, float) and not math.isfinite(value):
                out[key] = None
        return out


@dataclass(frozen=True)
class QAThresholds:
    """Limits for ``qa_flags``.  Defaults suit 16-bit speech corpora."""

    # clipping: more than 0.1 % of samples at full scale, or more than a few
    # flattened peaks (a true clip is several samples pinned at the rail).
    max_clipped_ratio: float = 0.001
    max_clip_runs: int = 5
    # silence: over 80 % of 20 ms frames below -60 dBFS RMS
    max_silence_ratio: float = 0.8
    # noise: speech corpora usually ask for 15-20 dB or better
    min_snr_db: float = 15.0
    # DC: |mean| above 0.01 (-40 dBFS) shows a faulty converter or missing high-pass
    max_abs_dc_offset: float = 0.01
    # loudness window: quieter than -45 LUFS is barely audible speech; louder than
    # -5 LUFS is crushed (EBU R128 broadcast target is -23 LUFS)
    min_loudness_lufs: float = -45.0
    max_loudness_lufs: float = -5.0


# --------------------------------------------------------------------------- measurements


def _as_2d(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.floating):
        raise ValueError(f"Audio must be a floating-point array, got dtype {y.dtype}.")
    if y.ndim == 1:
        return y[np.newaxis, :]
    if y.ndim == 2:
        return y
    raise ValueError(f"Audio must be 1-D (n,) or 2-D (channels, n), got shape {y.shape}.")


def _db(power: float) -> float:
    return 10.0 * math.log10(power) if power > 0 else float("-inf")


def clipping_stats(y: np.ndarray, *, clip_level: float = 0.999, min_clip_run: int = 3) -> tuple[float, int, int]:
    """``(clipped_ratio, clip_runs, longest_clip_run)``, see ``QAMetrics``."""
    x = _as_2d(y)
    if x.size == 0:
        return 0.0, 0, 0
    clipped = np.abs(x) >= clip_level
    ratio = float(np.count_nonzero(clipped)) / clipped.size
    if not clipped.any():
        return ratio, 0, 0
    # run lengths per channel from the edges of the boolean mask
    padded = np.zeros((clipped.shape[0], clipped.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = clipped
    edges = np.diff(padded, axis=1)
    starts = np.nonzero(edges == 1)
    ends = np.nonzero(edges == -1)
    lengths = ends[1] - starts[1]  # nonzero returns row-major order, so they pair up
    runs = int(np.count_nonzero(lengths >= min_clip_run))
    longest = int(lengths.max())
    return ratio, runs, longest


def frame_power(y: np.ndarray, sr: int, *, frame_s: float = 0.02) -> np.ndarray:
    """Mean-square power of non-overlapping frames, loudest channel per frame.

    A trailing partial frame is kept if it is at least half a frame long.
    """
    x = _as_2d(y).astype(np.float64, copy=False)
    frame = max(1, int(round(frame_s * sr)))
    n = x.shape[1]
    n_full = n // frame
    powers = []
    if n_full:
        body = x[:, : n_full * frame].reshape(x.shape[0], n_full, frame)
        powers.append(np.mean(np.square(body), axis=2).max(axis=0))
    tail = n - n_full * frame
    if tail and (tail * 2 >= frame or n_full == 0):
        powers.append(np.mean(np.square(x[:, n_full * frame :]), axis=1).max(axis=0, keepdims=True))
    if not powers:
        return np.zeros(0)
    return np.concatenate(powers)


def silence_ratio(power: np.ndarray, *, threshold_dbfs: float = -60.0) -> float:
    """Fraction of frames whose RMS is below ``threshold_dbfs`` (1.0 if there are none)."""
    if power.size == 0:
        return 1.0
    return float(np.mean(power < 10.0 ** (threshold_dbfs / 10.0)))


def estimate_snr_db(power: np.ndarray, *, percentile: float = 10.0) -> float | None:
    """Frame-energy percentile SNR estimate in dB.

    Noise power N is the mean power of the quietest ``percentile`` % of frames;
    loud power L the mean of the loudest ``percentile`` %.  Speech with pauses
    has noise alone in its quiet frames and speech plus noise in its loud ones,
    so SNR = 10 log10((L - N) / N).  N is floored at -120 dBFS so a clean
    digital recording reads about 100+ dB rather than infinity, and the result
    never goes below -60 dB.  Limitation: content without pauses (steady tones,
    dense music) has L close to N and reads as low SNR; the estimate is meant
    for speech.  With 20 ms frames of white noise the quietest decile sits a
    little under the noise's mean, so the estimate reads up to ~1 dB high.
    ``None`` when even the loud frames are at the floor (digital silence).
    """
    if power.size == 0:
        return None
    ordered = np.sort(power)
    k = max(1, int(math.ceil(ordered.size * percentile / 100.0)))
    noise = max(float(np.mean(ordered[:k])), _ENERGY_FLOOR)
    loud = float(np.mean(ordered[-k:]))
    if loud <= _ENERGY_FLOOR:
        return None
    # floor the excess at -60 dB so steady content gives a finite, very low figure
    excess = max(loud - noise, noise * 1e-6)
    return 10.0 * math.log10(excess / noise)


def integrated_loudness(y: np.ndarray, sr: int) -> float | None:
    """BS.1770 integrated loudness via pyloudnorm; ``None`` under 400 ms, ``-inf`` for silence."""
    x = _as_2d(y)
    if x.shape[1] < _LOUDNESS_BLOCK_S * sr:
        return None
    if x.shape[0] > 5:  # beyond BS.1770's channel weights: measure the mixdown
        x = x.mean(axis=0, keepdims=True)
    meter = pyloudnorm.Meter(sr, block_size=_LOUDNESS_BLOCK_S)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value = float(meter.integrated_loudness(np.asarray(x.T, dtype=np.float64)))
    return float("-inf") if math.isnan(value) else value


def qa_measure(
    y: np.ndarray,
    sr: int,
    *,
    clip_level: float = 0.999,
    min_clip_run: int = 3,
    frame_s: float = 0.02,
    silence_threshold_dbfs: float = -60.0,
    snr_percentile: float = 10.0,
) -> QAMetrics:
    """Measure everything ``qa_flags`` checks, on one signal."""
    if not (isinstance(sr, (int, np.integer)) and sr > 0):
        raise ValueError(f"Sample rate must be a positive integer, got {sr!r}.")
    x = _as_2d(y)
    n = x.shape[1]
    ratio, runs, longest = clipping_stats(x, clip_level=clip_level, min_clip_run=min_clip_run)
    power = frame_power(x, sr, frame_s=frame_s)
    if n:
        x64 = x.astype(np.float64, copy=False)
        means = x64.mean(axis=1)
        dc = float(means[np.argmax(np.abs(means))])
        peak = float(np.max(np.abs(x64)))
        mean_square = float(np.mean(np.square(x64)))
    else:
        dc, peak, mean_square = 0.0, 0.0, 0.0
    return QAMetrics(
        duration_s=n / sr,
        channels=int(x.shape[0]),
        clipped_ratio=ratio,
        clip_runs=runs,
        longest_clip_run=longest,
        silence_ratio=silence_ratio(power, threshold_dbfs=silence_threshold_dbfs),
        snr_db=estimate_snr_db(power, percentile=snr_percentile),
        dc_offset=dc,
        loudness_lufs=integrated_loudness(x, sr),
        peak_dbfs=20.0 * math.log10(peak) if peak > 0 else float("-inf"),
        rms_dbfs=_db(mean_square),
    )


# --------------------------------------------------------------------------- checks


def qa_flags(
    metrics: QAMetrics,
    thresholds: QAThresholds | None = None,
    *,
    duration: float | None = None,
    sample_rate: int | None = None,
    channels: int | None = None,
    expected_sr: int | None = None,
    expected_channels: int | None = None,
    min_duration: float | None = None,
    max_duration: float | None = None,
) -> list[str]:
    """Names of the checks ``metrics`` trips, in ``FLAG_ORDER``.

    ``duration`` and ``channels`` default to what was measured; pass the
    original file's values when the measured signal was resampled or mixed
    down.  The sample-rate, channel and duration checks run only when their
    expectation (``expected_sr``, ``expected_channels``, ``min_duration`` /
    ``max_duration``) is given; ``sample_rate`` must then be given too.
    Unmeasurable values (``None``: too short, silent) trip no check of their own.
    """
    t = thresholds or QAThresholds()
    flags: set[str] = set()
    if metrics.clipped_ratio > t.max_clipped_ratio or metrics.clip_runs > t.max_clip_runs:
        flags.add("clipping")
    if metrics.silence_ratio > t.max_silence_ratio:
        flags.add("silence")
    if metrics.snr_db is not None and metrics.snr_db < t.min_snr_db:
        flags.add("low_snr")
    if abs(metrics.dc_offset) > t.max_abs_dc_offset:
        flags.add("dc_offset")
    lufs = metrics.loudness_lufs
    if lufs is not None and not (t.min_loudness_lufs <= lufs <= t.max_loudness_lufs):
        flags.add("loudness")
    duration = metrics.duration_s if duration is None else duration
    if (min_duration is not None and duration < min_duration) or (max_duration is not None and duration > max_duration):
        flags.add("duration")
    if expected_sr is not None:
        if sample_rate is None:
            raise ValueError("qa_flags needs sample_rate to check it against expected_sr.")
        if sample_rate != expected_sr:
            flags.add("sample_rate")
    channels = metrics.channels if channels is None else channels
    if expected_channels is not None and channels != expected_channels:
        flags.add("channels")
    return [name for name in FLAG_ORDER if name in flags]
