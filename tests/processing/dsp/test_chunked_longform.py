"""Chunked half-precision feature files and the one-pass spectral stream (issue 14)."""

import io

import numpy as np
import pytest

from apps.processing import dsp
from apps.processing.dsp.chunked import open_chunked, write_chunked
from apps.processing.dsp.longform import LongformResult, stream_artifacts


def _speechlike(seconds=12.0, sr=16000, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    y = 0.3 * np.sin(2 * np.pi * (180 + 40 * np.sin(2 * np.pi * 0.7 * t)) * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
    return (y + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.mark.parametrize("store", ["float16", "bfloat16"])
def test_chunked_round_trip_and_slices(store):
    rng = np.random.default_rng(1)
    a = (rng.standard_normal((2, 40, 3000)) * 30).astype(np.float32)
    buf = io.BytesIO()
    write_chunked(buf, a, store=store, chunk_frames=256, floor=-50.0)
    arr = open_chunked(buf)
    assert arr.shape == (2, 40, 3000)
    back = arr.read()
    expected = np.maximum(a, -50.0)
    np.testing.assert_allclose(back, expected, rtol=1e-3 if store == "float16" else 8e-3, atol=1e-2)
    np.testing.assert_array_equal(arr.read(700, 1301), back[..., 700:1301])  # a slice across chunk edges


def test_stream_artifacts_equal_whole_signal_features_and_tiles(tmp_path):
    import soundfile as sf

    y = _speechlike()
    path = tmp_path / "a.wav"
    sf.write(path, y, 16000)
    p = dsp.FeatureParams(sr=16000, n_fft=512, hop_length=160, n_mels=80, mfcc_deltas=True)
    ref = dsp.compute_features(y, p, ("spectrogram", "mel", "mfcc", "chroma"))
    tiles_ref = list(dsp.spectrogram_tiles(str(path), p, seconds_per_tile_levels=[5.0, 60.0]))
    result = LongformResult()
    tiles = dsp.spectrogram_tiles(str(path), p, seconds_per_tile_levels=[5.0, 60.0])
    got = list(
        stream_artifacts(
            str(path),
            p,
            ("spectrogram", "mel", "mfcc", "chroma"),
            out_dir=tmp_path / "f",
            expected_frames=p.n_frames(y.size),
            tiles=tiles,
            block_frames=1 << 14,
            result=result,
        )
    )
    assert got == tiles_ref  # the same PNG bytes as the separate tile pass
    total = 0
    for kind in ("spectrogram", "mel", "mfcc", "mfcc_delta", "mfcc_delta2", "chroma"):
        with open(result.files[kind], "rb") as fh:
            back = open_chunked(fh).read()
        assert back.shape == ref[kind].shape
        # Half precision keeps ~3 significant digits; bins with near-zero power (DC of a pure tone) also move
        # with float32 rounding that differs between block-wise and whole-signal FFT calls.
        close = np.isclose(back, ref[kind], rtol=4e-3, atol=0.06)
        assert close.mean() > 0.99, (kind, close.mean())
        total += result.files[kind].stat().st_size if not kind.startswith("mfcc_d") else 0
    # The default recipe's four kinds stay within twice the 16-bit PCM size of the audio.
    assert total <= 2 * 2 * y.size
    assert result.preview_mel.shape[1] <= 2000 and result.preview_spectrogram.shape[0] == 257


@pytest.mark.parametrize("store", ["float16", "bfloat16"])
def test_files_in_the_older_layout_still_read_the_same(store):
    """Chunks are stored frame by frame since the index has a layout; a file written before (each chunk (..., d, n),
    no layout in the index) reads as it did, and both give the same floats."""
    import json
    import struct

    from apps.processing.dsp import chunked

    rng = np.random.default_rng(2)
    a = (rng.standard_normal((2, 40, 2500)) * 30).astype(np.float32)
    a[0, 0, :3] = [1e6, -1e6, np.inf]  # beyond float16: stored as its largest value
    new = io.BytesIO()
    index = write_chunked(new, a, store=store, chunk_frames=1024, floor=-50.0)
    assert index["layout"] == "frames"
    old = io.BytesIO()
    old.write(chunked.MAGIC)
    offsets = []
    for start in range(0, 2500, 1024):
        offsets.append(old.tell())
        old.write(chunked._encode(a[..., start : start + 1024], store))  # the chunk as (..., d, n)
    offsets.append(old.tell())
    body = json.dumps(
        {"shape": [2, 40, 2500], "store": store, "chunk_frames": 1024, "offsets": offsets, "floor": -50.0}
    ).encode()
    old.write(body + struct.pack("<Q", len(body)) + chunked.MAGIC)
    got_new, got_old = open_chunked(new), open_chunked(old)
    np.testing.assert_array_equal(got_new.read(), got_old.read())
    np.testing.assert_array_equal(got_new.read(1000, 2100), got_old.read(1000, 2100))
    assert got_new.read().flags.c_contiguous and got_new.read(1000, 1010).shape == (2, 40, 10)
    if store == "float16":
        assert got_new.read()[0, 0, 0] == np.finfo(np.float16).max
