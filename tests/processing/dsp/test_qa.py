"""Each QA check tripped by audio built to trip it; a clean signal trips none."""

import json
import math

import numpy as np
import pytest

from apps.processing.dsp import qa

SR = 16000


def tone(seconds, freq=440.0, amp=0.5, sr=SR):
    t = np.arange(int(round(seconds * sr))) / sr
    return amp * np.sin(2 * np.pi * freq * t)


def clean_speechlike(seconds=6.0, seed=0):
    """Tone bursts ("syllables") with pauses over a -80 dBFS noise floor, peak 0.5."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    y = np.zeros(n)
    position = 0
    while position < n:
        length = int(rng.uniform(0.15, 0.4) * SR)
        freq = rng.uniform(150, 400)
        t = np.arange(length) / SR
        burst = np.sin(2 * np.pi * freq * t) + 0.4 * np.sin(2 * np.pi * 3 * freq * t)
        burst *= np.hanning(length)
        y[position : position + length] += burst[: n - position]
        position += length + int(rng.uniform(0.1, 0.3) * SR)
    y *= 0.5 / np.max(np.abs(y))
    y += 1e-4 * rng.standard_normal(n)
    return y.astype(np.float32)


def flags(y, sr=SR, **kwargs):
    return qa.qa_flags(qa.qa_measure(y, sr), qa.QAThresholds(), **kwargs)


def test_clean_signal_trips_nothing():
    y = clean_speechlike()
    metrics = qa.qa_measure(y, SR)
    assert (
        qa.qa_flags(
            metrics,
            qa.QAThresholds(),
            sample_rate=SR,
            channels=1,
            expected_sr=SR,
            expected_channels=1,
            min_duration=1.0,
            max_duration=30.0,
        )
        == []
    )
    assert metrics.snr_db > 40
    assert metrics.clipped_ratio == 0.0 and metrics.clip_runs == 0
    assert metrics.peak_dbfs == pytest.approx(20 * math.log10(0.5), abs=0.01)


def test_clipped_sine_trips_clipping():
    freq = 203.7  # not a divisor of the rate, so sampling averages over the waveform
    y = np.clip(tone(2.0, freq, amp=1.5), -1.0, 1.0)
    metrics = qa.qa_measure(y, SR)
    # |1.5 sin| >= 0.999 for a known fraction of each period
    expected = 1 - 2 / math.pi * math.asin(0.999 / 1.5)
    assert metrics.clipped_ratio == pytest.approx(expected, abs=0.01)
    assert metrics.clip_runs == pytest.approx(2 * 2.0 * freq, abs=3)  # two flat tops per period
    assert metrics.longest_clip_run == pytest.approx(expected * SR / (2 * freq), abs=1.5)
    assert "clipping" in qa.qa_flags(metrics)


def test_a_few_clipped_peaks_in_speech_trip_clipping():
    y = clean_speechlike()
    for start in range(SR, SR + 6 * 4000, 4000):  # six flattened peaks of 5 samples
        y[start : start + 5] = 1.0
    metrics = qa.qa_measure(y, SR)
    assert metrics.clip_runs == 6 and metrics.longest_clip_run == 5
    assert metrics.clipped_ratio < qa.QAThresholds().max_clipped_ratio
    assert "clipping" in qa.qa_flags(metrics)


def test_single_full_scale_samples_are_not_clipping():
    y = clean_speechlike()
    y[1000] = 1.0  # peak-normalised audio touches full scale once
    assert "clipping" not in flags(y)


def test_silence_trips_silence():
    assert "silence" in flags(np.zeros(SR * 3, dtype=np.float32))
    y = clean_speechlike(2.0)
    mostly_silent = np.concatenate([y[: SR // 4], np.zeros(SR * 5, dtype=np.float32)])
    metrics = qa.qa_measure(mostly_silent, SR)
    assert metrics.silence_ratio > 0.9
    assert "silence" in qa.qa_flags(metrics)


def test_silence_metrics_are_json_safe():
    metrics = qa.qa_measure(np.zeros(SR, dtype=np.float32), SR)
    assert metrics.peak_dbfs == float("-inf")
    assert metrics.snr_db is None
    data = metrics.as_dict()
    assert data["peak_dbfs"] is None and data["loudness_lufs"] is None
    json.dumps(data, allow_nan=False)


@pytest.mark.parametrize("snr_db", [0.0, 5.0])
def test_noisy_signal_trips_low_snr(snr_db):
    y = clean_speechlike().astype(np.float64)
    rng = np.random.default_rng(1)
    noise = rng.standard_normal(y.size)
    noise *= math.sqrt(np.mean(y**2) / np.mean(noise**2) / 10 ** (snr_db / 10))
    metrics = qa.qa_measure(y + noise, SR)
    assert metrics.snr_db < 15
    assert "low_snr" in qa.qa_flags(metrics)


def test_snr_estimate_tracks_noise_level():
    # bursts at a fixed level over white noise 30 dB and 10 dB below them
    rng = np.random.default_rng(2)
    bursts = np.tile(np.r_[tone(0.3, 300, 0.3), np.zeros(int(0.3 * SR))], 8)
    burst_power = 0.3**2 / 2
    estimates = []
    for below_db in (30.0, 10.0):
        noise = rng.standard_normal(bursts.size) * math.sqrt(burst_power / 10 ** (below_db / 10))
        estimates.append(qa.qa_measure(bursts + noise, SR).snr_db)
    # the quietest frames are the quiet draws of the noise, so the estimate
    # reads high by up to about a dB (documented in estimate_snr_db)
    assert 0.0 <= estimates[0] - 30.0 <= 1.2
    assert 0.0 <= estimates[1] - 10.0 <= 1.2


def test_dc_offset_trips_dc_offset():
    y = clean_speechlike() + 0.05
    metrics = qa.qa_measure(y, SR)
    assert metrics.dc_offset == pytest.approx(0.05, abs=0.002)
    assert qa.qa_flags(metrics) == ["dc_offset"]


def test_too_quiet_and_too_loud_trip_loudness():
    quiet = clean_speechlike() * 10 ** (-40 / 20)  # about -60 LUFS, still above the silence floor
    metrics = qa.qa_measure(quiet, SR)
    assert metrics.loudness_lufs < -45
    assert "loudness" in qa.qa_flags(metrics)
    loud = np.clip(tone(2.0, 1000, amp=1.0) * 1.0, -0.99, 0.99)  # ~ -3 LUFS square-ish sine
    assert "loudness" in flags(loud)


def test_wrong_rate_channels_and_duration_trip_their_checks():
    y = clean_speechlike(2.0)
    stereo = np.stack([y, y])
    metrics = qa.qa_measure(stereo, SR)
    assert metrics.channels == 2
    result = qa.qa_flags(
        metrics,
        qa.QAThresholds(),
        sample_rate=44100,
        expected_sr=SR,
        expected_channels=1,
        min_duration=3.0,
    )
    assert result == ["duration", "sample_rate", "channels"]
    assert qa.qa_flags(metrics, max_duration=1.0) == ["duration"]
    assert qa.qa_flags(metrics, duration=2.5, min_duration=2.4, max_duration=2.6) == []


def test_expected_rate_needs_the_rate():
    with pytest.raises(ValueError, match="needs sample_rate"):
        qa.qa_flags(qa.qa_measure(clean_speechlike(1.0), SR), expected_sr=SR)


def test_short_clip_has_no_loudness_but_measures():
    metrics = qa.qa_measure(tone(0.2).astype(np.float32), SR)
    assert metrics.loudness_lufs is None
    assert metrics.duration_s == pytest.approx(0.2)
    assert "loudness" not in qa.qa_flags(metrics)


def test_levels_of_a_known_sine():
    metrics = qa.qa_measure(tone(2.0, 997, amp=0.5), SR)
    assert metrics.peak_dbfs == pytest.approx(-6.02, abs=0.01)
    assert metrics.rms_dbfs == pytest.approx(-9.03, abs=0.01)
    assert metrics.loudness_lufs == pytest.approx(-9.03, abs=0.2)  # BS.1770: 997 Hz reads as RMS (+/- K-weighting)
    assert metrics.dc_offset == pytest.approx(0.0, abs=1e-3)


def test_thresholds_are_configurable():
    y = clean_speechlike() + 0.005
    assert "dc_offset" not in flags(y)
    metrics = qa.qa_measure(y, SR)
    assert "dc_offset" in qa.qa_flags(metrics, qa.QAThresholds(max_abs_dc_offset=0.001))
