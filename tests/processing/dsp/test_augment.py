"""Known-answer tests for apps.processing.dsp.augment (synthetic signals, explicit tolerances)."""

import math

import numpy as np
import pytest

from apps.processing.dsp import augment as aug

SR = 16000


def tone(seconds, freq=440.0, amp=0.5, sr=SR):
    t = np.arange(int(round(seconds * sr))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def dominant_hz(y, sr=SR):
    """Peak of the Hann-windowed spectrum, refined by parabolic interpolation."""
    spectrum = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    k = int(np.argmax(spectrum[1:-1])) + 1
    a, b, c = np.log(spectrum[k - 1 : k + 2] + 1e-20)
    k += 0.5 * (a - c) / (a - 2 * b + c)
    return k * sr / y.size


def measured_snr_db(clean, noisy):
    clean = clean.astype(np.float64)
    noise = noisy.astype(np.float64) - clean
    return 10 * math.log10(np.sum(clean**2) / np.sum(noise**2))


# --------------------------------------------------------------------------- waveform


@pytest.mark.parametrize("semitones", [2.0, -3.0, 7.0])
def test_pitch_shift_moves_dominant_frequency_by_the_ratio(semitones):
    y = tone(2.0, 440.0)
    out = aug.augment(y, SR, {"kind": "pitch_shift", "semitones": semitones}, seed=0)
    assert out.shape == y.shape  # duration kept
    middle = out[SR // 2 : -SR // 2]
    expected = 440.0 * 2 ** (semitones / 12)
    assert dominant_hz(middle) == pytest.approx(expected, rel=0.01)


@pytest.mark.parametrize("rate", [0.8, 1.25, 2.0])
def test_time_stretch_changes_duration_by_the_factor_and_keeps_pitch(rate):
    y = tone(2.0, 500.0)
    out = aug.augment(y, SR, {"kind": "time_stretch", "rate": rate}, seed=0)
    assert out.shape[0] == pytest.approx(y.shape[0] / rate, abs=0.01 * SR)
    middle = out[out.size // 4 : -out.size // 4]
    assert dominant_hz(middle) == pytest.approx(500.0, rel=0.01)


@pytest.mark.parametrize("snr_db", [0.0, 10.0, 25.0])
@pytest.mark.parametrize("color", ["white", "pink"])
def test_added_noise_measures_back_within_half_a_db(snr_db, color):
    y = tone(1.0, 300.0, amp=0.3)
    out = aug.augment(y, SR, {"kind": "noise", "snr_db": snr_db, "color": color}, seed=42)
    assert abs(measured_snr_db(y, out) - snr_db) <= 0.5


def test_pink_noise_has_more_low_than_high_energy():
    y = tone(2.0, 1000.0, amp=0.3)
    noise = aug.add_noise(y, 0.0, color="pink", rng=1) - y
    spectrum = np.abs(np.fft.rfft(noise)) ** 2
    freqs = np.fft.rfftfreq(noise.size, 1 / SR)
    low = spectrum[(freqs > 100) & (freqs < 200)].mean()
    high = spectrum[(freqs > 4000) & (freqs < 8000)].mean()
    # 1/f power: octave bands 100-200 Hz vs 4-8 kHz differ by ~30x per bin
    assert low / high > 10


def test_gain_scales_by_decibels():
    y = tone(0.5)
    out = aug.augment(y, SR, {"kind": "gain", "db": -6.0})
    np.testing.assert_allclose(out, y * 10 ** (-6 / 20), rtol=1e-5, atol=1e-7)


def test_time_shift_moves_the_signal_and_zero_fills():
    y = np.arange(1, 1601, dtype=np.float32) / 1600
    out = aug.augment(y, SR, {"kind": "time_shift", "seconds": 0.01})  # 160 samples
    np.testing.assert_array_equal(out[:160], 0.0)
    np.testing.assert_array_equal(out[160:], y[:-160])
    back = aug.augment(y, SR, {"kind": "time_shift", "seconds": -0.01, "rollover": True})
    np.testing.assert_array_equal(back, np.roll(y, -160))


# --------------------------------------------------------------------------- reproducibility


RANDOM_SPECS = [
    {"kind": "noise", "snr_db": 10},
    {"kind": "pitch_shift", "semitones": [-3, 3]},
    {"kind": "time_stretch", "rate": [0.8, 1.2]},
    {"kind": "gain", "db": [-12, 12]},
    {"kind": "time_shift", "seconds": [-0.2, 0.2]},
]


@pytest.mark.parametrize("spec", RANDOM_SPECS, ids=lambda s: s["kind"])
def test_same_seed_same_output_different_seed_different_output(spec):
    rng = np.random.default_rng(3)
    y = (tone(1.0, 330) + 0.05 * rng.standard_normal(SR)).astype(np.float32)
    first = aug.augment(y, SR, spec, seed=123)
    again = aug.augment(y, SR, spec, seed=123)
    other = aug.augment(y, SR, spec, seed=124)
    np.testing.assert_array_equal(first, again)
    assert first.shape != other.shape or not np.array_equal(first, other)


def test_global_random_state_does_not_change_results():
    import random

    y = tone(0.5)
    spec = {"kind": "pitch_shift", "semitones": [-2, 2]}
    random.seed(1)
    np.random.seed(1)
    first = aug.augment(y, SR, spec, seed=7)
    random.seed(99)
    np.random.seed(99)
    np.testing.assert_array_equal(first, aug.augment(y, SR, spec, seed=7))


def test_chain_is_reproducible_and_validates_everything_first():
    y = tone(1.0)
    specs = [{"kind": "gain", "db": [-3, 3]}, {"kind": "noise", "snr_db": [10, 20]}]
    np.testing.assert_array_equal(aug.augment_chain(y, SR, specs, seed=5), aug.augment_chain(y, SR, specs, seed=5))
    with pytest.raises(ValueError, match="Unknown augmentation kind 'reverb'"):
        aug.augment_chain(y, SR, [{"kind": "gain", "db": 1}, {"kind": "reverb"}], seed=5)


def test_stereo_input_keeps_its_shape():
    y = np.stack([tone(1.0, 440), tone(1.0, 550)])
    for spec in ({"kind": "pitch_shift", "semitones": 1}, {"kind": "noise", "snr_db": 20}, {"kind": "gain", "db": 3}):
        assert aug.augment(y, SR, spec, seed=0).shape == y.shape


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"kind": "reverb"}, "Unknown augmentation kind 'reverb'"),
        ({"semitones": 2}, "Unknown augmentation kind None"),
        ({"kind": "pitch_shift"}, 'needs parameter "semitones"'),
        ({"kind": "pitch_shift", "semitones": 30}, 'parameter "semitones" must be <= 24'),
        ({"kind": "pitch_shift", "semitones": "two"}, 'parameter "semitones" must be a number'),
        ({"kind": "pitch_shift", "semitones": 2, "steps": 1}, "does not take parameter"),
        ({"kind": "time_stretch", "rate": 0}, 'parameter "rate" must be >= 0.1'),
        ({"kind": "time_stretch", "rate": [1.2, 0.8]}, "range has low 1.2 above high 0.8"),
        ({"kind": "time_stretch", "rate": [1, 2, 3]}, "range must be"),
        ({"kind": "noise", "snr_db": 10, "color": "blue"}, 'parameter "color" must be one of'),
        ({"kind": "noise", "snr_db": float("nan")}, "must be finite"),
        ({"kind": "time_shift", "seconds": 0.1, "rollover": "yes"}, "must be true or false"),
    ],
)
def test_bad_specs_raise_value_error_with_a_sentence(spec, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("[", r"\[")):
        aug.augment(tone(0.1), SR, spec, seed=0)


def test_validate_spec_normalises():
    assert aug.validate_spec({"kind": "time_stretch", "rate": (0.9, 1.1)}) == {
        "kind": "time_stretch",
        "rate": [0.9, 1.1],
    }
    assert aug.validate_spec({"kind": "noise", "snr_db": 5}) == {"kind": "noise", "snr_db": 5.0, "color": "white"}


# --------------------------------------------------------------------------- SpecAugment


def test_spec_augment_masks_exactly_the_drawn_bands_with_the_mask_value():
    mel = np.ones((80, 300), dtype=np.float32)
    kwargs = dict(n_freq_masks=2, freq_mask_param=10, n_time_masks=3, time_mask_param=20)
    out = aug.spec_augment(mel, rng=11, mask_value=-5.0, **kwargs)
    freq_masks, time_masks = aug.spec_augment_masks(80, 300, rng=11, **kwargs)
    assert len(freq_masks) == 2 and len(time_masks) == 3
    assert all(0 <= b - a <= 10 for a, b in freq_masks)
    assert all(0 <= b - a <= 20 for a, b in time_masks)
    expected_rows = set().union(*(range(a, b) for a, b in freq_masks))
    expected_cols = set().union(*(range(a, b) for a, b in time_masks))
    masked_rows = {i for i in range(80) if np.all(out[i] == -5.0)}
    masked_cols = {j for j in range(300) if np.all(out[:, j] == -5.0)}
    assert masked_rows == expected_rows
    assert masked_cols == expected_cols
    # everything else untouched, and only the mask value was written
    keep = np.ones_like(out, dtype=bool)
    keep[sorted(expected_rows), :] = False
    keep[:, sorted(expected_cols)] = False
    np.testing.assert_array_equal(out[keep], 1.0)
    assert set(np.unique(out)) <= {1.0, -5.0}
    np.testing.assert_array_equal(mel, 1.0)  # input not modified


def test_spec_augment_fixed_width_masks_count():
    # With F = 1 each frequency mask is 0 or 1 rows wide; over many seeds the
    # masked-row count never exceeds n_freq_masks and hits it at least once.
    mel = np.zeros((40, 50))
    counts = set()
    for seed in range(30):
        out = aug.spec_augment(mel, seed=seed, n_freq_masks=3, freq_mask_param=1, n_time_masks=0, mask_value=1.0)
        counts.add(int(np.sum(np.all(out == 1.0, axis=1))))
    assert max(counts) == 3 and min(counts) >= 0


def test_spec_augment_reproducible_and_mean_fill():
    rng = np.random.default_rng(0)
    mel = rng.standard_normal((64, 200))
    a = aug.spec_augment(mel, seed=9, mask_value="mean")
    b = aug.spec_augment(mel, seed=9, mask_value="mean")
    c = aug.spec_augment(mel, seed=10, mask_value="mean")
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.any(a == np.float64(mel.mean()))


def test_spec_augment_respects_time_fraction_and_channels():
    mel = np.ones((2, 40, 100))
    out = aug.spec_augment(mel, seed=1, n_freq_masks=0, n_time_masks=1, time_mask_param=100, max_time_fraction=0.1)
    masked = np.all(out[0] == 0.0, axis=0)
    assert masked.sum() <= 10
    np.testing.assert_array_equal(out[0], out[1])


def test_spec_augment_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n_freq_masks must be a non-negative integer"):
        aug.spec_augment(np.zeros((10, 10)), seed=0, n_freq_masks=-1)
    with pytest.raises(ValueError, match="mask_value must be"):
        aug.spec_augment(np.zeros((10, 10)), seed=0, mask_value="median")
    with pytest.raises(ValueError, match="needs a"):
        aug.spec_augment(np.zeros(10), seed=0)


# --------------------------------------------------------------------------- mel warp (VTLP)


def _mel_db_of_sine(freq: float) -> np.ndarray:
    from apps.processing.dsp import FeatureParams, compute_features

    sr = 16000
    t = np.arange(sr // 2) / sr
    y = (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    params = FeatureParams(sr=sr, n_fft=512, hop_length=160, n_mels=80)
    mel = compute_features(y, params, ("mel",))["mel"]
    return 10 * np.log10(np.maximum(mel, 1e-10))


@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_mel_warp_moves_a_tone_to_the_band_of_the_warped_frequency(factor):
    mel = _mel_db_of_sine(1000.0)
    warped = aug.mel_warp(mel, factor, sr=16000)
    peak = int(np.argmax(warped.mean(axis=1)))
    expected = int(np.argmax(_mel_db_of_sine(1000.0 * factor).mean(axis=1)))
    assert abs(peak - expected) <= 1, (peak, expected)
    assert peak != int(np.argmax(mel.mean(axis=1)))  # it did move


def test_mel_warp_keeps_shape_dtype_frames_and_both_ends():
    rng = np.random.default_rng(0)
    mel = rng.standard_normal((2, 80, 50)).astype(np.float32)
    before = mel.copy()
    np.testing.assert_array_equal(aug.mel_warp(mel, 1.0, sr=16000), mel)
    for factor in (0.85, 1.15):
        out = aug.mel_warp(mel, factor, sr=16000)
        assert out.shape == mel.shape and out.dtype == np.float32
        # Frames are warped one by one (time untouched) and channels alike.
        np.testing.assert_allclose(out[0, :, 7], aug.mel_warp(mel[0, :, 7:8], factor, sr=16000)[:, 0], atol=1e-6)
        np.testing.assert_allclose(out[1], aug.mel_warp(mel[1], factor, sr=16000), atol=1e-6)
        assert not np.allclose(out, mel)
    np.testing.assert_array_equal(mel, before)  # input not modified


def test_mel_warp_reads_lower_bands_above_one_higher_below_and_keeps_the_ends():
    # A ramp (band k holds k) warped gives the fractional band each output band reads.
    ramp = np.repeat(np.arange(80, dtype=np.float32)[:, None], 3, axis=1)
    for factor in (0.85, 0.95, 1.05, 1.15):
        src = aug.mel_warp(ramp, factor, sr=16000)[:, 0]
        assert np.all(np.diff(src) > 0)  # order of bands kept
        assert src[0] < 1.0 and src[-1] > 78.0  # 0 Hz and the top stay put
        inner = src[10:60] - np.arange(10, 60)
        assert np.all(inner < 0) if factor > 1 else np.all(inner > 0)


def test_mel_warp_rejects_bad_arguments():
    with pytest.raises(ValueError, match="factor must be"):
        aug.mel_warp(np.zeros((10, 10)), 3.0, sr=16000)
    with pytest.raises(ValueError, match="boundary must be"):
        aug.mel_warp(np.zeros((10, 10)), 1.1, sr=16000, boundary=1.5)
    with pytest.raises(ValueError, match="needs a"):
        aug.mel_warp(np.zeros(10), 1.1, sr=16000)
