"""Preprocessing steps a recipe composes: mono, trim, loudness, peak, fixed length.

Pure functions on numpy arrays (no Django, no storage, no settings).

Array convention, the same as librosa's: a mono signal is 1-D ``(n,)``; a
multichannel signal is 2-D ``(channels, n)``.  Note that ``soundfile.read``
returns ``(n, channels)``; transpose before calling these functions.
Times are returned in seconds (floats), levels in dBFS / LUFS.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Literal

import librosa
import numpy as np
import pyloudnorm

# ITU-R BS.1770 gating block: integrated loudness is undefined on less audio.
LOUDNESS_BLOCK_S = 0.400
# pyloudnorm's channel weights cover at most five channels (L, R, C, Ls, Rs).
_LOUDNESS_MAX_CHANNELS = 5

PadMode = Literal["zero", "reflect"]
AlignMode = Literal["start", "center"]


def _as_float(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.floating):
        raise ValueError(f"Audio must be a floating-point array, got dtype {y.dtype}.")
    if y.ndim not in (1, 2):
        raise ValueError(f"Audio must be 1-D (n,) or 2-D (channels, n), got shape {y.shape}.")
    return y


def _check_sr(sr: int) -> None:
    if not (isinstance(sr, (int, np.integer)) and sr > 0):
        raise ValueError(f"Sample rate must be a positive integer, got {sr!r}.")


# --------------------------------------------------------------------------- mono


def to_mono(y: np.ndarray, *, channel: int | None = None) -> np.ndarray:
    """Mono version of ``y``: the mean of all channels, or one kept channel.

    ``channel=None`` mixes down (librosa.to_mono, a plain average, so a signal
    identical on every channel keeps its level); ``channel=k`` keeps channel k
    (negative indices count from the end).  1-D input is returned as is.
    """
    y = _as_float(y)
    if y.ndim == 1:
        if channel not in (None, 0, -1):
            raise ValueError(f"Channel {channel} does not exist in a mono signal.")
        return y
    if channel is None:
        return librosa.to_mono(y)
    n_channels = y.shape[0]
    if not -n_channels <= channel < n_channels:
        raise ValueError(f"Channel {channel} does not exist in a signal with {n_channels} channels.")
    return np.ascontiguousarray(y[channel])


# --------------------------------------------------------------------------- trim


def _envelope_and_threshold(
    y: np.ndarray, top_db: float, frame_length: int, hop_length: int
) -> tuple[np.ndarray, float]:
    """Per-sample magnitude (loudest channel) and the amplitude ``top_db`` under the loudest frame."""
    envelope = np.abs(y) if y.ndim == 1 else np.max(np.abs(y), axis=0)
    rms = librosa.feature.rms(y=y, frame_length=frame_length, hop_length=hop_length)
    reference = float(np.max(rms))
    return envelope, reference * 10.0 ** (-top_db / 20.0)


def _refine(envelope: np.ndarray, start: int, end: int, threshold: float, reach: int) -> tuple[int, int]:
    """Move librosa's frame-resolution edges inward to the first/last loud sample.

    librosa's centred RMS frames see a tone up to half a frame before it starts
    and after it ends, so its edges sit up to ``frame_length / 2 + hop`` outside
    the sound.  We search only that reach, so noise far from an edge cannot
    move it; a genuinely quiet onset keeps librosa's frame edge.
    """
    head = envelope[start : min(end, start + reach)] > threshold
    if head.any():
        start += int(np.argmax(head))
    tail_base = max(start, end - reach)
    tail = np.flatnonzero(envelope[tail_base:end] > threshold)
    if tail.size:
        end = tail_base + int(tail[-1]) + 1
    return start, end


def trim_silence(
    y: np.ndarray,
    sr: int,
    *,
    top_db: float = 40.0,
    frame_length: int = 2048,
    hop_length: int = 512,
) -> tuple[np.ndarray, tuple[float, float]]:
    """Cut leading and trailing silence; return ``(y_trimmed, (start_s, end_s))``.

    Silence is anything more than ``top_db`` below the loudest frame
    (librosa.effects.trim: frame RMS referenced to the maximum); the frame
    edges are then refined to the sample (see ``_refine``), so bounds are good
    to well within one hop.  An all-silent signal comes back empty with bounds
    ``(0.0, 0.0)``.
    """
    y = _as_float(y)
    _check_sr(sr)
    if y.shape[-1] == 0 or not np.any(y):
        return y[..., :0].copy(), (0.0, 0.0)
    _, (start, end) = librosa.effects.trim(y, top_db=top_db, frame_length=frame_length, hop_length=hop_length)
    if end <= start:
        return y[..., :0].copy(), (0.0, 0.0)
    envelope, threshold = _envelope_and_threshold(y, top_db, frame_length, hop_length)
    start, end = _refine(envelope, int(start), int(end), threshold, frame_length // 2 + hop_length)
    return y[..., start:end].copy(), (start / sr, end / sr)


def voiced_segments(
    y: np.ndarray,
    sr: int,
    *,
    top_db: float = 40.0,
    min_silence_s: float = 0.3,
    min_segment_s: float = 0.1,
    frame_length: int = 2048,
    hop_length: int = 512,
) -> list[tuple[float, float]]:
    """Non-silent stretches of ``y`` as ``[(start_s, end_s), ...]`` in time order.

    Built on librosa.effects.split (frames within ``top_db`` of the loudest
    frame), with edges refined to the sample as in ``trim_silence``.  Gaps
    shorter than ``min_silence_s`` are bridged, so a word with a short stop
    stays one segment; then segments shorter than ``min_segment_s`` (clicks)
    are dropped.
    """
    y = _as_float(y)
    _check_sr(sr)
    if min_silence_s < 0 or min_segment_s < 0:
        raise ValueError("min_silence_s and min_segment_s must not be negative.")
    if y.shape[-1] == 0 or not np.any(y):
        return []
    intervals = librosa.effects.split(y, top_db=top_db, frame_length=frame_length, hop_length=hop_length)
    envelope, threshold = _envelope_and_threshold(y, top_db, frame_length, hop_length)
    reach = frame_length // 2 + hop_length
    merged: list[list[int]] = []
    min_gap = min_silence_s * sr
    for raw_start, raw_end in intervals:
        start, end = _refine(envelope, int(raw_start), int(raw_end), threshold, reach)
        if merged and start - merged[-1][1] < min_gap:
            merged[-1][1] = end
        else:
            merged.append([start, end])
    min_len = min_segment_s * sr
    return [(s / sr, e / sr) for s, e in merged if e - s >= min_len]


# --------------------------------------------------------------------------- loudness


def loudness_lufs(y: np.ndarray, sr: int) -> float | None:
    """Integrated loudness in LUFS (ITU-R BS.1770-4 via pyloudnorm).

    Returns ``None`` when the clip is shorter than one 400 ms gating block, where
    BS.1770 integrated loudness is undefined, and ``-inf`` for digital silence
    (no block passes the -70 LUFS absolute gate).  Signals with more than five
    channels (beyond BS.1770's weighting table) are measured on their mono mixdown.
    """
    y = _as_float(y)
    _check_sr(sr)
    if y.shape[-1] < LOUDNESS_BLOCK_S * sr:
        return None
    if y.ndim == 2 and y.shape[0] > _LOUDNESS_MAX_CHANNELS:
        y = librosa.to_mono(y)
    data = y.T if y.ndim == 2 else y  # pyloudnorm wants (n, channels)
    meter = pyloudnorm.Meter(sr, block_size=LOUDNESS_BLOCK_S)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # log10(0) on silent blocks
        value = meter.integrated_loudness(np.asarray(data, dtype=np.float64))
    value = float(value)
    if math.isnan(value):
        return float("-inf")
    return value


def normalize_loudness(
    y: np.ndarray,
    sr: int,
    target_lufs: float = -23.0,
    *,
    max_peak_dbfs: float | None = None,
) -> np.ndarray:
    """Scale ``y`` so its integrated loudness is ``target_lufs``.

    A single gain, so the result measures the target within rounding.  If
    ``max_peak_dbfs`` is given and that gain would push the peak above it, the
    gain is lowered to meet the peak instead (the output is then quieter than the
    target).  Clips too short to measure, and digital silence, are returned
    unchanged (as a copy): there is no loudness to correct.
    """
    y = _as_float(y)
    current = loudness_lufs(y, sr)
    if current is None or not math.isfinite(current):
        return y.copy()
    gain_db = target_lufs - current
    if max_peak_dbfs is not None:
        peak = float(np.max(np.abs(y)))
        if peak > 0:
            gain_db = min(gain_db, max_peak_dbfs - 20.0 * math.log10(peak))
    return (y * 10.0 ** (gain_db / 20.0)).astype(y.dtype, copy=False)


def normalize_peak(y: np.ndarray, peak_dbfs: float = -1.0) -> np.ndarray:
    """Scale ``y`` so its largest absolute sample sits at ``peak_dbfs``.

    Digital silence is returned unchanged (as a copy).
    """
    y = _as_float(y)
    if peak_dbfs > 0:
        warnings.warn(
            f"Peak target {peak_dbfs} dBFS is above full scale; output will clip when written as PCM.",
            stacklevel=2,
        )
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak == 0.0:
        return y.copy()
    gain = 10.0 ** (peak_dbfs / 20.0) / peak
    return (y * gain).astype(y.dtype, copy=False)


# --------------------------------------------------------------------------- fixed length


def _pad(y: np.ndarray, before: int, after: int, pad: PadMode) -> np.ndarray:
    if before == 0 and after == 0:
        return y
    widths = [(0, 0)] * (y.ndim - 1) + [(before, after)]
    if pad == "reflect" and y.shape[-1] > 1:
        # numpy's reflect keeps mirroring when the pad is longer than the signal.
        return np.pad(y, widths, mode="reflect")
    # zero padding, and the fallback for signals too short to reflect
    if pad == "reflect" and y.shape[-1] == 1:
        return np.pad(y, widths, mode="edge")
    return np.pad(y, widths, mode="constant")


def fix_length(
    y: np.ndarray,
    sr: int,
    seconds: float,
    *,
    pad: PadMode = "zero",
    align: AlignMode = "start",
) -> np.ndarray:
    """Pad or truncate ``y`` to exactly ``round(seconds * sr)`` samples.

    ``align="start"`` keeps the beginning (pads/cuts at the end);
    ``align="center"`` keeps the middle (pads/cuts evenly at both ends, the odd
    sample going to the end).  ``pad`` is ``"zero"`` or ``"reflect"`` (mirror the
    signal, which avoids a hard edge into silence).
    """
    y = _as_float(y)
    _check_sr(sr)
    if pad not in ("zero", "reflect"):
        raise ValueError(f'pad must be "zero" or "reflect", got {pad!r}.')
    if align not in ("start", "center"):
        raise ValueError(f'align must be "start" or "center", got {align!r}.')
    if not seconds > 0:
        raise ValueError(f"seconds must be positive, got {seconds!r}.")
    target = int(round(seconds * sr))
    n = y.shape[-1]
    if n == target:
        return y.copy()
    if n > target:
        start = 0 if align == "start" else (n - target) // 2
        return np.ascontiguousarray(y[..., start : start + target])
    missing = target - n
    if n == 0:
        return np.zeros(y.shape[:-1] + (target,), dtype=y.dtype)
    before = 0 if align == "start" else missing // 2
    return _pad(y, before, missing - before, pad)


def windows(
    y: np.ndarray,
    sr: int,
    *,
    seconds: float,
    hop_seconds: float | None = None,
    pad_last: bool = True,
) -> np.ndarray:
    """Cut ``y`` into fixed-length windows; return a stacked array.

    Window ``i`` starts at ``i * hop_seconds`` (default hop: ``seconds``, so no
    overlap).  Shape is ``(n_windows, win)`` for mono and
    ``(n_windows, channels, win)`` for multichannel, with
    ``win = round(seconds * sr)``.  With ``pad_last`` a final window is
    zero-padded so the tail is covered (and a signal shorter than one window
    yields one padded window); without it the partial tail is dropped and the
    result may have zero windows.
    """
    y = _as_float(y)
    _check_sr(sr)
    if not seconds > 0:
        raise ValueError(f"seconds must be positive, got {seconds!r}.")
    hop_seconds = seconds if hop_seconds is None else hop_seconds
    if not hop_seconds > 0:
        raise ValueError(f"hop_seconds must be positive, got {hop_seconds!r}.")
    win = int(round(seconds * sr))
    hop = max(1, int(round(hop_seconds * sr)))
    n = y.shape[-1]
    if n >= win:
        n_full = 1 + (n - win) // hop
        covered = (n_full - 1) * hop + win
    else:
        n_full, covered = 0, 0
    n_windows = n_full + (1 if pad_last and covered < n else 0)
    if n_windows == 0:
        return np.zeros((0,) + y.shape[:-1] + (win,), dtype=y.dtype)
    needed = (n_windows - 1) * hop + win
    if needed > n:
        y = _pad(y, 0, needed - n, "zero")
    frames = np.lib.stride_tricks.sliding_window_view(y, win, axis=-1)[..., ::hop, :]
    frames = frames[..., :n_windows, :]
    # sliding_window_view puts the window axis last and the frame axis before it;
    # move frames first: (ch, n_win, win) -> (n_win, ch, win).
    if y.ndim == 2:
        frames = np.moveaxis(frames, 1, 0)
    return np.ascontiguousarray(frames)


@dataclass(frozen=True)
class LengthPolicy:
    """How a recipe makes clips a fixed length.

    ``mode``: ``"none"`` (keep as is), ``"pad_or_truncate"`` (one clip of
    ``seconds``), ``"windows"`` (many clips of ``seconds`` every ``hop_seconds``).
    """

    mode: Literal["none", "pad_or_truncate", "windows"] = "none"
    seconds: float | None = None
    hop_seconds: float | None = None
    pad: PadMode = "zero"
    align: AlignMode = "start"
    pad_last: bool = True

    def __post_init__(self) -> None:
        if self.mode not in ("none", "pad_or_truncate", "windows"):
            raise ValueError(f'Length mode must be "none", "pad_or_truncate" or "windows", got {self.mode!r}.')
        for name in ("seconds", "hop_seconds"):
            value = getattr(self, name)
            if value is None:
                continue
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not (math.isfinite(value) and value > 0)
            ):
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}.")
        if self.mode != "none" and self.seconds is None:
            raise ValueError(f'Length mode "{self.mode}" needs a positive seconds value.')
        if not isinstance(self.pad_last, bool):
            raise ValueError(f"pad_last must be true or false, got {self.pad_last!r}.")
        if self.pad not in ("zero", "reflect"):
            raise ValueError(f'pad must be "zero" or "reflect", got {self.pad!r}.')
        if self.align not in ("start", "center"):
            raise ValueError(f'align must be "start" or "center", got {self.align!r}.')

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> LengthPolicy:
        if not isinstance(data, dict):
            raise ValueError(f"A length policy must be an object, got {data!r}.")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"Unknown length policy field(s): {', '.join(sorted(unknown))}.")
        return cls(**data)

    def apply(self, y: np.ndarray, sr: int) -> list[np.ndarray]:
        """The clips this policy makes from ``y`` (one for none/pad_or_truncate)."""
        if self.mode == "none":
            return [_as_float(y)]
        if self.mode == "pad_or_truncate":
            return [fix_length(y, sr, self.seconds, pad=self.pad, align=self.align)]
        stacked = windows(y, sr, seconds=self.seconds, hop_seconds=self.hop_seconds, pad_last=self.pad_last)
        return list(stacked)
