"""Block-wise features for long files, with memory bounded by the block size.

Samples arrive in blocks; frames that straddle a block edge are completed
from a small carry buffer, and the centre padding is added only at the true
start and end of the signal, so the frames are exactly those of the
whole-file STFT. The one whole-signal step, the ``top_db`` clip (it needs the
global maximum), runs after the last block; the MFCC (computed from the
clipped log-mel) and its deltas follow it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .features import (
    DEFAULT_KINDS,
    FeatureParams,
    Features,
    _check_kinds,
    _dct_basis,
    _delta,
    _Engine,
    _finish,
    _frame_view,
)
from .io import info, is_audio_source, iter_blocks, resampled_length

__all__ = ["DEFAULT_BLOCK_FRAMES", "iter_feature_blocks", "stream_features", "NpyFrameWriter"]

# ~6 s at 44.1 kHz: a few MB of samples and feature rows per block.
DEFAULT_BLOCK_FRAMES = 1 << 18


class _FrameStream:
    """Turn sample blocks into the whole-signal STFT frames, in order."""

    def __init__(self, params: FeatureParams, dtype: np.dtype):
        self.p = params
        self.dtype = dtype
        self.buf: np.ndarray | None = None
        self.lead: tuple[int, ...] | None = None

    def push(self, block: np.ndarray) -> np.ndarray | None:
        block = np.asarray(block)
        if block.ndim not in (1, 2):
            raise ValueError("blocks must be (n,) or (channels, n)")
        if self.lead is None:
            self.lead = block.shape[:-1]
            # Centre padding exists only before the first real sample.
            self.buf = np.zeros((int(np.prod(self.lead, dtype=int)), self.p.pad), dtype=self.dtype)
        elif block.shape[:-1] != self.lead:
            raise ValueError(f"block shape {block.shape} does not match earlier blocks {self.lead}")
        flat = block.reshape(-1, block.shape[-1]).astype(self.dtype, copy=False)
        self.buf = np.concatenate([self.buf, flat], axis=-1)
        return self._take()

    def finish(self) -> np.ndarray | None:
        if self.buf is None:
            return None
        self.buf = np.concatenate([self.buf, np.zeros((self.buf.shape[0], self.p.pad), self.dtype)], axis=-1)
        return self._take()

    def _take(self) -> np.ndarray | None:
        n_fft, hop = self.p.n_fft, self.p.hop_length
        length = self.buf.shape[-1]
        n = 0 if length < n_fft else 1 + (length - n_fft) // hop
        if n == 0:
            return None
        frames = _frame_view(self.buf, n_fft, hop, n)
        # Keep only what later frames still need; `frames` keeps its own base.
        self.buf = self.buf[:, n * hop :]
        return frames


def _blocks(source: Any, params: FeatureParams, block_frames: int, mono: bool) -> Iterable[np.ndarray]:
    if is_audio_source(source):
        return iter_blocks(source, block_frames=block_frames, sr=params.sr, mono=mono, dtype=params.dtype)
    return source


def _raw_stream(
    source: Any, params: FeatureParams, kinds: tuple[str, ...], block_frames: int, mono: bool
) -> Iterator[tuple[_Engine, tuple[int, ...], dict[str, np.ndarray]]]:
    """Yield (engine, lead shape, {raw kind: (B, t, d)}) per block, unclipped."""
    engine = _Engine(params, kinds, tuning=params.tuning)
    frames = _FrameStream(params, np.dtype(params.dtype))
    for block in _blocks(source, params, block_frames, mono):
        fr = frames.push(block)
        if fr is not None:
            yield engine, frames.lead, engine.process(fr)
    fr = frames.finish()
    if fr is not None:
        yield engine, frames.lead, engine.process(fr)


def iter_feature_blocks(
    source: Any,
    params: FeatureParams,
    kinds: Iterable[str] = ("mel",),
    *,
    block_frames: int = DEFAULT_BLOCK_FRAMES,
    mono: bool = True,
) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """Yield ``(first_frame, {kind: (..., d, t)})`` column blocks, in order.

    ``source`` is a path/file-like (read with :func:`io.iter_blocks` at
    ``params.sr``) or an iterable of (n,) / (C, n) sample blocks at ``params.sr``.
    Values are final for ``mel`` and ``chroma``; dB kinds and ``mfcc`` are NOT
    top_db-clipped (that needs the whole file: use :func:`stream_features`).
    With ``tuning=None``, tuning is estimated from the first block.
    """
    kinds = _check_kinds(kinds)
    start = 0
    for _engine, lead, raw in _raw_stream(source, params, kinds, block_frames, mono):
        t = next(iter(raw.values())).shape[1]
        out = {}
        for kind in kinds:
            if kind == "mfcc":
                a = np.matmul(raw["logmel"], _dct_basis(params.n_mels, params.n_mfcc, params.dtype))
            elif kind == "mel_db":
                a = raw["logmel"]
            else:
                a = raw[kind]
            a = np.swapaxes(a, -1, -2)
            out[kind] = a.reshape(lead + a.shape[1:]) if lead else a[0]
        yield start, out
        start += t


def stream_features(
    source: Any,
    params: FeatureParams,
    kinds: Iterable[str] = DEFAULT_KINDS,
    *,
    block_frames: int = DEFAULT_BLOCK_FRAMES,
    mono: bool = True,
    out_dir: str | os.PathLike | None = None,
) -> Features:
    """Whole-file features computed block by block; equal to :func:`compute_features`.

    Without ``out_dir`` the results are accumulated in RAM (only they are).
    With ``out_dir`` each kind is written frame by frame to
    ``out_dir/<kind>.npy`` and returned as a read-only memmap, so peak memory
    depends on the block size alone. With ``tuning=None``, tuning is
    estimated from the first block (pass it explicitly for exact agreement).
    """
    kinds = _check_kinds(kinds)
    if out_dir is not None:
        return _stream_to_files(source, params, kinds, block_frames, mono, Path(out_dir))
    capacity = _expected_frames(source, params)
    sinks: dict[str, _GrowingArray] = {}
    engine, lead = None, ()
    for engine, lead, raw in _raw_stream(source, params, kinds, block_frames, mono):  # noqa: B007 (read after the loop)
        for k, a in raw.items():
            if k not in sinks:
                sinks[k] = _GrowingArray(a.shape[0], a.shape[2], a.dtype, capacity)
            sinks[k].append(a)
    if engine is None:
        raise ValueError(f"signal is shorter than n_fft={params.n_fft}; no frames")
    raw = {k: s.array() for k, s in sinks.items()}
    return _finish(raw, params, kinds, engine.tuning, lead)


def _expected_frames(source: Any, params: FeatureParams) -> int | None:
    """Frame count known from the header (lets the RAM sink allocate once)."""
    if not is_audio_source(source):
        return None
    try:
        pos = source.tell() if hasattr(source, "tell") else None
        meta = info(source)
        if pos is not None:
            source.seek(pos)
    except Exception:  # an unseekable stream: fall back to growing
        return None
    return params.n_frames(resampled_length(meta.frames, meta.sample_rate, params.sr))


class _GrowingArray:
    """(B, T, d) buffer appended along T; allocated once when T is known."""

    def __init__(self, batch: int, dim: int, dtype: np.dtype, capacity: int | None):
        self.buf = np.empty((batch, max(capacity or 0, 256), dim), dtype=dtype)
        self.n = 0

    def append(self, a: np.ndarray) -> None:
        t = a.shape[1]
        if self.n + t > self.buf.shape[1]:
            grown = np.empty(
                (self.buf.shape[0], max(self.n + t, int(self.buf.shape[1] * 1.5)), self.buf.shape[2]), self.buf.dtype
            )
            grown[:, : self.n] = self.buf[:, : self.n]
            self.buf = grown
        self.buf[:, self.n : self.n + t] = a
        self.n += t

    def array(self) -> np.ndarray:
        return self.buf[:, : self.n]


# --- writing to .npy without holding the output ------------------------------


class NpyFrameWriter:
    """Append frames to a ``.npy`` holding an (…, d, T) Fortran-order array.

    Fortran order makes each frame contiguous on disk, so frames can be
    appended as they are computed; the header (fixed size) gets the final
    frame count on close. ``numpy.load`` reads the file as usual.
    """

    HEADER_BYTES = 256  # multiple of 64, room for any realistic shape

    def __init__(self, path: str | os.PathLike, frame_shape: tuple[int, ...], dtype: Any):
        self.path = Path(path)
        self.frame_shape = tuple(frame_shape)  # C-order shape of one frame
        self.dtype = np.dtype(dtype)
        self.n = 0
        self._f = open(self.path, "wb+")
        self._f.write(self._header(0))

    def _header(self, n: int) -> bytes:
        shape = tuple(reversed(self.frame_shape)) + (n,)
        d = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": True, "shape": shape}
        text = repr(d).encode("latin1")
        room = self.HEADER_BYTES - 10 - 1
        if len(text) > room:
            raise ValueError("shape too large for the fixed .npy header")
        return b"\x93NUMPY\x01\x00" + (room + 1).to_bytes(2, "little") + text.ljust(room) + b"\n"

    def append(self, frames: np.ndarray) -> None:
        """Write (t, *frame_shape) frames."""
        frames = np.ascontiguousarray(frames, dtype=self.dtype)
        if frames.shape[1:] != self.frame_shape:
            raise ValueError(f"frames of shape {frames.shape[1:]}, expected {self.frame_shape}")
        self._f.write(memoryview(frames).cast("B"))
        self.n += frames.shape[0]

    def close(self) -> None:
        if self._f.closed:
            return
        self._f.seek(0)
        self._f.write(self._header(self.n))
        self._f.close()

    @property
    def frame_items(self) -> int:
        return int(np.prod(self.frame_shape, dtype=int))


def _frames_of(raw: np.ndarray) -> np.ndarray:
    """(B, t, d) -> (t, d) for B == 1 else (t, d, B): a frame as it sits on disk."""
    return raw[0] if raw.shape[0] == 1 else np.ascontiguousarray(np.transpose(raw, (1, 2, 0)))


def _iter_file_frames(
    path: Path,
    frame_shape: tuple[int, ...],
    dtype: np.dtype,
    n: int,
    chunk: int,
    start: int = 0,
    stop: int | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Read frames [start, stop) of a writer's file in chunks, with plain reads (no mmap, no RSS growth)."""
    items = int(np.prod(frame_shape, dtype=int))
    stop = n if stop is None else stop
    with open(path, "rb") as f:
        for a in range(start, stop, chunk):
            b = min(stop, a + chunk)
            f.seek(NpyFrameWriter.HEADER_BYTES + a * items * dtype.itemsize)
            data = np.fromfile(f, dtype=dtype, count=(b - a) * items)
            yield a, data.reshape((b - a,) + frame_shape)


def _stream_to_files(
    source: Any, params: FeatureParams, kinds: tuple[str, ...], block_frames: int, mono: bool, out_dir: Path
) -> Features:
    out_dir.mkdir(parents=True, exist_ok=True)
    dtype = np.dtype(params.dtype)
    writers: dict[str, NpyFrameWriter] = {}
    peaks = {"spectrogram": -np.inf, "logmel": -np.inf}
    engine = None
    # logmel is a temporary unless mel_db was asked for.
    names = {
        "spectrogram": "spectrogram",
        "mel": "mel",
        "chroma": "chroma",
        "logmel": "mel_db" if "mel_db" in kinds else ".logmel.tmp",
    }
    try:
        for engine, _lead, raw in _raw_stream(source, params, kinds, block_frames, mono):  # noqa: B007 (read after)
            for k, a in raw.items():
                frames = _frames_of(a)
                if k not in writers:
                    writers[k] = NpyFrameWriter(out_dir / f"{names[k]}.npy", frames.shape[1:], dtype)
                writers[k].append(frames)
                if k in peaks and a.size:
                    peaks[k] = max(peaks[k], float(a.max()))
    finally:
        for w in writers.values():
            w.close()
    if engine is None:
        raise ValueError(f"signal is shorter than n_fft={params.n_fft}; no frames")

    for k in ("spectrogram", "logmel"):
        if k in writers and params.top_db is not None:
            _clip_file(writers[k], peaks[k] - params.top_db, _chunk_frames(writers[k]))
    if "mfcc" in kinds:
        dct = _dct_basis(params.n_mels, params.n_mfcc, params.dtype)
        lm = writers["logmel"]
        mfcc = NpyFrameWriter(out_dir / "mfcc.npy", (params.n_mfcc,) + lm.frame_shape[1:], dtype)
        try:
            for _, fr in _iter_file_frames(lm.path, lm.frame_shape, dtype, lm.n, _chunk_frames(lm)):
                # (t, n_mels[, B]) -> (t, n_mfcc[, B])
                mfcc.append(np.einsum("tmb,mc->tcb", fr, dct) if fr.ndim == 3 else fr @ dct)
        finally:
            mfcc.close()
        if params.mfcc_deltas:
            for order, name in ((1, "mfcc_delta"), (2, "mfcc_delta2")):
                _delta_file(mfcc, out_dir / f"{name}.npy", order, _chunk_frames(mfcc))
    if "logmel" in writers and "mel_db" not in kinds:
        os.unlink(writers["logmel"].path)

    out = {}
    for kind in kinds:
        out[kind] = np.load(out_dir / f"{kind}.npy", mmap_mode="r")
        if kind == "mfcc" and params.mfcc_deltas:
            for name in ("mfcc_delta", "mfcc_delta2"):
                out[name] = np.load(out_dir / f"{name}.npy", mmap_mode="r")
    return Features(out, params=params, tuning=engine.tuning if "chroma" in kinds else params.tuning)


# The passes after the last block read the files back ~2 MB at a time.
_FILE_CHUNK_BYTES = 1 << 21


def _chunk_frames(w: NpyFrameWriter) -> int:
    return max(16, _FILE_CHUNK_BYTES // (w.frame_items * w.dtype.itemsize))


def _clip_file(w: NpyFrameWriter, floor: float, chunk: int) -> None:
    """Apply the top_db floor in place, chunk by chunk."""
    with open(w.path, "r+b") as f:
        for a, fr in _iter_file_frames(w.path, w.frame_shape, w.dtype, w.n, chunk):
            np.maximum(fr, floor, out=fr)
            f.seek(NpyFrameWriter.HEADER_BYTES + a * w.frame_items * w.dtype.itemsize)
            f.write(memoryview(np.ascontiguousarray(fr)).cast("B"))


def _delta_file(src: NpyFrameWriter, path: Path, order: int, chunk: int) -> None:
    """librosa.feature.delta over a file, chunked with margins so it equals the whole-array result."""
    n, half = src.n, 4  # width 9
    out = NpyFrameWriter(path, src.frame_shape, src.dtype)
    try:
        for a in range(0, n, chunk):
            b = min(n, a + chunk)
            # Interior points only see +-4 neighbours; the first/last 4 are fitted
            # over the first/last 9 frames, so take at least those at the edges.
            lo, hi = max(0, min(a - half, n - 2 * half - 1)), min(n, max(b + half, 2 * half + 1))
            ((_, fr),) = _iter_file_frames(src.path, src.frame_shape, src.dtype, n, hi - lo, lo, hi)
            d = _delta(np.moveaxis(fr, 0, -1), order)  # (d[, B], t)
            out.append(np.moveaxis(d, -1, 0)[a - lo : b - lo])
    finally:
        out.close()
