"""Block-wise QA and fingerprint equal the whole-signal ones (qa.qa_measure, fingerprint.fingerprint)."""

import io
import math

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from apps.processing.dsp import fingerprint as fp
from apps.processing.dsp import qa
from apps.processing.dsp.qa_stream import (
    FingerprintStream,
    LoudnessStream,
    QAStream,
    qa_and_fingerprint_file,
)


def speechlike(seconds, sr, channels=2, seed=0):
    """Tone bursts with pauses over a quiet noise floor, one different pattern per channel, (channels, n)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    out = np.zeros((channels, n))
    for c in range(channels):
        position = int(rng.uniform(0, 0.2) * sr)
        while position < n:
            length = int(rng.uniform(0.15, 0.4) * sr)
            t = np.arange(length) / sr
            burst = np.sin(2 * np.pi * rng.uniform(150, 400) * t) * np.hanning(length) * rng.uniform(0.2, 0.6)
            out[c, position : position + length] += burst[: n - position]
            position += length + int(rng.uniform(0.1, 0.5) * sr)
    out += 3e-4 * rng.standard_normal(out.shape)
    return out.astype(np.float32)


def with_clipping(y):
    """Clipped runs placed across where 4000-sample blocks meet, plus one lone clipped sample."""
    y = y.copy()
    y[0, 3998:4004] = 1.0  # a 6-sample run over the first block edge
    y[1, 7999:8001] = -1.0  # a 2-sample run (too short to count) over the second
    y[0, 11995:16005] = 1.0  # a run longer than a whole block
    y[1, 100] = 1.0
    y[:, -2:] = 1.0  # runs still open at the very end
    return y


def stream_metrics(y, sr, block):
    stream = QAStream(sr, y.shape[0])
    for start in range(0, y.shape[1], block):
        stream.push(y[:, start : start + block])
    return stream.finish()


@pytest.mark.parametrize("sr, channels, block", [(16000, 2, 4000), (44100, 1, 4000), (22050, 2, 777)])
def test_blockwise_metrics_equal_whole_signal(sr, channels, block):
    y = with_clipping(speechlike(7.3, sr, channels=2))[:channels]
    whole = qa.qa_measure(y, sr)
    blocks = stream_metrics(y, sr, block)
    assert whole.clip_runs > 0 and whole.longest_clip_run > block  # the edge cases are exercised
    for name in ("duration_s", "channels", "clipped_ratio", "clip_runs", "longest_clip_run", "silence_ratio"):
        assert getattr(blocks, name) == getattr(whole, name), name
    for name in ("snr_db", "dc_offset", "peak_dbfs", "rms_dbfs", "loudness_lufs"):
        assert getattr(blocks, name) == pytest.approx(getattr(whole, name), rel=1e-9, abs=1e-9), name


def test_blockwise_loudness_matches_pyloudnorm_within_a_tenth_of_a_lu():
    sr = 48000
    y = speechlike(5.0, sr, channels=2, seed=3).astype(np.float64)
    reference = pyloudnorm.Meter(sr).integrated_loudness(y.T)
    stream = LoudnessStream(sr, 2)
    for start in range(0, y.shape[1], 1234):
        stream.push(y[:, start : start + 1234])
    measured = stream.finish()
    assert math.isfinite(reference)
    assert abs(measured - reference) < 0.1
    # Not a coincidence of the level: 6 dB quieter reads 6 LU lower.
    quiet = LoudnessStream(sr, 2)
    quiet.push(y / 2)
    assert quiet.finish() == pytest.approx(measured - 6.02, abs=0.05)


def test_loudness_edge_cases_follow_qa():
    short = LoudnessStream(16000, 1)
    short.push(np.full((1, 6000), 0.1))  # under 400 ms
    assert short.finish() is None
    silent = LoudnessStream(16000, 1)
    silent.push(np.zeros((1, 16000)))
    assert silent.finish() == float("-inf") == qa.integrated_loudness(np.zeros(16000), 16000)


def test_six_channels_are_mixed_down_like_qa():
    y = np.vstack([speechlike(2.0, 16000, channels=2, seed=s) for s in range(3)])
    assert stream_metrics(y, 16000, 5000).loudness_lufs == pytest.approx(qa.integrated_loudness(y, 16000), abs=1e-6)


@pytest.mark.parametrize("sr, block", [(44100, 10000), (8000, 3000), (16000, 100)])
def test_blockwise_fingerprint_equals_whole_signal(sr, block):
    y = speechlike(6.0, sr, channels=2, seed=5)
    whole = fp.fingerprint(y, sr)
    stream = FingerprintStream(sr)
    for start in range(0, y.shape[1], block):
        stream.push(y[:, start : start + block])
    got = stream.finish()
    assert len(got) == len(whole) and got.duration_s == whole.duration_s
    agree = np.mean(got.frames == whole.frames)
    assert agree > 0.99
    assert np.mean(got.loud == whole.loud) > 0.99
    np.testing.assert_allclose(got.summary, whole.summary, atol=1e-5)
    assert fp.similarity(got, whole) > 0.98


def test_fingerprint_of_very_short_signal_is_padded_like_whole():
    y = speechlike(0.05, 16000, channels=1)
    stream = FingerprintStream(16000)
    stream.push(y)
    got, whole = stream.finish(), fp.fingerprint(y, 16000)
    assert len(got) == len(whole) >= 2
    np.testing.assert_array_equal(got.frames, whole.frames)


def test_file_reader_uses_several_blocks_and_matches_whole():
    sr = 22050
    y = with_clipping(speechlike(5.0, sr, channels=2, seed=7))
    buf = io.BytesIO()
    sf.write(buf, y.T, sr, format="WAV", subtype="FLOAT")
    buf.seek(0)
    metrics, print_ = qa_and_fingerprint_file(buf, block_frames=4000)
    whole = qa.qa_measure(y, sr)
    assert metrics.clip_runs == whole.clip_runs and metrics.clipped_ratio == whole.clipped_ratio
    assert metrics.loudness_lufs == pytest.approx(whole.loudness_lufs, abs=1e-9)
    assert fp.similarity(print_, fp.fingerprint(y, sr)) > 0.98


def test_wrong_channel_count_is_refused():
    stream = QAStream(16000, 2)
    with pytest.raises(ValueError, match="channels"):
        stream.push(np.zeros((1, 100), dtype=np.float32))
