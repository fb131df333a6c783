"""Known-answer tests for apps.processing.dsp.preprocess (synthetic signals, explicit tolerances)."""

import math

import numpy as np
import pytest

from apps.processing.dsp import preprocess as pp

SR = 16000


def tone(seconds, freq=440.0, amp=0.5, sr=SR):
    t = np.arange(int(round(seconds * sr))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def silence(seconds, sr=SR):
    return np.zeros(int(round(seconds * sr)), dtype=np.float32)


# --------------------------------------------------------------------------- mono


def test_to_mono_averages_channels_and_keeps_a_channel():
    left, right = tone(0.1, 440), tone(0.1, 880)
    stereo = np.stack([left, right])
    np.testing.assert_allclose(pp.to_mono(stereo), (left + right) / 2, atol=1e-7)
    np.testing.assert_array_equal(pp.to_mono(stereo, channel=1), right)
    np.testing.assert_array_equal(pp.to_mono(stereo, channel=-2), left)
    assert pp.to_mono(left) is left


def test_to_mono_rejects_missing_channel():
    with pytest.raises(ValueError, match="Channel 2 does not exist"):
        pp.to_mono(np.zeros((2, 10), dtype=np.float32), channel=2)


# --------------------------------------------------------------------------- trim / segments


def test_trim_silence_returns_tone_bounds_within_one_hop():
    hop = 512
    y = np.concatenate([silence(0.5), tone(1.0), silence(0.75)])
    trimmed, (start, end) = pp.trim_silence(y, SR, top_db=40, hop_length=hop)
    assert abs(start - 0.5) <= hop / SR
    assert abs(end - 1.5) <= hop / SR
    assert trimmed.shape[0] == pytest.approx((end - start) * SR, abs=1)
    # the tone itself survives: its RMS is unchanged within 1 %
    assert np.sqrt(np.mean(trimmed**2)) == pytest.approx(0.5 / math.sqrt(2), rel=0.01)


def test_trim_silence_on_all_silence_is_empty():
    trimmed, bounds = pp.trim_silence(silence(1.0), SR)
    assert trimmed.size == 0
    assert bounds == (0.0, 0.0)


def test_trim_silence_works_on_stereo():
    y = np.concatenate([silence(0.5), tone(1.0), silence(0.5)])
    trimmed, (start, end) = pp.trim_silence(np.stack([y, y]), SR)
    assert trimmed.shape[0] == 2
    assert abs(start - 0.5) <= 512 / SR and abs(end - 1.5) <= 512 / SR


def test_voiced_segments_finds_two_tones():
    y = np.concatenate([silence(0.3), tone(0.8), silence(0.6), tone(0.5, 660), silence(0.3)])
    segments = pp.voiced_segments(y, SR, top_db=40, min_silence_s=0.3, min_segment_s=0.1)
    assert len(segments) == 2
    tol = 512 / SR
    (s1, e1), (s2, e2) = segments
    assert abs(s1 - 0.3) <= tol and abs(e1 - 1.1) <= tol
    assert abs(s2 - 1.7) <= tol and abs(e2 - 2.2) <= tol


def test_voiced_segments_bridges_short_gaps_and_drops_clicks():
    y = np.concatenate([tone(0.5), silence(0.1), tone(0.5), silence(0.6), tone(0.03), silence(0.5)])
    segments = pp.voiced_segments(y, SR, min_silence_s=0.3, min_segment_s=0.2)
    assert len(segments) == 1  # 0.1 s gap bridged, 30 ms click dropped
    start, end = segments[0]
    assert abs(start - 0.0) <= 512 / SR and abs(end - 1.1) <= 512 / SR


# --------------------------------------------------------------------------- loudness


def test_loudness_of_full_scale_1khz_sine_matches_bs1770():
    # BS.1770: a 0 dBFS 997 Hz sine on one channel reads -3.01 LUFS
    y = tone(3.0, freq=997.0, amp=1.0, sr=48000)
    assert pp.loudness_lufs(y, 48000) == pytest.approx(-3.01, abs=0.05)


@pytest.mark.parametrize("target", [-23.0, -16.0, -30.0])
def test_normalize_loudness_hits_target_within_0_1_lu(target):
    rng = np.random.default_rng(0)
    y = np.concatenate([tone(1.0, 300, 0.05), 0.02 * rng.standard_normal(SR).astype(np.float32), tone(1.0, 1200, 0.2)])
    out = pp.normalize_loudness(y, SR, target)
    assert abs(pp.loudness_lufs(out, SR) - target) <= 0.1
    assert out.dtype == y.dtype


def test_normalize_loudness_respects_peak_ceiling():
    y = tone(2.0, amp=0.1)
    out = pp.normalize_loudness(y, SR, -3.0, max_peak_dbfs=-1.0)
    assert 20 * math.log10(np.max(np.abs(out))) == pytest.approx(-1.0, abs=0.01)


def test_loudness_of_short_clip_is_none_and_silence_is_minus_inf():
    assert pp.loudness_lufs(tone(0.3), SR) is None
    assert pp.loudness_lufs(silence(1.0), SR) == float("-inf")
    short = tone(0.3)
    np.testing.assert_array_equal(pp.normalize_loudness(short, SR, -23), short)


def test_normalize_peak_sets_peak():
    out = pp.normalize_peak(tone(0.5, amp=0.3), -6.0)
    assert 20 * math.log10(np.max(np.abs(out))) == pytest.approx(-6.0, abs=1e-4)
    np.testing.assert_array_equal(pp.normalize_peak(silence(0.1)), silence(0.1))


# --------------------------------------------------------------------------- fixed length


def test_fix_length_pads_and_truncates_at_start():
    y = np.arange(1, 11, dtype=np.float32)
    out = pp.fix_length(y, 10, 1.5)
    np.testing.assert_array_equal(out, np.r_[y, np.zeros(5)])
    np.testing.assert_array_equal(pp.fix_length(y, 10, 0.4), y[:4])


def test_fix_length_center_and_reflect():
    y = np.arange(1, 6, dtype=np.float32)  # 1..5
    np.testing.assert_array_equal(pp.fix_length(y, 1, 3, align="center"), [2, 3, 4])
    np.testing.assert_array_equal(pp.fix_length(y, 1, 9, align="center"), [0, 0, 1, 2, 3, 4, 5, 0, 0])
    np.testing.assert_array_equal(pp.fix_length(y, 1, 8, pad="reflect"), [1, 2, 3, 4, 5, 4, 3, 2])
    # reflect keeps mirroring past the signal's own length
    assert pp.fix_length(y, 1, 20, pad="reflect").shape == (20,)


def test_fix_length_stereo_and_bad_arguments():
    y = np.ones((2, 7), dtype=np.float32)
    assert pp.fix_length(y, 1, 10).shape == (2, 10)
    with pytest.raises(ValueError, match="pad must be"):
        pp.fix_length(y, 1, 10, pad="wrap")
    with pytest.raises(ValueError, match="seconds must be positive"):
        pp.fix_length(y, 1, 0)


def test_windows_non_overlapping_with_padded_tail():
    y = np.arange(25, dtype=np.float32)
    w = pp.windows(y, 10, seconds=1.0)
    assert w.shape == (3, 10)
    np.testing.assert_array_equal(w[1], np.arange(10, 20))
    np.testing.assert_array_equal(w[2], np.r_[np.arange(20, 25), np.zeros(5)])
    assert pp.windows(y, 10, seconds=1.0, pad_last=False).shape == (2, 10)


def test_windows_with_hop_and_short_input():
    y = np.arange(20, dtype=np.float32)
    w = pp.windows(y, 10, seconds=1.0, hop_seconds=0.5)
    assert w.shape == (3, 10)
    np.testing.assert_array_equal(w[:, 0], [0, 5, 10])
    short = np.ones(4, dtype=np.float32)
    assert pp.windows(short, 10, seconds=1.0).shape == (1, 10)
    assert pp.windows(short, 10, seconds=1.0, pad_last=False).shape == (0, 10)


def test_windows_stereo_shape():
    y = np.stack([np.arange(30), -np.arange(30)]).astype(np.float32)
    w = pp.windows(y, 10, seconds=1.0)
    assert w.shape == (3, 2, 10)
    np.testing.assert_array_equal(w[2, 1], -np.arange(20, 30))


def test_length_policy_applies_and_validates():
    y = np.arange(25, dtype=np.float32)
    assert len(pp.LengthPolicy().apply(y, 10)) == 1
    (clip,) = pp.LengthPolicy(mode="pad_or_truncate", seconds=2.0).apply(y, 10)
    assert clip.shape == (20,)
    clips = pp.LengthPolicy(mode="windows", seconds=1.0, hop_seconds=1.0).apply(y, 10)
    assert [c.shape for c in clips] == [(10,)] * 3
    policy = pp.LengthPolicy(mode="windows", seconds=1.0)
    assert pp.LengthPolicy.from_dict(policy.as_dict()) == policy
    with pytest.raises(ValueError, match="needs a positive seconds"):
        pp.LengthPolicy(mode="windows")
    with pytest.raises(ValueError, match="Length mode must be"):
        pp.LengthPolicy(mode="crop")
    with pytest.raises(ValueError, match="seconds must be a positive number"):
        pp.LengthPolicy.from_dict({"mode": "pad_or_truncate", "seconds": "ten"})
    with pytest.raises(ValueError, match="hop_seconds must be a positive number"):
        pp.LengthPolicy(mode="windows", seconds=1.0, hop_seconds=0)
    with pytest.raises(ValueError, match="Unknown length policy field"):
        pp.LengthPolicy.from_dict({"mode": "none", "secs": 1})


def test_integer_audio_is_refused():
    with pytest.raises(ValueError, match="floating-point"):
        pp.trim_silence(np.zeros(100, dtype=np.int16), SR)
