"""One-STFT features agree with librosa's separate calls; chroma finds the note."""

import librosa
import numpy as np
import pytest

from apps.processing.dsp import FeatureParams, compute_features, warm_up

SR = 22050
REL_TOL = 1e-4  # max abs error / max abs reference value


def noise_and_tones(seconds=3.0, sr=SR, seed=0):
    rng = np.random.default_rng(seed)
    n = int(seconds * sr) + 777  # not a multiple of any hop
    t = np.arange(n) / sr
    y = 0.05 * rng.standard_normal(n) + 0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 1234.5 * t)
    return y.astype(np.float32)


def rel_err(ours, ref):
    assert ours.shape == ref.shape
    return float(np.max(np.abs(ours - ref)) / np.max(np.abs(ref)))


def librosa_reference(y, p):
    stft_kw = dict(n_fft=p.n_fft, hop_length=p.hop_length, win_length=p.win_length, window=p.window, center=p.center)
    mel_kw = dict(sr=p.sr, n_mels=p.n_mels, fmin=p.fmin, fmax=p.fmax, power=p.power, **stft_kw)
    mel = librosa.feature.melspectrogram(y=y, **mel_kw)
    if p.top_db == 80.0:  # mfcc(y=...) always clips at power_to_db's default 80 dB
        mfcc = librosa.feature.mfcc(y=y, n_mfcc=p.n_mfcc, **mel_kw)
    else:
        mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel, top_db=p.top_db), n_mfcc=p.n_mfcc)
    return {
        "spectrogram": librosa.power_to_db(np.abs(librosa.stft(y, **stft_kw)) ** 2, top_db=p.top_db),
        "mel": mel,
        "mfcc": mfcc,
        "chroma": librosa.feature.chroma_stft(y=y, sr=p.sr, tuning=p.tuning, n_chroma=p.n_chroma, **stft_kw),
        "mel_db": librosa.power_to_db(mel, top_db=p.top_db),
    }


PARAM_CASES = {
    "defaults": {},
    "odd_sizes": dict(n_fft=1024, hop_length=300, win_length=800, fmin=50.0, fmax=8000.0, n_mels=64, n_mfcc=13),
    "not_centred": dict(center=False, window="hamming"),
    "magnitude": dict(power=1.0, top_db=60.0),
    "no_top_db": dict(top_db=None, n_chroma=24, tuning=0.25),
}


@pytest.mark.parametrize("case", PARAM_CASES)
def test_features_agree_with_separate_librosa_calls(case):
    y = noise_and_tones()
    p = FeatureParams(sr=SR, **PARAM_CASES[case])
    ours = compute_features(y, p, ("spectrogram", "mel", "mfcc", "chroma", "mel_db"))
    ref = librosa_reference(y, p)
    for kind, expected in ref.items():
        assert ours[kind].dtype == np.float32
        assert rel_err(ours[kind], expected) < REL_TOL, kind


def test_estimated_tuning_matches_chroma_stft_and_is_reported():
    sr = SR
    t = np.arange(3 * sr) / sr
    y = (0.5 * np.sin(2 * np.pi * 440 * 2 ** (0.3 / 12) * t)).astype(np.float32)  # 30 cents sharp
    ours = compute_features(y, FeatureParams(sr=sr, tuning=None), ("chroma",))
    power = np.abs(librosa.stft(y)) ** 2
    assert ours.tuning == pytest.approx(librosa.estimate_tuning(S=power, sr=sr, bins_per_octave=12), abs=1e-9)
    assert ours.tuning == pytest.approx(0.3, abs=0.05)
    assert rel_err(ours["chroma"], librosa.feature.chroma_stft(y=y, sr=sr)) < REL_TOL


def test_explicit_tuning_is_reported_unchanged():
    f = compute_features(noise_and_tones(1.0), FeatureParams(sr=SR, tuning=-0.1), ("chroma",))
    assert f.tuning == -0.1


def test_440_hz_tone_chroma_peaks_at_a():
    t = np.arange(2 * SR) / SR
    y = (0.5 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    chroma = compute_features(y, FeatureParams(sr=SR), ("chroma",))["chroma"]
    a = 9  # C, C#, D, D#, E, F, F#, G, G#, A
    assert chroma.shape[0] == 12
    assert np.all(np.argmax(chroma, axis=0) == a)
    assert np.all(chroma[a] == pytest.approx(1.0))
    others = np.delete(chroma, a, axis=0)
    assert others.mean() < 0.2


def test_multichannel_matches_librosa_multichannel():
    y = np.stack([noise_and_tones(seed=1), 0.1 * noise_and_tones(seed=2)])
    p = FeatureParams(sr=SR)
    ours = compute_features(y, p)
    ref = librosa_reference(y, p)
    for kind in ("spectrogram", "mel", "mfcc", "chroma"):
        assert ours[kind].shape[0] == 2
        assert rel_err(ours[kind], ref[kind]) < REL_TOL, kind


def test_mfcc_deltas_match_librosa_delta():
    y = noise_and_tones()
    f = compute_features(y, FeatureParams(sr=SR, mfcc_deltas=True), ("mfcc",))
    assert set(f) == {"mfcc", "mfcc_delta", "mfcc_delta2"}
    for order, kind in ((1, "mfcc_delta"), (2, "mfcc_delta2")):
        assert rel_err(f[kind], librosa.feature.delta(f["mfcc"], order=order)) < 1e-5


def test_float64_params_compute_in_float64():
    y = noise_and_tones(1.0).astype(np.float64)
    p = FeatureParams(sr=SR, dtype="float64")
    f = compute_features(y, p, ("mel",))
    assert f["mel"].dtype == np.float64
    assert rel_err(f["mel"], librosa.feature.melspectrogram(y=y, sr=SR, dtype=np.float64)) < 1e-10


def test_only_requested_kinds_are_returned_with_frame_count():
    y = noise_and_tones(1.0)
    p = FeatureParams(sr=SR)
    f = compute_features(y, p, ("mfcc",))
    assert list(f) == ["mfcc"]
    assert f["mfcc"].shape == (20, p.n_frames(y.size)) == (20, 1 + y.size // 512)
    assert p.frame_times(3) == pytest.approx([0.0, 512 / SR, 1024 / SR])


@pytest.mark.parametrize("top_db", [80.0, None])
def test_digital_silence_is_floored_like_power_to_db(top_db):
    """Bins of exact zeros: the AMIN floor, applied in the top_db maximum now, still gives power_to_db's values."""
    y = noise_and_tones(2.0)
    y[: SR // 2] = 0.0  # whole frames of zeros at both ends: a power of exactly 0
    y[-SR // 2 :] = 0.0
    p = FeatureParams(sr=SR, top_db=top_db)
    ours = compute_features(y, p, ("spectrogram", "mfcc", "mel_db"))
    ref = librosa_reference(y, p)
    for kind in ours:
        assert np.isfinite(ours[kind]).all(), kind
        assert rel_err(ours[kind], ref[kind]) < REL_TOL, kind
    spec = ours["spectrogram"]
    floor = -100.0 if top_db is None else float(spec.max()) - top_db
    assert float(spec.min()) == pytest.approx(floor, abs=1e-4)
    assert (spec[:, 0] == spec.min()).all()  # the first frame is all silence: every bin at the floor


def test_chunks_framed_in_place_equal_framing_the_padded_signal():
    """compute_features frames the signal without padding it whole; every run of frames is np.pad's."""
    from apps.processing.dsp import features

    p = FeatureParams(sr=SR)
    rng = np.random.default_rng(3)
    for n in (1, 1000, 2048, 2049, 65536, 65536 + 511, 200_000):
        flat = rng.standard_normal((2, n)).astype(np.float32)
        count = p.n_frames(n)
        want = features._frame_view(np.pad(flat, ((0, 0), (p.pad, p.pad))), p.n_fft, p.hop_length, count)
        got = features._CentredFrames(flat, p, count)
        assert got.shape == want.shape
        for b in range(2):
            for start, size in ((0, 128), (0, count), (1, 3), (count - 3, 128)):
                s = max(0, start)
                np.testing.assert_array_equal(got[b, s : s + size], want[b, s : s + size])
            for s in range(0, count, 128):
                np.testing.assert_array_equal(got[b, s : s + 128], want[b, s : s + 128])


@pytest.mark.parametrize("n_fft", [2048, 1023])
@pytest.mark.parametrize("way", ["matmul", "add"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_power_equals_the_sum_of_the_squared_parts_whatever_the_buffer_held(dtype, way, n_fft):
    """_power's pair sums are re**2 + im**2 of scipy.fft.rfft to the bit (it takes them from scipy.fftpack's packed
    spectrum, in place), into a buffer full of NaN too, with and without a Nyquist bin, whichever of the two ways
    (_pair_sums) this CPU's timing picked: the choice changes speed, never a value."""
    import scipy.fft

    from apps.processing.dsp import features

    p = FeatureParams(sr=SR, dtype=dtype, n_fft=n_fft)
    engine = features._Engine(p, ("spectrogram",), tuning=0.0)
    assert engine.pair_sum in features._pair_sums(dtype).values()
    engine.pair_sum = features._pair_sums(dtype)[way]
    frames = np.random.default_rng(4).standard_normal((97, p.n_fft)).astype(dtype)
    frames[3] = 0.0  # a silent frame: exact zeros
    frames[5, 7] = 1e30 if dtype == "float32" else 1e300  # squares that overflow to inf
    spec = scipy.fft.rfft(frames * features._window(p.window, p.win_length, p.n_fft, dtype), axis=-1)
    with np.errstate(over="ignore"):
        want = spec.real**2 + spec.imag**2
        out = np.full((100, p.n_bins), np.nan, dtype=dtype)
        got = engine._power(frames, out=out[2:99])
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, want)
    assert np.isnan(out[:2]).all() and np.isnan(out[99:]).all()  # nothing written outside the rows asked for


@pytest.mark.parametrize("channels", [1, 2])
def test_the_spectrogram_peak_taken_span_by_span_is_the_peak_of_the_whole(channels):
    """The engine takes the spectrogram's peak in cache, span by span; it equals one maximum over the whole array
    (NaN included), so the top_db clip is the same as clipping at the array's own maximum."""
    from apps.processing.dsp import features

    p = FeatureParams(sr=SR)
    rng = np.random.default_rng(5)
    for n in (3000, 700 * 512, 1100 * 512 + 77):
        flat = (0.1 * rng.standard_normal((channels, n))).astype(np.float32)
        flat[-1, n // 2 :] *= 40.0  # the loudest part in the last span(s) of the last channel
        engine = features._Engine(p, features.DEFAULT_KINDS, tuning=0.0)
        raw = engine.process(features._CentredFrames(flat, p, p.n_frames(n)), floor_db=False)
        assert engine.spec_peak() == float(raw["spectrogram"].max())
        assert len(engine.spec_peaks) == channels * -(-p.n_frames(n) // engine.span)
        if channels == 1:
            got = compute_features(flat[0], p)["spectrogram"]
            assert float(got.min()) == pytest.approx(float(raw["spectrogram"].max()) - p.top_db)
    flat[0, 5000] = np.nan
    engine = features._Engine(p, features.DEFAULT_KINDS, tuning=0.0)
    engine.process(features._CentredFrames(flat, p, p.n_frames(flat.shape[-1])), floor_db=False)
    assert np.isnan(engine.spec_peak())


def test_threads_do_not_share_the_engine_buffers():
    """The chunk buffers are per thread: features computed concurrently equal those computed one at a time."""
    from concurrent.futures import ThreadPoolExecutor

    p = FeatureParams(sr=SR)
    clips = [noise_and_tones(2.0, seed=s) for s in range(6)]
    alone = [compute_features(y, p) for y in clips]
    with ThreadPoolExecutor(3) as pool:
        together = list(pool.map(lambda y: compute_features(y, p), clips * 3))
    for i, f in enumerate(together):
        for kind, a in alone[i % len(clips)].items():
            np.testing.assert_array_equal(f[kind], a)


@pytest.mark.parametrize(
    "bad",
    [dict(n_fft=0), dict(win_length=4096), dict(n_mfcc=200), dict(dtype="int16"), dict(power=0.0)],
)
def test_bad_params_are_rejected(bad):
    with pytest.raises(ValueError):
        FeatureParams(sr=SR, **bad)


def test_unknown_kind_and_too_short_signal_are_rejected():
    p = FeatureParams(sr=SR, center=False)
    with pytest.raises(ValueError, match="kinds"):
        compute_features(np.zeros(4096, np.float32), p, ("zcr",))
    with pytest.raises(ValueError, match="shorter"):
        compute_features(np.zeros(100, np.float32), p)


def test_warm_up_builds_the_recipe_filterbanks():
    from apps.processing.dsp import features

    p = FeatureParams(sr=8000, n_fft=256, hop_length=64, n_mels=20)
    features._mel_basis.cache_clear()
    features._chroma_basis.cache_clear()
    assert warm_up(p) >= 0.0
    mel_misses, chroma_misses = features._mel_basis.cache_info().misses, features._chroma_basis.cache_info().misses
    compute_features(noise_and_tones(0.5, sr=8000), p)
    assert features._mel_basis.cache_info().misses == mel_misses  # nothing new to build
    assert features._chroma_basis.cache_info().misses == chroma_misses


def test_numba_cache_goes_to_the_given_dir(tmp_path):
    """A fresh process caches a compiled kernel in the directory (librosa's kernels are cached the same way)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    cache = tmp_path / "numba-cache"
    (tmp_path / "kernel.py").write_text("import numba\n\n@numba.njit(cache=True)\ndef double(x):\n    return 2 * x\n")
    code = (
        "import sys\n"
        "from apps.processing.dsp import numba_cache_use\n"
        f"assert numba_cache_use({str(cache)!r})\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "import kernel\n"
        "print(kernel.double(21))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=str(Path(__file__).parents[3]),
        check=True,
        capture_output=True,
        text=True,
    )
    assert out.stdout.strip() == "42"
    assert list(cache.rglob("*.nbi")), "numba wrote no cache index files there"


def test_numba_cache_use_respects_an_existing_setting(tmp_path, monkeypatch):
    from apps.processing.dsp import numba_cache_use

    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "configured"))
    assert numba_cache_use(str(tmp_path / "other")) is False
    assert numba_cache_use(str(tmp_path / "configured")) is True
