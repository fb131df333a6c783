"""Earmark's pure DSP core: arrays (or file-like objects) in, arrays and small dataclasses out.

Never imports django, celery or ``apps.*``; the adapter in
``apps/processing/services/`` loads from storage, calls these functions and
saves the artifacts. Callers own threading: a worker should limit BLAS/FFT
threads (e.g. ``threadpoolctl.threadpool_limits(1)`` or ``OMP_NUM_THREADS=1``)
and run one process per core.
"""

from __future__ import annotations

from .features import DEFAULT_KINDS, KINDS, FeatureParams, Features, compute_features, feature_dims
from .images import (
    DEFAULT_TILE_LEVELS,
    SpectrogramTiles,
    spectrogram_figure,
    spectrogram_png,
    spectrogram_tiles,
    tile_index,
)
from .io import AudioInfo, info, iter_blocks, load, resampled_length
from .peaks import DEFAULT_SAMPLES_PER_PIXEL, Peaks, PeakSet, PeaksStream, compute_peaks
from .streaming import DEFAULT_BLOCK_FRAMES, NpyFrameWriter, iter_feature_blocks, stream_features

__all__ = [
    "DEFAULT_BLOCK_FRAMES",
    "DEFAULT_KINDS",
    "DEFAULT_SAMPLES_PER_PIXEL",
    "DEFAULT_TILE_LEVELS",
    "KINDS",
    "AudioInfo",
    "FeatureParams",
    "Features",
    "NpyFrameWriter",
    "PeakSet",
    "PeaksStream",
    "Peaks",
    "SpectrogramTiles",
    "compute_features",
    "compute_peaks",
    "feature_dims",
    "info",
    "iter_blocks",
    "iter_feature_blocks",
    "load",
    "numba_cache_use",
    "resampled_length",
    "spectrogram_figure",
    "spectrogram_png",
    "spectrogram_tiles",
    "stream_features",
    "tile_index",
    "warm_up",
    "warmup",
]


def numba_cache_use(cache_dir: str) -> bool:
    """Point numba's on-disk cache at ``cache_dir`` unless ``NUMBA_CACHE_DIR`` is already set.

    Effective only before numba is first imported (it reads the setting
    then); returns whether the directory is now the one numba will use.
    """
    import os
    import sys

    os.makedirs(cache_dir, exist_ok=True)
    if "numba" not in sys.modules:
        os.environ.setdefault("NUMBA_CACHE_DIR", str(cache_dir))
    return os.path.abspath(os.environ.get("NUMBA_CACHE_DIR", "")) == os.path.abspath(cache_dir)


def warm_up(params: FeatureParams | None = None, *, cache_dir: str | None = None) -> float:
    """Run the numba-compiled librosa paths once on a tiny signal; return the seconds it took.

    Call it once when a worker process starts so no task pays librosa's
    first-call cost (11-17 s with a cold numba cache, ~1 s warm). With a
    writable ``NUMBA_CACHE_DIR`` (or ``cache_dir``, applied only if numba is
    not imported yet) the compiled code is loaded from disk after the first
    process. Also builds the window and filterbanks for ``params`` if given.
    """
    import time

    import numpy as np

    if cache_dir is not None:
        numba_cache_use(cache_dir)
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    for p in filter(None, (FeatureParams(sr=16000, n_fft=512, hop_length=128, n_mels=32, tuning=None), params)):
        n = max(p.n_fft * 4, p.sr // 4)
        y = (0.1 * rng.standard_normal(n)).astype(p.dtype)
        # tuning=None goes through piptrack/localmax; abs2 is used by every STFT.
        compute_features(y, p.replace(tuning=None), KINDS)
        compute_features(y, p, KINDS)
    return time.perf_counter() - t0


warmup = warm_up  # older spelling
