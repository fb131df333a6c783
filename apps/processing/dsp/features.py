"""Spectrogram, mel, MFCC and chroma from ONE short-time Fourier transform.

Results agree with ``librosa.feature.melspectrogram``, ``mfcc`` and
``chroma_stft`` (and ``power_to_db(abs(stft)**2)``) called on the waveform with
the same parameters, but the STFT is computed once, in the working dtype
(float32 by default), in cache-sized chunks of frames, and the filterbanks and
the DCT matrix are built once per parameter set.

Arrays come back shaped like librosa's, ``(..., n_bins, n_frames)``, as
transposed views of frame-major buffers (frames contiguous, Fortran order for
2-D), which saves a full copy per feature.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import librosa
import numpy as np
import scipy.fft
import scipy.fftpack
import scipy.signal
from numpy.lib.stride_tricks import as_strided

from .filters import chroma_filterbank, mel_filterbank, stft_window

__all__ = [
    "DEFAULT_KINDS",
    "KINDS",
    "FeatureParams",
    "Features",
    "compute_features",
    "feature_dims",
]

DEFAULT_KINDS = ("spectrogram", "mel", "mfcc", "chroma")
# "mel_db" is power_to_db(mel) with top_db, handy for previews and tiles.
KINDS = DEFAULT_KINDS + ("mel_db",)

# librosa.power_to_db's defaults (ref=1.0 gives absolute dB).
AMIN = 1e-10


@dataclass(frozen=True)
class FeatureParams:
    """Everything that decides the features' values (hashable, so cacheable).

    ``tuning=None`` estimates the tuning once per signal from the power
    spectrogram (as ``chroma_stft`` does by default); the value used is on
    ``Features.tuning``. ``power`` applies to mel/MFCC; chroma always uses
    power 2, like ``chroma_stft``.
    ``mfcc_deltas`` adds ``mfcc_delta`` and ``mfcc_delta2`` next to ``mfcc``.
    """

    sr: int
    n_fft: int = 2048
    hop_length: int = 512
    win_length: int | None = None
    window: str | tuple = "hann"
    center: bool = True
    n_mels: int = 128
    fmin: float = 0.0
    fmax: float | None = None
    htk: bool = False
    n_mfcc: int = 20
    mfcc_deltas: bool = False
    n_chroma: int = 12
    tuning: float | None = 0.0
    power: float = 2.0
    top_db: float | None = 80.0
    dtype: Any = "float32"

    def __post_init__(self) -> None:
        dt = np.dtype(self.dtype)
        if dt not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, not {dt}")
        object.__setattr__(self, "dtype", dt.name)
        if self.sr <= 0 or self.n_fft <= 0 or self.hop_length <= 0:
            raise ValueError("sr, n_fft and hop_length must be positive")
        if self.win_length is not None and not 0 < self.win_length <= self.n_fft:
            raise ValueError("win_length must be in (0, n_fft]")
        if self.n_mfcc > self.n_mels:
            raise ValueError("n_mfcc cannot exceed n_mels")
        if self.power <= 0:
            raise ValueError("power must be positive")

    def replace(self, **changes: Any) -> FeatureParams:
        return dataclasses.replace(self, **changes)

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def pad(self) -> int:
        return self.n_fft // 2 if self.center else 0

    def n_frames(self, n_samples: int) -> int:
        """Frames an ``n_samples`` signal gives (librosa.stft's count)."""
        n = n_samples + 2 * self.pad
        return 0 if n < self.n_fft else 1 + (n - self.n_fft) // self.hop_length

    def frame_times(self, n_frames: int) -> np.ndarray:
        """Time in seconds of each frame (its centre when ``center=True``)."""
        return librosa.frames_to_time(
            np.arange(n_frames),
            sr=self.sr,
            hop_length=self.hop_length,
            n_fft=None if self.center else self.n_fft,
        )


class Features(dict):
    """``{kind: array}`` plus the ``params`` and ``tuning`` actually used."""

    def __init__(self, arrays: Mapping[str, np.ndarray], *, params: FeatureParams, tuning: float | None):
        super().__init__(arrays)
        self.params = params
        self.tuning = tuning

    @property
    def n_frames(self) -> int:
        return next(iter(self.values())).shape[-1] if self else 0


def feature_dims(params: FeatureParams) -> dict[str, int]:
    """Rows per frame of every kind for these parameters."""
    dims = {
        "spectrogram": params.n_bins,
        "mel": params.n_mels,
        "mel_db": params.n_mels,
        "mfcc": params.n_mfcc,
        "chroma": params.n_chroma,
    }
    if params.mfcc_deltas:
        dims["mfcc_delta"] = dims["mfcc_delta2"] = params.n_mfcc
    return dims


def compute_features(y: np.ndarray, params: FeatureParams, kinds: Iterable[str] = DEFAULT_KINDS) -> Features:
    """Features of ``y`` (shape (..., N), at ``params.sr``) from one STFT.

    ``spectrogram`` is power dB (``power_to_db(abs(stft)**2, top_db)``),
    ``mel`` the mel power spectrogram, ``mfcc`` from the log-mel, ``chroma``
    normalised per frame like ``chroma_stft``; ``mel_db`` on request.
    """
    kinds = _check_kinds(kinds)
    dtype = np.dtype(params.dtype)
    y = np.asarray(y)
    if y.ndim == 0:
        raise ValueError("y must have at least one dimension")
    lead = y.shape[:-1]
    flat = y.reshape(-1, y.shape[-1])
    n_frames = params.n_frames(flat.shape[-1])
    if n_frames <= 0:
        raise ValueError(f"signal of {flat.shape[-1]} samples is shorter than n_fft={params.n_fft}")
    engine = _Engine(params, kinds, tuning=params.tuning)
    frames = _CentredFrames(flat.astype(dtype, copy=False), params, n_frames)
    # The AMIN floor of the dB kinds is left to _finish, which takes one maximum over each array anyway (top_db).
    raw = engine.process(frames, floor_db=False)
    return _finish(raw, params, kinds, engine.tuning, lead, floored=False, spec_peak=engine.spec_peak())


# --- internals shared with streaming.py --------------------------------------


def _check_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    if isinstance(kinds, str):
        kinds = (kinds,)
    kinds = tuple(dict.fromkeys(kinds))
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise ValueError(f"unknown feature kinds {unknown}; choose from {KINDS}")
    return kinds


def _frame_view(padded: np.ndarray, n_fft: int, hop: int, n_frames: int) -> np.ndarray:
    """(B, L) -> read-only (B, n_frames, n_fft) view, no copy."""
    b_stride, s_stride = padded.strides
    return as_strided(
        padded,
        shape=(padded.shape[0], n_frames, n_fft),
        strides=(b_stride, hop * s_stride, s_stride),
        writeable=False,
    )


class _CentredFrames:
    """``frames[b, s:e]`` of the centre-padded signal, without padding (copying) the whole signal.

    A run of frames inside the signal is a view of it; one that reaches into the padding is framed from a
    zero-padded copy of its own samples (the first and last chunk of a clip). The same frames as
    ``_frame_view`` over ``np.pad(flat, pad)``: a 10-s clip's 1.7 MB copy saved.
    """

    def __init__(self, flat: np.ndarray, params: FeatureParams, n_frames: int):
        self.flat = flat
        self.n_fft, self.hop, self.pad = n_fft, hop, pad = params.n_fft, params.hop_length, params.pad
        self.shape = (flat.shape[0], n_frames, n_fft)
        # Frames [first, end) lie wholly inside the signal: one view of them, sliced per chunk.
        self.first = -(-pad // hop)
        self.end = min(n_frames, (flat.shape[1] + pad - n_fft) // hop + 1)
        self.inner = None
        if self.end > self.first:
            self.inner = _frame_view(flat[:, self.first * hop - pad :], n_fft, hop, self.end - self.first)

    def __getitem__(self, key: tuple[int, slice]) -> np.ndarray:
        b, frames = key
        s, e, _ = frames.indices(self.shape[1])
        e = max(s, e)
        if self.inner is not None and self.first <= s and e <= self.end:
            return self.inner[b, s - self.first : e - self.first]
        row = self.flat[b]
        lo = s * self.hop - self.pad
        hi = lo + max(0, e - s - 1) * self.hop + self.n_fft
        if 0 <= lo and hi <= row.shape[0]:
            part = row[lo:hi]
        else:
            part = np.zeros(hi - lo, dtype=row.dtype)
            a, z = max(lo, 0), min(hi, row.shape[0])
            part[a - lo : z - lo] = row[a:z]
        return _frame_view(part[None], self.n_fft, self.hop, e - s)[0]


# Frames per chunk (128 at n_fft=2048): the chunk's windowed frames, spectrum
# and power stay cache-resident, which measured ~2x faster than one FFT call
# over the whole signal, while still amortising per-call overhead.
_CHUNK_SAMPLES = 1 << 18
# FFT chunks per span of mel, chroma and dB rows: the BLAS calls and the log over 256 frames at once measured ~4 %
# faster per clip than per 128-frame chunk, with the power of two chunks (1 MB) still in L2; longer spans were no
# faster (docs/performance.md).
_SPAN_CHUNKS = 2


@functools.lru_cache(maxsize=32)
def _window(window: str | tuple, win_length: int | None, n_fft: int, dtype: str) -> np.ndarray:
    # Same window as librosa.stft: periodic, centred inside n_fft.
    w = stft_window(window, win_length or n_fft, n_fft).astype(dtype)
    w.flags.writeable = False
    return w


# A band of mel filters is halved when that saves more multiply-adds per frame than this: about what one more small
# matmul call costs at these sizes (measured at n_fft=2048, 128 mels: halving the top two bands of 16 filters, which
# span 430 and 257 bins, took the mel from 57 to 50 us per 128-frame chunk; halving further was slower).
_MEL_SPLIT_SAVING = 1500


def _mel_span(fb: np.ndarray, a: int, b: int) -> tuple[int, int]:
    """The bins [lo, hi) where filters a..b-1 are non-zero."""
    used = np.flatnonzero(fb[a:b].any(axis=0))
    return (int(used[0]), int(used[-1]) + 1) if used.size else (0, 1)


def _mel_groups(fb: np.ndarray, a: int, b: int) -> list[tuple[int, int, int, int]]:
    """Filters a..b-1 as (a, b, lo, hi) groups, halved while halving saves more than _MEL_SPLIT_SAVING."""
    lo, hi = _mel_span(fb, a, b)
    if b - a >= 4:
        m = (a + b) // 2
        (lo1, hi1), (lo2, hi2) = _mel_span(fb, a, m), _mel_span(fb, m, b)
        if (b - a) * (hi - lo) - (m - a) * (hi1 - lo1) - (b - m) * (hi2 - lo2) > _MEL_SPLIT_SAVING:
            return _mel_groups(fb, a, m) + _mel_groups(fb, m, b)
    return [(a, b, lo, hi)]


@functools.lru_cache(maxsize=32)
def _mel_basis(
    sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float | None, htk: bool, dtype: str
) -> tuple[tuple[int, int, int, int, np.ndarray], ...]:
    """librosa.filters.mel cut into bands: (first_mel, end_mel, lo_bin, hi_bin, weights.T).

    Each mel filter is non-zero on a short run of FFT bins, so a group of
    ~16 neighbouring filters only needs the bins under its own span; the
    grouped matmuls do ~13 % of the dense multiply-adds (5x faster at
    n_fft=2048, n_mels=128) and give the same sums, zeros aside. The high
    filters are wide, so their groups are halved where that saves enough
    (_mel_groups): ~9 % of the dense multiply-adds at those settings.
    """
    fb = mel_filterbank(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, dtype=dtype)
    bands = []
    for rows in np.array_split(np.arange(n_mels), max(1, n_mels // 16)):
        for a, b, lo, hi in _mel_groups(fb, int(rows[0]), int(rows[-1]) + 1):
            weights = np.ascontiguousarray(fb[a:b, lo:hi].T)
            weights.flags.writeable = False
            bands.append((a, b, lo, hi, weights))
    return tuple(bands)


@functools.lru_cache(maxsize=64)
def _chroma_basis(sr: int, n_fft: int, n_chroma: int, tuning: float, dtype: str) -> np.ndarray:
    fb = chroma_filterbank(sr=sr, n_fft=n_fft, n_chroma=n_chroma, tuning=tuning, dtype=dtype)
    basis = np.ascontiguousarray(fb.T)
    basis.flags.writeable = False
    return basis


@functools.lru_cache(maxsize=32)
def _dct_basis(n_mels: int, n_mfcc: int, dtype: str) -> np.ndarray:
    """(n_mels, n_mfcc): log-mel rows @ this == scipy.fft.dct(type=2, norm="ortho")[:n_mfcc]."""
    # Building it with scipy's own DCT keeps the convention identical to
    # librosa.feature.mfcc; a matmul on frame-major data then beats a DCT call.
    basis = scipy.fft.dct(np.eye(n_mels), type=2, norm="ortho", axis=0)[:n_mfcc].T
    basis = np.ascontiguousarray(basis, dtype=dtype)
    basis.flags.writeable = False
    return basis


_SCRATCH = threading.local()


def _scratch(name: str, rows: int, min_rows: int, cols: int, dtype: np.dtype) -> np.ndarray:
    """A (rows, cols) buffer of this thread's, the same memory on every call (at least ``min_rows`` are kept).

    Engines take their per-chunk buffers (windowed frames, power, dB) here rather than allocating their own: every
    clip then works in memory the previous one left in cache: process() measured 1.5–3 % faster per 10-s clip than
    fresh buffers per call. A few MB per thread, kept for the thread's life.
    """
    pool = _SCRATCH.__dict__
    key = (name, cols, dtype.str)
    buf = pool.get(key)
    if buf is None or buf.shape[0] < rows:
        buf = pool[key] = np.empty((max(rows, min_rows), cols), dtype)
    return buf[:rows]


@functools.lru_cache(maxsize=8)
def _ones(n: int, dtype: str) -> np.ndarray:
    ones = np.ones(n, dtype=dtype)
    ones.flags.writeable = False
    return ones


@functools.lru_cache(maxsize=4)
def _pair_sums(dtype: str) -> dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]:
    """Two ways to sum a (t, 2F) block of squared parts in pairs into (t, F): the pairs @ (1, 1), or the even columns
    + the odd ones. Each sum is rounded once either way, to the same value (both products by 1 are exact; NaN, inf
    and overflowing sums come out alike; tests hold them equal to the bit)."""
    ones = _ones(2, dtype)

    def by_matmul(parts: np.ndarray, out: np.ndarray) -> np.ndarray:
        return np.matmul(parts.reshape(parts.shape[0], -1, 2), ones, out=out)

    def by_add(parts: np.ndarray, out: np.ndarray) -> np.ndarray:
        return np.add(parts[:, 0::2], parts[:, 1::2], out=out)

    return {"matmul": by_matmul, "add": by_add}


@functools.lru_cache(maxsize=8)
def _pair_sum(dtype: str, n_fft: int, rows: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The faster on this CPU of _pair_sums' two ways, timed once per process on a block the engine's chunk's size.

    The values are the same either way, so the choice changes speed only. Which is faster depends on the CPU: the
    matmul reads the pairs contiguously and the add walks two strided halves, and the add took about twice the
    matmul's time on the VMs of earlier sessions, ~0.75x of it on a later one (docs/performance.md). A few ms, once;
    the best of several tries each, taking turns. Timed on the pairs as _power hands them over: the middle of rows of
    a packed spectrum (see _Engine._power), into the middle of the power's rows.
    """
    pairs = (n_fft - 1) // 2
    parts = np.random.default_rng(0).random((rows, n_fft)).astype(dtype)[:, 1 : 1 + 2 * pairs]
    out = np.empty((rows, n_fft // 2 + 1), dtype=dtype)[:, 1 : 1 + pairs]
    best = {fn: float("inf") for fn in _pair_sums(dtype).values()}
    for _ in range(7):
        for fn in best:
            start = time.perf_counter()
            fn(parts, out)
            best[fn] = min(best[fn], time.perf_counter() - start)
    return min(best, key=best.__getitem__)


@functools.lru_cache(maxsize=64)
def _row(value: float, width: int, dtype: str) -> np.ndarray:
    """A read-only row of ``width`` copies of ``value``, to take a maximum against (see _to_db)."""
    row = np.full(width, value, dtype=dtype)
    row.flags.writeable = False
    return row


def _to_db(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """10*log10(max(x, amin)) in place into ``out``: power_to_db, ref=1, no top_db.

    The max is taken against a row of AMIN as wide as the last axis: NumPy's maximum runs its SIMD loop on two
    arrays, ~2.5x faster than against a broadcast scalar (slower than the log10 itself), and a row broadcast
    over the frames is within a third of a whole block of AMIN while staying 4 KB in cache instead of 0.5 MB.
    """
    np.maximum(x, _row(AMIN, x.shape[-1], x.dtype.name), out=out)
    np.log10(out, out=out)
    out *= 10.0
    return out


@functools.lru_cache(maxsize=4)
def _amin_db(dtype: str) -> float:
    """_to_db of AMIN itself in ``dtype``: the least value a dB kind can have (computed as _to_db computes it)."""
    return float(_to_db(_row(AMIN, 1024, dtype), np.empty(1024, dtype))[0])


class _Engine:
    """Turns frames into frame-major feature rows; keeps the per-params state."""

    def __init__(self, params: FeatureParams, kinds: tuple[str, ...], *, tuning: float | None):
        p = params
        self.params = p
        self.dtype = np.dtype(p.dtype)
        self.want_spec = "spectrogram" in kinds
        self.want_logmel = "mfcc" in kinds or "mel_db" in kinds
        self.want_mel = "mel" in kinds
        self.want_chroma = "chroma" in kinds
        self.window = _window(p.window, p.win_length, p.n_fft, p.dtype)
        if self.want_mel or self.want_logmel:
            self.mel_bands = _mel_basis(
                p.sr, p.n_fft, p.n_mels, float(p.fmin), None if p.fmax is None else float(p.fmax), p.htk, p.dtype
            )
        self.tuning = tuning if tuning is None else float(tuning)
        self.chroma_basis = None
        if self.want_chroma and self.tuning is not None:
            self.chroma_basis = _chroma_basis(p.sr, p.n_fft, p.n_chroma, self.tuning, p.dtype)
        self.chunk = max(8, _CHUNK_SAMPLES // p.n_fft)
        self.tiny = np.finfo(self.dtype).tiny
        # The mel, chroma and dB rows are taken over spans of _SPAN_CHUNKS FFT chunks (see process).
        self.span = self.chunk * _SPAN_CHUNKS
        self.pair_sum = _pair_sum(p.dtype, p.n_fft, self.chunk)
        self.spec_peaks: list[float] = []  # each span's spectrogram peak, for spec_peak()

    def outputs(self) -> dict[str, int]:
        """Raw frame-major outputs this engine fills, with their widths."""
        p = self.params
        out = {}
        if self.want_spec:
            out["spectrogram"] = p.n_bins
        if self.want_mel:
            out["mel"] = p.n_mels
        if self.want_logmel:
            out["logmel"] = p.n_mels
        if self.want_chroma:
            out["chroma"] = p.n_chroma
        return out

    def process(
        self,
        frames: np.ndarray | _CentredFrames,
        *,
        floor_db: bool = True,
        tap: Callable[[int, int, int, np.ndarray], None] | None = None,
    ) -> dict[str, np.ndarray]:
        """(B, T, n_fft) frames -> {raw kind: (B, T, dim)}; dB values not yet clipped to top_db.

        ``floor_db=False`` leaves out the AMIN floor of the dB kinds (a silent bin gives -inf), for a caller that
        takes a maximum over each whole array afterwards anyway and applies it there (``_finish(floored=False)``):
        one pass fewer over every chunk. ``tap(b, s, e, power)`` sees each chunk's power rows (frames ``s:e`` of
        item ``b``) before anything else reads them; they are overwritten afterwards.
        """
        B, T, _ = frames.shape
        out = {k: np.empty((B, T, d), dtype=self.dtype) for k, d in self.outputs().items()}
        self.spec_peaks = []
        with np.errstate(divide="ignore"):  # log10(0) without the floor
            if self.want_chroma and self.chroma_basis is None:
                # Tuning has to be known before any chroma row, so keep every
                # power row of this call, estimate once, then derive from them.
                power = np.empty((B, T, self.params.n_bins), dtype=self.dtype)
                for b in range(B):
                    for s in range(0, T, self.chunk):
                        e = min(T, s + self.chunk)
                        self._power(frames[b, s:e], out=power[b, s:e])
                        if tap is not None:
                            tap(b, s, e, power[b, s:e])
                self._estimate_tuning(power)
                for b in range(B):
                    for s in range(0, T, self.span):
                        e = min(T, s + self.span)
                        self._derive_rows(power[b, s:e], {k: v[b, s:e] for k, v in out.items()}, floor_db)
            else:
                for b in range(B):
                    for s0 in range(0, T, self.span):
                        e0 = min(T, s0 + self.span)
                        rows = {k: v[b, s0:e0] for k, v in out.items()}
                        # The power goes straight into the spectrogram's rows, which become its dB in place once the
                        # mel and chroma rows are taken: no separate power or dB buffer, one block of memory less
                        # per chunk going through the cache (~4 % faster per clip than through scratch buffers).
                        spec_rows = rows.get("spectrogram")
                        power = spec_rows
                        if power is None:
                            power = _scratch("span_power", e0 - s0, self.span, self.params.n_bins, self.dtype)
                        for s in range(s0, e0, self.chunk):
                            e = min(e0, s + self.chunk)
                            chunk_power = self._power(frames[b, s:e], out=power[s - s0 : e - s0])
                            if tap is not None:
                                tap(b, s, e, chunk_power)
                        self._derive_rows(power, rows, floor_db, power_is_spectrogram=spec_rows is not None)
            # The log-mel and chroma's normalisation read only the small mel and chroma rows: once per call, not per
            # chunk (~20 NumPy calls fewer per 128 frames; the same values).
            self._finish_rows(out, floor_db)
        return out

    def spec_peak(self) -> float | None:
        """The largest spectrogram dB value of the last process() call (before any top_db clip), None if none."""
        return float(np.max(self.spec_peaks)) if self.spec_peaks else None

    def _estimate_tuning(self, power: np.ndarray) -> None:
        p = self.params
        S = np.swapaxes(power, -1, -2)  # (B, F, T) as librosa expects
        if S.shape[-1] == 0:
            tuning = 0.0
        else:
            tuning = librosa.estimate_tuning(
                S=S[0] if S.shape[0] == 1 else S, sr=p.sr, n_fft=p.n_fft, bins_per_octave=p.n_chroma
            )
        self.tuning = float(tuning)
        self.chroma_basis = _chroma_basis(p.sr, p.n_fft, p.n_chroma, self.tuning, p.dtype)

    def _power(self, frames: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """|rfft(window * frame)|**2 for a (t, n_fft) chunk, frame-major (t, F), into ``out`` if given."""
        t, n_fft = frames.shape
        # One buffer for every chunk, which the FFT overwrites: no allocation and no fresh pages per chunk.
        buf = _scratch("windowed", t, self.chunk, n_fft, self.dtype)
        windowed = np.multiply(frames, self.window, out=buf)
        # scipy.fftpack's rfft is the same pocketfft transform as scipy.fft.rfft, to the bit, but its packed real
        # output (r0, r1, i1, r2, i2, ..., r[n/2]) lets it work in place in the windowed frames: no new 1 MB
        # complex array per chunk, so less memory goes through the cache (~5 % faster per clip in process;
        # docs/performance.md). The benchmarks' floor makes the same call.
        packed = scipy.fftpack.rfft(windowed, axis=-1, overwrite_x=True)
        # re**2 + im**2: the squares in place (nothing else reads the spectrum; one contiguous SIMD pass), then one
        # sum of each pair, the same values as squaring each half on its own and adding. (librosa.util.abs2 is a
        # numba ufunc, but loading its JIT code costs a worker ~75 MB of RSS, more than the whole streaming
        # pipeline needs.) np.abs then a square rounds differently (|X| first), so the values stay as they were.
        np.square(packed, out=packed)
        # Without ``out``, a reused buffer: the power lives until the next _power call in this thread (callers
        # derive from it at once, or copy it).
        if out is None:
            out = _scratch("power", t, self.chunk, n_fft // 2 + 1, self.dtype)
        pairs = (n_fft - 1) // 2
        out[:, 0] = packed[:, 0]  # DC: real only
        # The pairs' sums by whichever of a matmul with ones or a strided add is faster here (_pair_sum): the same
        # values either way.
        self.pair_sum(packed[:, 1 : 1 + 2 * pairs], out[:, 1 : 1 + pairs])
        if n_fft % 2 == 0:
            out[:, -1] = packed[:, -1]  # Nyquist: real only
        return out

    def _derive(self, power: np.ndarray, out: dict[str, np.ndarray]) -> None:
        """Every requested row of one chunk from its power, final but for top_db (longform's tiles' mel, per chunk)."""
        self.spec_peaks = []  # this chunk's alone
        self._derive_rows(power, out, True)
        self._finish_rows(out, True)

    def _derive_rows(
        self, power: np.ndarray, out: dict[str, np.ndarray], floor_db: bool, power_is_spectrogram: bool = False
    ) -> None:
        """The mel rows, chroma's unnormalised rows and the spectrogram's dB of one chunk (see _finish_rows).

        ``power_is_spectrogram``: ``power`` is ``out["spectrogram"]``, turned into dB in place last.
        """
        p = self.params
        if p.power == 2.0:
            S = power
        else:
            S = power ** (p.power / 2.0)
        if self.want_mel or self.want_logmel:
            dst = out["mel"] if self.want_mel else out["logmel"]
            for a, b, lo, hi, weights in self.mel_bands:
                np.matmul(S[:, lo:hi], weights, out=dst[:, a:b])
        if self.want_chroma:
            # chroma_stft always uses the power spectrum, whatever `power` is.
            np.matmul(power, self.chroma_basis, out=out["chroma"])
        if self.want_spec:
            if power_is_spectrogram:
                tmp = dst = power
            else:
                # Through a scratch buffer that stays in cache: the output is written once, not three times.
                tmp, dst = _scratch("db", power.shape[0], self.span, power.shape[1], self.dtype), out["spectrogram"]
            if floor_db:
                np.log10(np.maximum(power, _row(AMIN, power.shape[1], power.dtype.name), out=tmp), out=tmp)
            else:
                np.log10(power, out=tmp)
            np.multiply(tmp, 10.0, out=dst)
            # The rows' peak while they are in cache: _finish's top_db clip then needs no pass of its own over the
            # whole spectrogram to find it (NaN propagates as in one maximum over the array).
            self.spec_peaks.append(dst.max() if dst.size else -np.inf)

    def _finish_rows(self, out: dict[str, np.ndarray], floor_db: bool) -> None:
        """The log-mel from the mel rows and chroma's per-frame normalisation, over any number of frames."""
        if self.want_logmel:
            src, dst = out["mel"] if self.want_mel else out["logmel"], out["logmel"]
            if floor_db:
                _to_db(src, dst)
            else:
                np.log10(src, out=dst)
                dst *= 10.0
        if self.want_chroma:
            dst = out["chroma"]
            # librosa.util.normalize(norm=inf): divide by the column max,
            # leaving columns below `tiny` untouched.
            # Power and the chroma filters are >= 0, so every row already equals its abs.
            # The maximum over the few chroma columns as one elementwise maximum per column (the same values, ~2x
            # faster than a reduction along the short last axis).
            norm = dst[..., :1].copy()
            for c in range(1, dst.shape[-1]):
                np.maximum(norm, dst[..., c : c + 1], out=norm)
            np.copyto(norm, 1.0, where=norm < self.tiny)
            dst /= norm


_CLIP_BLOCK = 1 << 14


def _clip_top_db(x: np.ndarray, top_db: float | None, peak: float | None = None, *, floor: float | None = None) -> None:
    """max(x, peak - top_db) in place; ``floor`` (the dB of AMIN, for rows computed without it) bounds both below."""
    if x.size == 0 or (top_db is None and floor is None):
        return
    if top_db is None:
        lowest = floor
    else:
        peak = float(x.max()) if peak is None else peak
        if floor is not None and peak < floor:
            peak = floor
        lowest = peak - top_db
        if floor is not None and lowest < floor:
            lowest = floor
    if not x.flags.c_contiguous:
        # Against a row of the floor broadcast over the frames (see _to_db), the whole array in one call.
        np.maximum(x, np.full(x.shape[-1], lowest, dtype=x.dtype), out=x)
        return
    # The engine's arrays are contiguous: against a 64 KB block of the floor over the flat array, whose long rows cost
    # NumPy's loop less per element than the frames' rows of a few hundred values (~35 % faster, the same values).
    flat = x.reshape(-1)
    width = min(flat.size, _CLIP_BLOCK)
    block = np.full(width, lowest, dtype=x.dtype)
    whole = flat.size - flat.size % width
    body = flat[:whole].reshape(-1, width)
    np.maximum(body, block, out=body)
    np.maximum(flat[whole:], block[: flat.size - whole], out=flat[whole:])


def _delta(mfcc_ft: np.ndarray, order: int) -> np.ndarray:
    """librosa.feature.delta along frames; narrower window on very short input."""
    n = mfcc_ft.shape[-1]
    width = min(9, n if n % 2 else n - 1)
    if width < 3:
        return np.zeros_like(mfcc_ft)
    return librosa.feature.delta(mfcc_ft, width=width, order=order, axis=-1).astype(mfcc_ft.dtype, copy=False)


def _finish(
    raw: dict[str, np.ndarray],
    params: FeatureParams,
    kinds: tuple[str, ...],
    tuning: float | None,
    lead: tuple[int, ...],
    *,
    floored: bool = True,
    spec_peak: float | None = None,
) -> Features:
    """Apply the whole-signal top_db clip, derive MFCC, and shape like librosa.

    ``floored=False``: the dB kinds came from ``process(floor_db=False)``; their AMIN floor is applied here, in the
    same maximum as the clip (the values are those of flooring first: both are maxima, and log10 is monotonic).
    ``spec_peak``: the spectrogram's maximum, if the caller already has it (``_Engine.spec_peak``).
    """
    floor = None if floored else _amin_db(params.dtype)
    if "spectrogram" in raw:
        _clip_top_db(raw["spectrogram"], params.top_db, spec_peak, floor=floor)
    if "logmel" in raw:
        _clip_top_db(raw["logmel"], params.top_db, floor=floor)

    def shaped(a: np.ndarray) -> np.ndarray:  # (B, T, d) -> (..., d, T) view
        a = np.swapaxes(a, -1, -2)
        return a.reshape(lead + a.shape[1:]) if lead else a[0]

    out: dict[str, np.ndarray] = {}
    for kind in kinds:
        if kind == "mfcc":
            mfcc = np.matmul(raw["logmel"], _dct_basis(params.n_mels, params.n_mfcc, params.dtype))
            out["mfcc"] = shaped(mfcc)
            if params.mfcc_deltas:
                out["mfcc_delta"] = _delta(out["mfcc"], 1)
                out["mfcc_delta2"] = _delta(out["mfcc"], 2)
        elif kind == "mel_db":
            out["mel_db"] = shaped(raw["logmel"])
        else:
            out[kind] = shaped(raw[kind])
    return Features(out, params=params, tuning=tuning if "chroma" in kinds else params.tuning)
