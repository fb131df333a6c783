"""Spectrogram pictures: one labelled preview PNG, and seamless tiles for the annotator.

Tiles follow docs/annotator-api.md: per level, tile ``i`` covers
``[i * seconds_per_tile, (i + 1) * seconds_per_tile)``, ``tile_width`` columns
by ``height`` mel rows between fmin and fmax, low frequencies at the bottom.
Every tile uses the same colormap and the same fixed dB range (relative to a
full-scale sine), so neighbouring tiles join without seams; columns past the
end of the audio are transparent.
"""

from __future__ import annotations

import io
import math
import zlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from .features import FeatureParams, _mel_basis, _window, compute_features
from .io import info, is_audio_source, resampled_length
from .streaming import DEFAULT_BLOCK_FRAMES, iter_feature_blocks

__all__ = [
    "DEFAULT_TILE_LEVELS",
    "SpectrogramTiles",
    "spectrogram_figure",
    "spectrogram_png",
    "spectrogram_tiles",
    "tile_index",
]

DEFAULT_TILE_LEVELS = (10.0, 60.0, 600.0)
_TRANSPARENT = 255  # palette index for "no audio here"


def _pyplot_free_matplotlib() -> Any:
    """Import matplotlib for off-screen rendering and return librosa.display."""
    import matplotlib

    # librosa.display imports pyplot, which would pick a GUI backend if one
    # is installed; workers have no display, so pin Agg before that import.
    matplotlib.use("Agg")
    import librosa.display

    return librosa.display


def spectrogram_figure(
    y_or_S: np.ndarray,
    params: FeatureParams,
    *,
    mel: bool = True,
    title: str | None = None,
    size: tuple[float, float] = (10.0, 4.0),
    dpi: int = 100,
    cmap: str = "magma",
) -> Any:
    """A matplotlib ``Figure`` (no pyplot state) with time/frequency axes and a dB colour bar.

    ``y_or_S`` is a mono waveform (1-D, at ``params.sr``) or an already
    computed dB spectrogram (2-D: mel rows if ``mel`` else STFT bins).
    """
    display = _pyplot_free_matplotlib()
    from matplotlib.figure import Figure

    data = np.asarray(y_or_S)
    if data.ndim == 1:
        kind = "mel_db" if mel else "spectrogram"
        S_db = compute_features(data, params, (kind,))[kind]
    elif data.ndim == 2:
        S_db = data
    else:
        raise ValueError("pass a 1-D waveform or a 2-D dB spectrogram")

    fig = Figure(figsize=size, dpi=dpi, layout="constrained")
    ax = fig.add_subplot()
    img = display.specshow(
        np.asarray(S_db),
        ax=ax,
        sr=params.sr,
        hop_length=params.hop_length,
        n_fft=params.n_fft,
        win_length=params.win_length,
        x_axis="time",
        y_axis="mel" if mel else "hz",
        fmin=params.fmin if mel else None,
        fmax=params.fmax if mel else None,
        cmap=cmap,
    )
    ax.set_xlabel("Time (s)")
    ax.set_ylabel("Frequency (Hz, mel scale)" if mel else "Frequency (Hz)")
    fig.colorbar(img, ax=ax, format="%+2.0f dB", label="Power (dB)")
    ax.set_title(title or ("Mel spectrogram" if mel else "Spectrogram"))
    return fig


def spectrogram_png(
    y_or_S: np.ndarray,
    params: FeatureParams,
    *,
    mel: bool = True,
    title: str | None = None,
    size: tuple[float, float] = (10.0, 4.0),
    dpi: int = 100,
    cmap: str = "magma",
) -> bytes:
    """:func:`spectrogram_figure` rendered to PNG bytes (Agg)."""
    fig = spectrogram_figure(y_or_S, params, mel=mel, title=title, size=size, dpi=dpi, cmap=cmap)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def tile_index(
    duration: float,
    *,
    sr: int,
    seconds_per_tile_levels: Sequence[float] = DEFAULT_TILE_LEVELS,
    tile_width: int = 512,
    height: int = 128,
    fmin: float = 0.0,
    fmax: float | None = None,
) -> dict[str, Any]:
    """The tiles' JSON index, shaped as in docs/annotator-api.md."""
    fmax = sr / 2 if fmax is None else fmax
    levels = []
    for level, spt in enumerate(seconds_per_tile_levels):
        levels.append(
            {
                "level": level,
                "seconds_per_tile": float(spt),
                "tile_width": int(tile_width),
                "height": int(height),
                "count": int(math.ceil(duration / spt)) if duration > 0 else 0,
                "fmin": _num(fmin),
                "fmax": _num(fmax),
                "mel": True,
            }
        )
    return {"levels": levels, "duration": float(duration)}


def _num(x: float) -> int | float:
    return int(x) if float(x).is_integer() else float(x)


class SpectrogramTiles:
    """``index`` (the JSON dict) and iteration over ``(level, index, png_bytes)``.

    Tiles come out as soon as they are complete (finer levels first), from
    one block-wise pass over the audio; memory is one block plus one tile
    per level.
    """

    def __init__(
        self,
        source: Any,
        params: FeatureParams,
        duration: float,
        levels: Sequence[float],
        tile_width: int,
        height: int,
        db_range: tuple[float, float],
        cmap: str,
        block_frames: int,
    ):
        self.params = params
        self.index = tile_index(
            duration,
            sr=params.sr,
            seconds_per_tile_levels=levels,
            tile_width=tile_width,
            height=height,
            fmin=params.fmin,
            fmax=params.fmax,
        )
        self._source = source
        self._start = source.tell() if is_audio_source(source) and hasattr(source, "tell") else None
        self._duration = duration
        self._db_range = db_range
        self._palette = _palette(cmap)
        self._block_frames = block_frames

    def __iter__(self) -> Iterator[tuple[int, int, bytes]]:
        if self._start is not None:
            self._source.seek(self._start)
        source = self._source if is_audio_source(self._source) else [np.asarray(self._source)]
        blocks = iter_feature_blocks(source, self.params, ("mel",), block_frames=self._block_frames)
        yield from self.from_mel_blocks((start, feats["mel"]) for start, feats in blocks)

    def from_mel_blocks(self, blocks: Iterable[tuple[int, np.ndarray]]) -> Iterator[tuple[int, int, bytes]]:
        """Tiles from ``(first_frame, mel power (height, t))`` blocks computed elsewhere with ``self.params``
        (e.g. from the power spectrogram a feature pass already has), in order."""
        feed = self.feed()
        for start, mel in blocks:
            yield from feed.push(start, mel)
        yield from feed.finish()

    def feed(self) -> TileFeed:
        """A push-style tiler: ``push(first_frame, mel)`` and ``finish()`` each yield finished tiles."""
        return TileFeed(self)


class TileFeed:
    """Tiles from mel blocks pushed one at a time (see SpectrogramTiles.feed)."""

    def __init__(self, tiles: SpectrogramTiles):
        p = tiles.params
        self._range, self._palette = tiles._db_range, tiles._palette
        self._ref_db = _full_scale_db(p)
        self._levels = [_LevelTiler(lvl, p, tiles._duration) for lvl in tiles.index["levels"]]
        self._n_frames = 0

    def _render(self, cols: np.ndarray) -> bytes:
        # cols: (height, w) mel power, NaN where there is no audio
        lo_db, hi_db = self._range
        with np.errstate(invalid="ignore", divide="ignore"):
            db = 10.0 * np.log10(np.maximum(cols, 1e-10)) - self._ref_db
        scaled = np.clip((db - lo_db) / (hi_db - lo_db) * 254.0, 0.0, 254.0)
        idx = np.where(np.isnan(cols), _TRANSPARENT, np.rint(np.nan_to_num(scaled))).astype(np.uint8)
        return _png(idx[::-1], self._palette)  # row 0 is the top: highest band

    def push(self, start: int, mel: np.ndarray) -> Iterator[tuple[int, int, bytes]]:
        self._n_frames = start + mel.shape[1]
        for tiler in self._levels:
            for index, cols in tiler.push(mel, start):
                yield tiler.level, index, self._render(cols)

    def finish(self) -> Iterator[tuple[int, int, bytes]]:
        for tiler in self._levels:
            for index, cols in tiler.finish(self._n_frames):
                yield tiler.level, index, self._render(cols)


def spectrogram_tiles(
    source: Any,
    params: FeatureParams,
    *,
    seconds_per_tile_levels: Sequence[float] = DEFAULT_TILE_LEVELS,
    tile_width: int = 512,
    height: int = 128,
    fmin: float = 0.0,
    fmax: float | None = None,
    db_range: tuple[float, float] = (-100.0, 0.0),
    cmap: str = "magma",
    block_frames: int = DEFAULT_BLOCK_FRAMES,
) -> SpectrogramTiles:
    """Mel spectrogram tiles of a file (path/file-like, resampled to ``params.sr``) or 1-D array.

    Uses ``params``' STFT settings with ``height`` mel bands in [fmin, fmax];
    each pixel column is the max over the frames whose centres fall in it
    (the nearest following frame when a column holds none). ``db_range`` is
    relative to a full-scale sine in the most sensitive band.
    """
    if is_audio_source(source):
        pos = source.tell() if hasattr(source, "tell") else None
        meta = info(source)
        if pos is not None:
            source.seek(pos)
        duration = resampled_length(meta.frames, meta.sample_rate, params.sr) / params.sr
    else:
        y = np.asarray(source)
        if y.ndim != 1:
            raise ValueError("pass a file or a 1-D waveform")
        duration = y.shape[0] / params.sr
    tile_params = params.replace(
        n_mels=height, fmin=fmin, fmax=fmax, n_mfcc=min(params.n_mfcc, height), top_db=None, tuning=0.0
    )
    return SpectrogramTiles(
        source, tile_params, duration, seconds_per_tile_levels, tile_width, height, db_range, cmap, block_frames
    )


class _LevelTiler:
    """Aggregates streamed frames into one level's pixel columns and tiles."""

    def __init__(self, level: dict[str, Any], params: FeatureParams, duration: float):
        self.level = level["level"]
        self.width = level["tile_width"]
        self.height = level["height"]
        self.count = level["count"]
        self.hop = params.hop_length
        # Frame j is centred at (j * hop + offset) samples.
        self.offset = 0.0 if params.center else params.n_fft / 2
        self.col_samples = level["seconds_per_tile"] * params.sr / self.width
        self.n_cols = self.count * self.width
        self.n_data_cols = min(self.n_cols, int(math.ceil(duration * params.sr / self.col_samples)))
        self.next_col = 0
        # Frame-major (frames, height): the per-column max runs down contiguous rows (np.maximum.reduceat along
        # axis 0 vectorises across the mel bands; along the frames of a (height, frames) array it cost 4x more).
        self.buf = np.zeros((0, self.height), dtype=np.float32)
        self.buf_start = 0  # global index of buf's first frame
        self.tile = self._blank()

    def _blank(self) -> np.ndarray:
        return np.full((self.height, self.width), np.nan, dtype=np.float32)

    def _first_frame(self, cols: np.ndarray) -> np.ndarray:
        """Index of the first frame centred at or after each column's start."""
        return np.maximum(0, np.ceil((cols * self.col_samples - self.offset) / self.hop)).astype(np.int64)

    def push(self, mel: np.ndarray, start: int) -> Iterator[tuple[int, np.ndarray]]:
        """``mel``: (height, t) power columns (a transposed view of frame-major rows costs no copy)."""
        if start != self.buf_start + self.buf.shape[0]:
            raise ValueError("frames must arrive in order")
        self.buf = np.concatenate([self.buf, mel.T], axis=0) if self.buf.shape[0] else mel.T
        avail = self.buf_start + self.buf.shape[0]
        # Column k is complete once frames up to max(a[k+1], a[k]+1) exist.
        last = min(self.n_data_cols, int((avail * self.hop + self.offset) // self.col_samples) + 2)
        ks = np.arange(self.next_col, max(self.next_col, last))
        if ks.size:
            a = self._first_frame(np.append(ks, ks[-1] + 1))
            ends = np.maximum(a[1:], a[:-1] + 1)
            done = ks[ends <= avail]
            if done.size:
                yield from self._emit(done, a[: done.size], int(ends[done.size - 1]))
                self.next_col = int(done[-1]) + 1
                # Keep the last frame too: trailing columns may reuse it in finish().
                self._drop_before(min(int(a[done.size]), avail - 1))

    def finish(self, n_frames: int) -> Iterator[tuple[int, np.ndarray]]:
        if n_frames > 0 and self.next_col < self.n_data_cols:
            ks = np.arange(self.next_col, self.n_data_cols)
            # Columns after the last frame's centre still hold audio: show the last frame.
            a = np.minimum(self._first_frame(ks), n_frames - 1)
            yield from self._emit(ks, a, n_frames)
            self.next_col = self.n_data_cols
        # Flush the partly filled tile, then any tile without audio columns.
        first_blank = self.next_col // self.width
        if self.next_col % self.width:
            yield first_blank, self.tile
            first_blank += 1
        for t in range(first_blank, self.count):
            yield t, self._blank()

    def _emit(self, ks: np.ndarray, a: np.ndarray, end: int) -> Iterator[tuple[int, np.ndarray]]:
        """Columns ``ks`` (consecutive, as both callers make them) into the current tile, a tile's run at a time."""
        cols = _segment_max(self.buf[: end - self.buf_start], a - self.buf_start)  # (len(ks), height)
        i, n = 0, len(ks)
        while i < n:
            x = int(ks[i]) % self.width
            take = min(n - i, self.width - x)
            self.tile[:, x : x + take] = cols[i : i + take].T
            if x + take == self.width:
                yield int(ks[i]) // self.width, self.tile
                self.tile = self._blank()
            i += take

    def _drop_before(self, frame: int) -> None:
        cut = max(0, frame - self.buf_start)
        if cut:
            self.buf = self.buf[cut:].copy()
            self.buf_start += cut


_SHORT_SEGMENTS = 8


def _segment_max(rows: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``np.maximum.reduceat(rows, starts, axis=0)``: row k is the max over rows [starts[k], starts[k+1]) (the last
    up to the end), or row starts[k] alone when starts[k+1] <= starts[k].

    reduceat pays ~1.4 us per segment whatever its length, and the finest tile level has a column every ~2 STFT
    frames: there, a gather per row offset (at most _SHORT_SEGMENTS of them) costs a tenth (measured on 1,700-frame
    blocks of 128 bands). Longer segments (coarser levels) keep reduceat. Same values: a max is exact.
    """
    n = len(starts)
    ends = np.empty_like(starts)
    ends[:-1] = np.maximum(starts[1:], starts[:-1] + 1)
    ends[-1] = max(rows.shape[0], int(starts[-1]) + 1) if n else 0
    lengths = ends - starts
    if not n or int(lengths.max()) > _SHORT_SEGMENTS:
        return np.maximum.reduceat(rows, starts, axis=0)
    out = rows[starts]
    for j in range(1, int(lengths.max())):
        longer = np.flatnonzero(lengths > j)
        if longer.size == n:
            np.maximum(out, rows[starts + j], out=out)
        else:
            out[longer] = np.maximum(out[longer], rows[starts[longer] + j])
    return out


def _full_scale_db(params: FeatureParams) -> float:
    """dB of a full-scale sine's power in the most sensitive mel band (tile 0 dB)."""
    w = _window(params.window, params.win_length, params.n_fft, params.dtype)
    peak = float(np.sum(w, dtype=np.float64)) / 2.0
    weight = max(
        float(b[4].max())
        for b in _mel_basis(
            params.sr,
            params.n_fft,
            params.n_mels,
            float(params.fmin),
            None if params.fmax is None else float(params.fmax),
            params.htk,
            params.dtype,
        )
    )
    return 10.0 * math.log10(peak * peak * max(weight, 1e-20))


# matplotlib's "magma" sampled at 255 points (what _palette made with matplotlib): tiles and previews use it
# without importing matplotlib, which costs a worker ~1 s and tens of MB.
_MAGMA_255 = bytes.fromhex(
    "00000401000501010601010802010902020b02020d03030f03031204041405041606051806051a07061c08071e0907200a08220b"
    "09240c09260d0a290e0b2b100b2d110c2f120d31130d34140e36150e38160f3b180f3d19103f1a10421c10441d11471e11492011"
    "4b21114e22115024125325125527125829115a2a115c2c115f2d11612f116331116533106734106936106b38106c390f6e3b0f70"
    "3d0f713f0f72400f74420f75440f764510774710784910784a10794c117a4e117b4f127b51127c52137c54137d56147d57157e59"
    "157e5a167e5c167f5d177f5f187f601880621980641a80651a80671b80681c816a1c816b1d816d1d816e1e81701f81721f817320"
    "817521817621817822817922827b23827c23827e24828025828125818326818426818627818827818928818b29818c29818e2a81"
    "902a81912b81932b80942c80962c80982d80992d809b2e7f9c2e7f9e2f7fa02f7fa1307ea3307ea5317ea6317da8327daa337dab"
    "337cad347cae347bb0357bb2357bb3367ab73779b83779ba3878bc3978bd3977bf3a77c03a76c23b75c43c75c53c74c73d73c83e"
    "73ca3e72cc3f71cd4071cf4070d0416fd2426fd3436ed5446dd6456cd8456cd9466bdb476adc4869de4968df4a68e04c67e24d66"
    "e34e65e44f64e55064e75263e85362e95462ea5661eb5760ec5860ed5a5fee5b5eef5d5ef05f5ef1605df2625df2645cf3655cf4"
    "675cf4695cf56b5cf66c5cf66e5cf7705cf7725cf8745cf8765cf9785df9795df97b5dfa7d5efa7f5efa815ffb835ffb8560fb87"
    "61fc8961fc8a62fc8c63fc8e64fc9065fd9266fd9467fd9668fd9869fd9a6afd9b6bfe9d6cfe9f6dfea16efea36ffea571fea772"
    "fea973feaa74feac76feae77feb078feb27afeb47bfeb67cfeb77efeb97ffebb81febd82febf84fec185fec287fec488fec68afe"
    "c88cfeca8dfecc8ffecd90fecf92fed194fed395fed597fed799fed89afdda9cfddc9efddea0fde0a1fde2a3fde3a5fde5a7fde7"
    "a9fde9aafdebacfcecaefceeb0fcf0b2fcf2b4fcf4b6fcf6b8fcf7b9fcf9bbfcfbbdfcfdbf"
)


def _palette(cmap: str) -> bytes:
    if cmap == "magma":
        rgb = _MAGMA_255
    else:
        from matplotlib import colormaps

        rgb = (colormaps[cmap](np.linspace(0.0, 1.0, 255))[:, :3] * 255.0 + 0.5).astype(np.uint8).tobytes()
    return rgb + b"\x00\x00\x00"  # index 255: transparent


def _png(indices: np.ndarray, palette: bytes) -> bytes:
    """8-bit palette PNG (a third the size of RGBA) with index 255 transparent."""
    from PIL import Image

    img = Image.fromarray(np.ascontiguousarray(indices), mode="P")
    img.putpalette(palette)
    buf = io.BytesIO()
    # Run-length matches only: on these palette indices 2.5x faster than zlib's default strategy and no larger
    # (0.24 against 0.60 CPU-s and 20.7 MB per audio hour of tiles, pixels identical; measured on pink noise).
    img.save(buf, format="PNG", transparency=_TRANSPARENT, compress_level=6, compress_type=zlib.Z_RLE)
    return buf.getvalue()
