"""Streamed multi-resolution peaks equal brute-force min/max; formats round-trip."""

import io
import json
import struct

import numpy as np
import pytest
import soundfile as sf

from apps.processing.dsp import Peaks, PeakSet, compute_peaks

SR = 16000


def brute_force(q, spp):
    """q: (C, N) ints -> (L, C, 2) with the last bucket holding the leftovers."""
    C, N = q.shape
    L = -(-N // spp)
    out = np.empty((L, C, 2), q.dtype)
    for i in range(L):
        seg = q[:, i * spp : (i + 1) * spp]
        out[i, :, 0] = seg.min(axis=1)
        out[i, :, 1] = seg.max(axis=1)
    return out


def synthetic(channels, n, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    y = [
        0.6 * np.sin(2 * np.pi * (100 + 50 * c) * t) * np.exp(-t) + 0.2 * rng.standard_normal(n)
        for c in range(channels)
    ]
    return np.clip(np.stack(y), -1, 1).astype(np.float32)


def to_int16(y):
    return np.clip(np.rint(y * 32767.0), -32768, 32767).astype(np.int16)


@pytest.mark.parametrize("channels", [1, 2, 3])
@pytest.mark.parametrize("block", [1000, 4096, 70001])
@pytest.mark.parametrize("bits", [16, 8])
def test_streamed_peaks_equal_brute_force(channels, block, bits):
    n = 3 * 16384 + 1234  # not a multiple of any samples_per_pixel
    y = synthetic(channels, n)
    blocks = (y[:, i : i + block] if channels > 1 else y[0, i : i + block] for i in range(0, n, block))
    ps = compute_peaks(blocks, samples_per_pixel=(256, 2048, 16384), bits=bits, sample_rate=SR)
    q = to_int16(y)
    if bits == 8:
        q = (q >> 8).astype(np.int8)
    assert (ps.channels, ps.frames, ps.sample_rate, ps.bits) == (channels, n, SR, bits)
    assert [p.samples_per_pixel for p in ps.levels] == [256, 2048, 16384]
    for p in ps.levels:
        assert p.data.dtype == (np.int8 if bits == 8 else np.int16)
        np.testing.assert_array_equal(p.data, brute_force(q, p.samples_per_pixel))


def test_file_peaks_use_the_exact_pcm16_samples():
    rng = np.random.default_rng(3)
    q = rng.integers(-32768, 32768, size=(2, 50_000), dtype=np.int16)
    buf = io.BytesIO()
    sf.write(buf, q.T, 22050, format="WAV", subtype="PCM_16")
    buf.seek(0)
    ps = compute_peaks(buf, samples_per_pixel=(300, 900), block_frames=7000)
    assert ps.sample_rate == 22050 and ps.duration == pytest.approx(50_000 / 22050)
    for p in ps.levels:
        np.testing.assert_array_equal(p.data, brute_force(q, p.samples_per_pixel))


def test_audiowaveform_json_layout_interleaves_min_max_per_channel():
    # channel 0 ramps up, channel 1 is its negative: easy to read back by hand
    y = np.stack([np.linspace(0, 0.5, 8), -np.linspace(0, 0.5, 8)]).astype(np.float32)
    p = compute_peaks([y], samples_per_pixel=(4,), sample_rate=8000).levels[0]
    doc = p.to_audiowaveform_json()
    assert list(doc) == ["version", "channels", "sample_rate", "samples_per_pixel", "bits", "length", "data"]
    assert (
        doc["version"],
        doc["channels"],
        doc["sample_rate"],
        doc["samples_per_pixel"],
        doc["bits"],
        doc["length"],
    ) == (
        2,
        2,
        8000,
        4,
        16,
        2,
    )
    q = to_int16(y)
    expected = [q[0, 0], q[0, 3], q[1, 3], q[1, 0], q[0, 4], q[0, 7], q[1, 7], q[1, 4]]
    assert doc["data"] == [int(v) for v in expected]
    assert json.loads(json.dumps(doc)) == doc  # plain ints, serialisable


def test_dat_v2_bytes_follow_the_audiowaveform_layout_and_round_trip():
    y = synthetic(2, 5000)
    for bits in (16, 8):
        p = compute_peaks([y], samples_per_pixel=(512,), bits=bits, sample_rate=SR).levels[0]
        blob = p.to_bytes()
        version, flags, rate, spp, length, channels = struct.unpack_from("<iIiiIi", blob)
        assert (version, flags, rate, spp, length, channels) == (2, 1 if bits == 8 else 0, SR, 512, 10, 2)
        assert len(blob) == 24 + length * channels * 2 * bits // 8
        back = Peaks.from_bytes(blob)
        assert (back.bits, back.sample_rate, back.samples_per_pixel) == (bits, SR, 512)
        np.testing.assert_array_equal(back.data, p.data)


def test_dat_v1_is_read_as_one_channel():
    data = np.array([[-5, 7], [-2, 3]], dtype="<i2")
    blob = struct.pack("<iIiiI", 1, 0, 8000, 256, 2) + data.tobytes()
    p = Peaks.from_bytes(blob)
    assert p.channels == 1 and p.length == 2
    np.testing.assert_array_equal(p.data[:, 0], data)


@pytest.mark.parametrize("bits", [16, 8])
def test_compact_storage_round_trips_exactly_and_is_smaller(bits):
    y = synthetic(2, 200_001)
    ps = compute_peaks([y], bits=bits, sample_rate=SR)
    blob = ps.to_bytes()
    back = PeakSet.from_bytes(blob)
    assert (back.sample_rate, back.channels, back.frames, back.bits) == (ps.sample_rate, ps.channels, ps.frames, bits)
    for a, b in zip(ps.levels, back.levels, strict=True):
        assert a.samples_per_pixel == b.samples_per_pixel
        np.testing.assert_array_equal(a.data, b.data)
    assert len(blob) < sum(len(p.to_bytes()) for p in ps.levels)


def test_compact_storage_of_a_quiet_hour_is_small():
    # One hour at 16 kHz, generated lazily: peaks must stay a few hundred kB.
    rng = np.random.default_rng(0)
    block = SR * 60

    def blocks():
        for _ in range(60):
            yield (0.01 * rng.standard_normal(block)).astype(np.float32)

    ps = compute_peaks(blocks(), sample_rate=SR)
    assert ps.levels[0].length == 3600 * SR // 256
    # Noise is the worst case (min/max of random samples carry ~9 bits of
    # entropy each, ~500 kB at 256 samples per bucket); speech packs tighter.
    assert len(ps.to_bytes()) < 600_000
    # What the annotator downloads by default (max_length=20000) is far smaller.
    served = json.dumps(ps.best(20_000).to_audiowaveform_json())
    assert ps.best(20_000).samples_per_pixel == 16384
    assert len(served) < 100_000


def test_best_level_for_a_max_length():
    ps = compute_peaks([synthetic(1, 100_000)[0]], samples_per_pixel=(100, 1000, 10_000), sample_rate=SR)
    assert [p.length for p in ps.levels] == [1000, 100, 10]
    assert ps.best(1000).samples_per_pixel == 100
    assert ps.best(999).samples_per_pixel == 1000
    assert ps.best(5).samples_per_pixel == 10_000  # nothing fits: the coarsest
    assert ps.level(1000).length == 100
    with pytest.raises(KeyError):
        ps.level(123)


def test_peaks_as_float_are_in_unit_range_per_channel():
    p = compute_peaks([synthetic(2, 4096)], samples_per_pixel=(256,), sample_rate=SR).levels[0]
    f = p.as_float()
    assert f.shape == (2, 16, 2)
    assert np.all(f[..., 0] <= f[..., 1]) and np.all(np.abs(f) <= 1.0)


@pytest.mark.parametrize(
    "kwargs",
    [dict(samples_per_pixel=(256, 1000)), dict(samples_per_pixel=(0,)), dict(bits=12)],
)
def test_bad_peak_settings_are_rejected(kwargs):
    with pytest.raises(ValueError):
        compute_peaks([np.zeros(1000, np.float32)], sample_rate=SR, **kwargs)


def test_blocks_need_a_sample_rate():
    with pytest.raises(ValueError, match="sample_rate"):
        compute_peaks([np.zeros(1000, np.float32)])
