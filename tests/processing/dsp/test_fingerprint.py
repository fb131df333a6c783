"""Fingerprints survive re-encoding and gain, and tell different content apart."""

import io

import numpy as np
import pytest
import soundfile as sf

from apps.processing.dsp import fingerprint as fpm


def speechlike(seed, sr, seconds=8.0):
    """A random sequence of harmonic tone "syllables" and noise bursts with short pauses."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    y = np.zeros(n)
    position = 0
    while position < n:
        length = int(rng.uniform(0.08, 0.3) * sr)
        t = np.arange(length) / sr
        if rng.integers(3) < 2:
            f = rng.uniform(150, 1500)
            seg = (
                np.sin(2 * np.pi * f * t) + 0.5 * np.sin(2 * np.pi * 2 * f * t) + 0.3 * np.sin(2 * np.pi * 3.1 * f * t)
            )
        else:
            seg = 0.5 * rng.standard_normal(length)
        seg *= np.hanning(length) * rng.uniform(0.1, 0.5)
        y[position : position + length] += seg[: n - position]
        position += length + int(rng.uniform(0.0, 0.15) * sr)
    y += 1e-3 * rng.standard_normal(n)
    return y.astype(np.float32)


def reencode(y, sr, format, **kwargs):
    buffer = io.BytesIO()
    sf.write(buffer, y, sr, format=format, **kwargs)
    buffer.seek(0)
    decoded, decoded_sr = sf.read(buffer, dtype="float32")
    assert decoded_sr == sr
    return decoded


# MP3 at 44.1 kHz: libsndfile maps compression_level 0..1 onto 320..32 kbit/s
MP3_128K = dict(format="MP3", compression_level=(320 - 128) / (320 - 32), bitrate_mode="CONSTANT")
VARIANTS = {
    "mp3_128k": lambda y, sr: reencode(y, sr, **MP3_128K),
    "ogg_vorbis": lambda y, sr: reencode(y, sr, "OGG", subtype="VORBIS"),
    "plus_12db": lambda y, sr: y * 10 ** (12 / 20),
    "minus_12db": lambda y, sr: y * 10 ** (-12 / 20),
    "mp3_minus_12db": lambda y, sr: reencode(y * 10 ** (-12 / 20), sr, **MP3_128K),
    "ogg_plus_6db_delayed_30ms": lambda y, sr: reencode(
        np.r_[np.zeros(int(0.03 * sr), np.float32), y * 2], sr, "OGG", subtype="VORBIS"
    ),
}


@pytest.fixture(scope="module")
def original():
    sr = 44100
    y = speechlike(1, sr)
    return y, sr, fpm.fingerprint(y, sr)


def test_mp3_bitrate_setting_is_about_128k(original):
    y, sr, _ = original
    buffer = io.BytesIO()
    sf.write(buffer, y, sr, **MP3_128K)
    kbps = len(buffer.getvalue()) * 8 / (len(y) / sr) / 1000
    assert kbps == pytest.approx(128, rel=0.05)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_reencoded_and_gain_changed_audio_is_a_near_duplicate(original, variant):
    y, sr, fp = original
    other = fpm.fingerprint(VARIANTS[variant](y, sr), sr)
    assert fpm.is_near_duplicate(fp, other)
    assert fpm.similarity(fp, other) >= 0.5  # margin over the 0.3 threshold
    assert fpm.summary_similarity(fp, other) > 0.95
    assert fpm.coarse_key_distance(fp, other) <= 4


def test_low_rate_default_mp3_and_ogg_are_near_duplicates():
    sr = 16000
    y = speechlike(5, sr)
    fp = fpm.fingerprint(y, sr)
    for kwargs in ({"format": "MP3"}, {"format": "OGG", "subtype": "VORBIS"}):
        assert fpm.is_near_duplicate(fp, fpm.fingerprint(reencode(y, sr, **kwargs), sr))


def test_gain_change_alone_leaves_the_bits_unchanged(original):
    y, sr, fp = original
    louder = fpm.fingerprint(y * 4.0, sr)
    np.testing.assert_array_equal(fp.frames, louder.frames)
    assert fpm.similarity(fp, louder) == 1.0


@pytest.mark.parametrize("seed", [2, 3, 4, 5, 6])
def test_different_content_is_not_a_near_duplicate(original, seed):
    _, sr, fp = original
    other = fpm.fingerprint(speechlike(seed, sr), sr)
    assert not fpm.is_near_duplicate(fp, other)
    assert fpm.similarity(fp, other) < 0.15


def test_noise_and_zero_padded_different_clips_are_not_duplicates():
    sr = 16000
    rng = np.random.default_rng(0)
    a = fpm.fingerprint(rng.standard_normal(sr * 5).astype(np.float32) * 0.1, sr)
    b = fpm.fingerprint(rng.standard_normal(sr * 5).astype(np.float32) * 0.1, sr)
    assert not fpm.is_near_duplicate(a, b)
    # long digital silence in both must not make them match
    pad = np.zeros(sr * 6, dtype=np.float32)
    c = fpm.fingerprint(np.r_[speechlike(1, sr, 3.0), pad], sr)
    d = fpm.fingerprint(np.r_[speechlike(2, sr, 3.0), pad], sr)
    assert fpm.similarity(c, d) < 0.15


def test_short_excerpt_of_a_long_file_is_not_a_near_duplicate():
    sr = 16000
    y = speechlike(7, sr, 12.0)
    assert not fpm.is_near_duplicate(fpm.fingerprint(y[: 2 * sr], sr), fpm.fingerprint(y, sr))


def test_stereo_fingerprints_like_its_mono_mix():
    sr = 22050
    y = speechlike(8, sr, 3.0)
    assert fpm.similarity(fpm.fingerprint(np.stack([y, y]), sr), fpm.fingerprint(y, sr)) == 1.0


def test_bytes_round_trip(original):
    _, _, fp = original
    data = fp.to_bytes()
    back = fpm.Fingerprint.from_bytes(data)
    np.testing.assert_array_equal(back.frames, fp.frames)
    np.testing.assert_array_equal(back.loud, fp.loud)
    np.testing.assert_array_equal(back.summary, fp.summary)
    assert back.duration_s == pytest.approx(fp.duration_s)
    assert back.coarse_key == fp.coarse_key
    assert fpm.similarity(back, fp) == 1.0
    # compact: about 4 bytes per 16 ms frame
    assert len(data) < 4.2 * len(fp) + 200
    with pytest.raises(ValueError, match="not an Earmark fingerprint"):
        fpm.Fingerprint.from_bytes(b"XXXX" + data[4:])
    with pytest.raises(ValueError, match="expected"):
        fpm.Fingerprint.from_bytes(data[:-3])


def test_frame_rate_and_duration(original):
    y, sr, fp = original
    assert fp.duration_s == pytest.approx(len(y) / sr)
    assert fp.hop_s == pytest.approx(0.016)
    assert len(fp) == pytest.approx(fp.duration_s / fp.hop_s, abs=20)
    assert fp.frames.dtype == np.uint32


def test_silence_and_tiny_clips_are_handled():
    sr = 16000
    silent = fpm.fingerprint(np.zeros(sr), sr)
    assert fpm.similarity(silent, silent) == 0.0  # nothing loud to compare
    tiny = fpm.fingerprint(speechlike(1, sr, 0.05), sr)
    assert len(tiny) >= 2
    with pytest.raises(ValueError, match="floating-point"):
        fpm.fingerprint(np.zeros(100, dtype=np.int16), sr)
