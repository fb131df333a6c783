"""Issue 14's speed-ups change how things are computed, not what: each faster path equals the plain one."""

import io
import zlib

import numpy as np
import pytest
from PIL import Image

from apps.processing.dsp import chunked, images
from apps.processing.dsp import fingerprint as fp
from apps.processing.dsp.qa_stream import FingerprintStream


@pytest.mark.parametrize("store", ["float16", "bfloat16"])
def test_chunk_is_one_plain_zlib_stream_of_the_shuffled_halves(store):
    rng = np.random.default_rng(1)
    a = (rng.standard_normal((80, 1024)) * 30 - 50).astype(np.float32)
    a[:, 100:300] = -100.0  # long runs, as silence gives
    blob = chunked._encode(a, store)
    if store == "float16":
        half = a.astype(np.float16).view(np.uint16)
    else:
        bits = a.view(np.uint32)
        half = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    planes = half.view(np.uint8).reshape(-1, 2)
    # Any zlib reader (checksum included) gets the high bytes then the low bytes, as before the split encoding.
    assert zlib.decompress(blob) == planes[:, 1].tobytes() + planes[:, 0].tobytes()
    plain = zlib.compress(planes[:, 1].tobytes() + planes[:, 0].tobytes())
    np.testing.assert_array_equal(chunked._decode(blob, a.shape, store), chunked._decode(plain, a.shape, store))


def test_segment_max_equals_reduceat():
    rng = np.random.default_rng(2)
    rows = rng.random((400, 16)).astype(np.float32)
    for starts in (
        np.arange(0, 390, 2),  # the finest level: a column every ~2 frames
        np.sort(rng.integers(0, 400, 120)),  # uneven, with repeats (a column without a frame of its own)
        np.array([5, 5, 4, 9, 399]),  # non-increasing: the frame alone
        np.arange(0, 400, 37),  # long segments: reduceat itself
        np.array([7]),
    ):
        want = np.maximum.reduceat(rows, starts, axis=0)
        np.testing.assert_array_equal(images._segment_max(rows, starts.astype(np.int64)), want)


def test_tile_png_decodes_to_the_same_pixels_as_the_default_strategy():
    rng = np.random.default_rng(3)
    indices = rng.integers(0, 255, (128, 512)).astype(np.uint8)
    indices[:, 400:] = 255  # transparent past the end of the audio
    indices[:, :64] = indices[:, :1]  # runs
    palette = images._palette("magma")
    got = np.array(Image.open(io.BytesIO(images._png(indices, palette))))
    np.testing.assert_array_equal(got, indices)


@pytest.mark.parametrize("sr", [16000, 44100, 8000])
def test_chunked_fingerprint_stream_equals_the_whole_signal_fingerprint_bit_for_bit(sr):
    rng = np.random.default_rng(4)
    n = int(7.3 * sr)
    # pink-ish noise under a slow tremolo, one channel
    y = np.cumsum(rng.standard_normal(n)) * 1e-3
    y = (y - np.convolve(y, np.ones(64) / 64, mode="same")) * (1 + 0.8 * np.sin(np.arange(n) * 2 * np.pi * 3 / sr))
    y = (0.3 * y / np.abs(y).max()).astype(np.float32)
    stream = FingerprintStream(sr)
    for start in range(0, n, 50_000):
        stream.push(y[np.newaxis, start : start + 50_000])
    got, whole = stream.finish(), fp.fingerprint(y, sr)
    np.testing.assert_array_equal(got.frames, whole.frames)
    np.testing.assert_array_equal(got.loud, whole.loud)
    np.testing.assert_allclose(got.summary, whole.summary, rtol=1e-5, atol=1e-6)
