"""One streaming pass over a long recording for everything derived from its STFT.

From each block of samples the STFT power is computed once; from it come the feature arrays (written as
chunked half-precision files, :mod:`.chunked`), the spectrogram tiles' mel columns (a second filterbank on
the same power, when the recipe is mono) and max-pooled columns for the two preview pictures. Memory is
one block of samples and frames, the tiles' pending columns and the pooled preview (a few thousand
columns), whatever the recording's length; only MFCC (and its deltas) need a second, cheap pass over the
clipped log-mel, kept in a temporary float32 file meanwhile.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .chunked import ChunkedWriter
from .features import FeatureParams, _dct_basis, _Engine
from .images import SpectrogramTiles
from .io import iter_blocks
from .streaming import DEFAULT_BLOCK_FRAMES, NpyFrameWriter, _chunk_frames, _delta_file, _FrameStream, _iter_file_frames

__all__ = ["FEATURE_STORES", "LongformResult", "stream_artifacts"]

# How each kind is kept on disk (see chunked.py): mel is power (a wide range), the rest are dB-like.
FEATURE_STORES = {"mel": "bfloat16"}
FEATURE_EXT = "feat"


@dataclass
class LongformResult:
    files: dict[str, Path] = field(default_factory=dict)  # kind -> chunked file
    shapes: dict[str, list[int]] = field(default_factory=dict)
    tuning: float | None = None
    frames: int = 0
    # Max-pooled preview columns: (rows, columns) and the pooling factor.
    preview_mel: np.ndarray | None = None
    preview_spectrogram: np.ndarray | None = None
    preview_pool: int = 1


class _Pool:
    """Max over consecutive groups of ``factor`` frames, streamed. Frame-major: a block is ``(t, rows)`` as the engine
    makes it, so each group's max runs over contiguous rows (transposed views cost 3x more); the result is
    ``(rows, columns)``."""

    def __init__(self, factor: int):
        self.factor, self.parts, self.carry = factor, [], None

    def push(self, a: np.ndarray) -> None:  # a: (t, rows)
        if self.carry is not None:
            a = np.concatenate([self.carry, a], axis=0)
        full = a.shape[0] // self.factor * self.factor
        if full:
            self.parts.append(a[:full].reshape(-1, self.factor, a.shape[1]).max(axis=1))
        self.carry = a[full:].copy() if full < a.shape[0] else None

    def result(self) -> np.ndarray | None:
        if self.carry is not None and self.carry.shape[0]:
            self.parts.append(self.carry.max(axis=0, keepdims=True))
            self.carry = None
        return np.ascontiguousarray(np.concatenate(self.parts, axis=0).T) if self.parts else None


def stream_artifacts(
    source: Any,
    params: FeatureParams,
    kinds: tuple[str, ...],
    *,
    out_dir: str | os.PathLike,
    mono: bool = True,
    expected_frames: int | None = None,
    tiles: SpectrogramTiles | None = None,
    preview_columns: int | None = 2000,
    block_frames: int = DEFAULT_BLOCK_FRAMES,
    result: LongformResult | None = None,
    taps: Sequence[Callable[[np.ndarray], None]] = (),
) -> Iterator[tuple[int, int, bytes]]:
    """Stream ``source`` (a path or file at ``params.sr``) once; yields ``(level, index, png)`` tiles as they
    complete and fills ``result`` with the chunked feature files (``out_dir/<kind>.feat``) and previews.

    ``kinds`` are feature kinds (spectrogram, mel, mfcc, chroma); ``tiles`` (from
    :func:`images.spectrogram_tiles` with the same STFT settings) is only honoured for mono input;
    ``expected_frames`` (the frame count) sets the preview pooling so it needs no second pass. Each of
    ``taps`` is called with every block of samples as read (``(n,)`` mono, else ``(C, n)``), so other
    block-wise measurements (voiced segments, peaks) share this pass's decoding.
    """
    res = result if result is not None else LongformResult()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    want_mfcc = "mfcc" in kinds
    need = tuple(k for k in kinds if k != "mfcc") + (("mel_db",) if want_mfcc else ())
    previews = preview_columns is not None and expected_frames
    if previews:
        need = tuple(dict.fromkeys(need + ("spectrogram", "mel")))
    engine = _Engine(params, need, tuning=params.tuning)
    tile_engine = None
    if tiles is not None and mono:
        tp = tiles.params
        if (tp.n_fft, tp.hop_length, tp.win_length, tp.window, tp.center) != (
            params.n_fft,
            params.hop_length,
            params.win_length,
            params.window,
            params.center,
        ):
            raise ValueError("tiles must share the features' STFT settings")
        tile_engine = _Engine(tp, ("mel",), tuning=0.0)
    factor = max(1, -(-int(expected_frames or 1) // preview_columns)) if previews else 1
    pools = {"mel": _Pool(factor), "spectrogram": _Pool(factor)} if previews else {}
    writers: dict[str, ChunkedWriter] = {}
    files = {}
    logmel: NpyFrameWriter | None = None
    peaks = {"spectrogram": -np.inf, "logmel": -np.inf}
    frames_stream = _FrameStream(params, np.dtype(params.dtype))
    start = 0

    def writer(kind: str) -> ChunkedWriter:
        if kind not in writers:
            files[kind] = open(out / f"{kind}.{FEATURE_EXT}", "wb")
            writers[kind] = ChunkedWriter(files[kind], store=FEATURE_STORES.get(kind, "float16"))
        return writers[kind]

    def consume(fr: np.ndarray) -> Iterator[tuple[int, int, bytes]]:
        nonlocal start, logmel
        B, T, _ = fr.shape
        tile_mel = np.empty((T, tile_engine.params.n_mels), engine.dtype) if tile_engine is not None else None

        def tile_tap(b: int, s: int, e: int, power: np.ndarray) -> None:
            # The tiles' mel rows from the features' own power, before the engine turns it into dB in place.
            assert tile_engine is not None and tile_mel is not None  # only passed with both
            if b == 0:
                tile_engine._derive(power, {"mel": tile_mel[s:e]})

        # The same engine pass as compute_features (power into the spectrogram's rows, the log-mel and chroma
        # once per block); on the first block it also estimates the tuning when asked, as stream_features does.
        raw = engine.process(fr, tap=tile_tap if tile_mel is not None else None)
        for k, a in raw.items():
            if k in peaks and a.size:
                peaks[k] = max(peaks[k], float(a.max()))
            if k == "logmel":
                if logmel is None:
                    logmel = NpyFrameWriter(
                        out / ".logmel.tmp", a.shape[2:] if B == 1 else (a.shape[2], B), engine.dtype
                    )
                logmel.append(a[0] if B == 1 else np.ascontiguousarray(np.transpose(a, (1, 2, 0))))
            elif k in kinds:
                writer(k).append(_librosa_layout(a, mono))
            if k in pools:
                pools[k].push(a[0])
        if tile_mel is not None:
            yield from tile_iter.push(start, tile_mel.T)
        start += T

    tile_iter = tiles.feed() if tile_engine is not None else None
    try:
        for block in iter_blocks(source, block_frames=block_frames, sr=params.sr, mono=mono, dtype=params.dtype):
            for tap in taps:
                tap(block)
            fr = frames_stream.push(block)
            if fr is not None:
                yield from consume(fr)
        fr = frames_stream.finish()
        if fr is not None:
            yield from consume(fr)
        if tile_iter is not None:
            yield from tile_iter.finish()
        if start == 0:
            raise ValueError(f"signal is shorter than n_fft={params.n_fft}; no frames")
        top = params.top_db
        for k, w in writers.items():
            floor = peaks["spectrogram"] - top if k == "spectrogram" and top is not None else None
            res.shapes[k] = w.close(floor=floor)["shape"]
            files[k].close()
            res.files[k] = out / f"{k}.{FEATURE_EXT}"
        if want_mfcc:
            logmel.close()
            _mfcc_files(logmel, params, None if top is None else peaks["logmel"] - top, out, mono, res)
    finally:
        for f in files.values():
            f.close()
        if logmel is not None:
            logmel.close()
            Path(logmel.path).unlink(missing_ok=True)
    res.frames = start
    res.tuning = engine.tuning if "chroma" in kinds else params.tuning
    if pools:
        res.preview_pool = factor
        res.preview_mel = pools["mel"].result()
        spec = pools["spectrogram"].result()
        if spec is not None and params.top_db is not None:
            np.maximum(spec, peaks["spectrogram"] - params.top_db, out=spec)
        res.preview_spectrogram = spec


def _librosa_layout(raw: np.ndarray, mono: bool) -> np.ndarray:
    """(B, t, d) -> (d, t) for mono, (B, d, t) otherwise."""
    a = np.swapaxes(raw, 1, 2)
    return a[0] if mono and a.shape[0] == 1 else a


def _mfcc_files(
    logmel: NpyFrameWriter, params: FeatureParams, floor: float | None, out: Path, mono: bool, res: LongformResult
) -> None:
    """MFCC (and deltas) from the clipped log-mel, chunk by chunk, into chunked files."""
    dct = _dct_basis(params.n_mels, params.n_mfcc, params.dtype)
    tmp = NpyFrameWriter(out / ".mfcc.tmp", (params.n_mfcc,) + logmel.frame_shape[1:], logmel.dtype)
    try:
        for _, fr in _iter_file_frames(logmel.path, logmel.frame_shape, logmel.dtype, logmel.n, _chunk_frames(logmel)):
            if floor is not None:
                np.maximum(fr, floor, out=fr)
            tmp.append(np.einsum("tmb,mc->tcb", fr, dct) if fr.ndim == 3 else fr @ dct)
    finally:
        tmp.close()
    sources = {"mfcc": tmp}
    if params.mfcc_deltas:
        for order, name in ((1, "mfcc_delta"), (2, "mfcc_delta2")):
            _delta_file(tmp, out / f".{name}.tmp", order, _chunk_frames(tmp))
            sources[name] = NpyFrameWriter.__new__(NpyFrameWriter)
            sources[name].path, sources[name].frame_shape, sources[name].dtype, sources[name].n = (
                out / f".{name}.tmp",
                tmp.frame_shape,
                tmp.dtype,
                tmp.n,
            )
    for kind, src in sources.items():
        path = out / f"{kind}.{FEATURE_EXT}"
        with open(path, "wb") as fh:
            w = ChunkedWriter(fh, store="float16")
            for _, fr in _iter_file_frames(src.path, src.frame_shape, src.dtype, src.n, _chunk_frames(tmp)):
                # on disk (t, d) or (t, d, B) -> (d, t) or (B, d, t)
                w.append(fr.T if fr.ndim == 2 else np.transpose(fr, (2, 1, 0)))
            res.shapes[kind] = w.close(lead=(params.n_mfcc,) if mono else None)["shape"]
        res.files[kind] = path
        Path(src.path).unlink(missing_ok=True)
