"""Reading audio: whole files, file info and bounded-memory blocks.

Everything here goes through libsndfile (soundfile). Paths and file-like
objects are both accepted; a file-like object is rewound to where it was
found only by the caller.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import librosa
import numpy as np
import soundfile as sf
import soxr

__all__ = ["AudioInfo", "info", "load", "iter_blocks", "resampled_length", "is_audio_source"]

Source = Any  # str | os.PathLike | BinaryIO | sf.SoundFile

# soxr's "HQ" is what librosa's res_type="soxr_hq" selects.
_SOXR_QUALITY = "HQ"


@dataclass(frozen=True)
class AudioInfo:
    """What libsndfile says about a file, before decoding it."""

    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0


def info(file: Source) -> AudioInfo:
    """Header facts of a libsndfile-readable file (path or file-like)."""
    with _open(file) as f:
        return AudioInfo(
            sample_rate=int(f.samplerate),
            channels=int(f.channels),
            frames=int(f.frames),
            format=str(f.format),
            subtype=str(f.subtype),
        )


def resampled_length(frames: int, orig_sr: float, target_sr: float) -> int:
    """Frames after resampling, as librosa.resample (fix=True) returns them."""
    if orig_sr == target_sr:
        return int(frames)
    return int(math.ceil(frames * float(target_sr) / orig_sr))


def load(
    file: Source,
    *,
    sr: float | None = None,
    mono: bool = True,
    dtype: Any = np.float32,
) -> tuple[np.ndarray, int]:
    """Decode a whole file to float samples: (N,) if mono, else (C, N).

    ``sr=None`` keeps the native rate; otherwise resamples with soxr HQ
    through librosa (same result as ``librosa.load(..., res_type="soxr_hq")``).
    """
    with _open(file) as f:
        native_sr = int(f.samplerate)
        y = f.read(dtype=_read_dtype(dtype), always_2d=True).T  # (C, N)
    y = _mix(y, mono)
    if sr is not None and sr != native_sr:
        y = librosa.resample(y, orig_sr=native_sr, target_sr=sr, res_type="soxr_hq")
        out_sr = int(sr)
    else:
        out_sr = native_sr
    return np.ascontiguousarray(y, dtype=dtype), out_sr


def iter_blocks(
    file: Source,
    *,
    block_frames: int,
    overlap: int = 0,
    sr: float | None = None,
    mono: bool = True,
    dtype: Any = np.float32,
    native_tap: Callable[[np.ndarray], None] | None = None,
) -> Iterator[np.ndarray]:
    """Yield blocks of ``block_frames`` samples (last one shorter), bounded memory.

    Consecutive blocks share ``overlap`` samples, like ``soundfile.blocks``.
    Blocks are (n,) if mono else (C, n), at ``sr`` (resampled in a stream with
    soxr HQ; concatenated output equals :func:`load` with the same ``sr``).
    ``native_tap``, if given, is called with every piece of the file as decoded: (C, n) floats (float32 unless
    ``dtype`` is float64) at the file's own rate and channels, before any mixing or resampling, so a measurement
    of the source shares this decoding.
    """
    if block_frames <= 0 or not 0 <= overlap < block_frames:
        raise ValueError("need block_frames > 0 and 0 <= overlap < block_frames")
    chunks = _iter_chunks(file, sr=sr, mono=mono, dtype=dtype, hint=block_frames, native_tap=native_tap)
    step = block_frames - overlap
    buf: np.ndarray | None = None
    emitted_any = False
    for chunk in chunks:
        buf = chunk if buf is None else np.concatenate([buf, chunk], axis=-1)
        while buf.shape[-1] >= block_frames:
            yield np.ascontiguousarray(buf[..., :block_frames])
            emitted_any = True
            buf = buf[..., step:]
    # The tail holds new samples only if it is longer than the shared overlap
    # (or nothing was yielded yet, e.g. a file shorter than one block).
    if buf is not None and (buf.shape[-1] > overlap or (not emitted_any and buf.shape[-1])):
        yield np.ascontiguousarray(buf)


def _iter_chunks(
    file: Source,
    *,
    sr: float | None,
    mono: bool,
    dtype: Any,
    hint: int,
    native_tap: Callable[[np.ndarray], None] | None = None,
) -> Iterator[np.ndarray]:
    """Yield non-overlapping chunks of variable length at the target rate."""
    with _open(file) as f:
        native_sr = int(f.samplerate)
        channels = 1 if mono else int(f.channels)
        total = int(f.frames)
        resample = sr is not None and sr != native_sr
        if not resample:
            for block in f.blocks(blocksize=max(hint, 1024), dtype=_read_dtype(dtype), always_2d=True):
                if native_tap is not None:
                    native_tap(block.T)
                yield _mix(block.T, mono).astype(dtype, copy=False)
            return
        # Streamed soxr output equals one-shot soxr.resample sample for
        # sample; librosa then pads/trims to ceil(n * ratio), so do the same.
        want = resampled_length(total, native_sr, sr)
        stream = soxr.ResampleStream(native_sr, sr, channels, dtype="float32", quality=_SOXR_QUALITY)
        read_size = max(1024, int(hint * native_sr / sr) + 1)
        done = 0
        remaining = total
        while True:
            block = f.read(read_size, dtype="float32", always_2d=True)
            if native_tap is not None and block.shape[0]:
                native_tap(block.T)
            remaining -= block.shape[0]
            last = block.shape[0] < read_size or remaining <= 0
            x = _mix(block.T, mono).reshape(channels, -1).T  # soxr wants (n, C)
            out = stream.resample_chunk(np.ascontiguousarray(x), last=last)
            out = out.T[:, : max(0, want - done)]
            done += out.shape[1]
            if out.shape[1]:
                yield _shape(out, mono).astype(dtype, copy=False)
            if last:
                break
        if done < want:
            yield np.zeros((want - done,) if mono else (channels, want - done), dtype=dtype)


def _mix(y: np.ndarray, mono: bool) -> np.ndarray:
    """(C, N) -> (N,) mean over channels (librosa.to_mono) or keep (C, N)."""
    if mono:
        return y[0] if y.shape[0] == 1 else np.mean(y, axis=0)
    return y


def _shape(y: np.ndarray, mono: bool) -> np.ndarray:
    return y[0] if mono else y


def _read_dtype(dtype: Any) -> str:
    # libsndfile decodes straight to float32/float64; other float types are cast.
    return "float64" if np.dtype(dtype) == np.float64 else "float32"


class _open:
    """Open a path or file-like (or pass a SoundFile through) as a context."""

    def __init__(self, file: Source):
        self._file = file
        self._owned = not isinstance(file, sf.SoundFile)

    def __enter__(self) -> sf.SoundFile:
        if not self._owned:
            return self._file
        self._sf = sf.SoundFile(self._file, "r")
        return self._sf

    def __exit__(self, *exc: object) -> None:
        if self._owned:
            self._sf.close()


def _is_file_like(obj: object) -> bool:
    return hasattr(obj, "read") and hasattr(obj, "seek")


def is_audio_source(obj: object) -> bool:
    """True for things :func:`iter_blocks` can open (path, file-like, SoundFile)."""
    return isinstance(obj, (str, os.PathLike, sf.SoundFile)) or _is_file_like(obj)
