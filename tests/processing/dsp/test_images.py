"""Preview PNGs have labelled axes; annotator tiles are seamless, indexed as documented, and streamed."""

import io
import math
import tracemalloc

import librosa
import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from apps.processing.dsp import FeatureParams, spectrogram_figure, spectrogram_png, spectrogram_tiles, tile_index

SR = 16000
TRANSPARENT = 255


def tone(seconds, freq=1000.0, sr=SR):
    t = np.arange(int(seconds * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def decode(png):
    img = Image.open(io.BytesIO(png))
    return img, np.asarray(img)


def test_preview_png_has_labelled_axes_and_colour_bar():
    p = FeatureParams(sr=SR, n_fft=1024, hop_length=256, fmax=8000.0)
    fig = spectrogram_figure(tone(2.0), p)
    ax, cbar = fig.axes
    assert ax.get_xlabel() == "Time (s)"
    assert "Hz" in ax.get_ylabel()
    assert ax.get_title() == "Mel spectrogram"
    assert cbar.get_ylabel() == "Power (dB)"
    assert [t.get_text() for t in ax.get_xticklabels() if t.get_text()]  # numbered time axis
    linear = spectrogram_figure(tone(2.0), p, mel=False, title="Clip 7").axes[0]
    assert (linear.get_title(), linear.get_ylabel()) == ("Clip 7", "Frequency (Hz)")


def test_preview_png_is_a_png_of_the_requested_size():
    p = FeatureParams(sr=SR)
    img, _ = decode(spectrogram_png(tone(1.0), p, size=(6.0, 3.0), dpi=50))
    assert img.format == "PNG" and img.size == (300, 150)


def test_preview_rejects_a_3d_input():
    with pytest.raises(ValueError, match="1-D waveform or a 2-D"):
        spectrogram_png(np.zeros((2, 2, 2)), FeatureParams(sr=SR))


def test_tile_index_is_shaped_as_the_annotator_api_says():
    doc = tile_index(25.0, sr=SR, seconds_per_tile_levels=(10.0, 60.0), tile_width=512, height=128, fmax=8000)
    assert doc == {
        "levels": [
            {
                "level": 0,
                "seconds_per_tile": 10.0,
                "tile_width": 512,
                "height": 128,
                "count": 3,
                "fmin": 0,
                "fmax": 8000,
                "mel": True,
            },
            {
                "level": 1,
                "seconds_per_tile": 60.0,
                "tile_width": 512,
                "height": 128,
                "count": 1,
                "fmin": 0,
                "fmax": 8000,
                "mel": True,
            },
        ],
        "duration": 25.0,
    }


def test_tiles_cover_every_index_and_put_the_tone_in_its_mel_row():
    p = FeatureParams(sr=SR, n_fft=1024, hop_length=256)
    tiles = spectrogram_tiles(
        tone(25.0), p, seconds_per_tile_levels=(10.0, 60.0), tile_width=256, height=64, fmax=8000.0
    )
    got = {(level, index): png for level, index, png in tiles}
    assert sorted(got) == [(0, 0), (0, 1), (0, 2), (1, 0)]
    # Row 0 is the top of the picture, so the highest band; 1 kHz sits in the nearest mel band.
    centres = librosa.mel_frequencies(64 + 2, fmin=0.0, fmax=8000.0)[1:-1]
    expected_row = 63 - int(np.argmin(np.abs(centres - 1000.0)))
    for key, png in got.items():
        img, px = decode(png)
        assert img.size == (256, 64) and img.mode == "P", key
        opaque = px[:, (px != TRANSPARENT).all(axis=0)]
        assert opaque.shape[1] > 0, key
        assert np.all(np.abs(np.argmax(opaque, axis=0) - expected_row) <= 1), key
    # Tile 2 of level 0 holds 20..30 s: audio ends at 25 s, half way.
    _, px = decode(got[(0, 2)])
    has_audio = (px != TRANSPARENT).all(axis=0)
    assert has_audio[:127].all() and not has_audio[129:].any()
    # Level 1's only tile covers 60 s: 25/60 of its columns have audio.
    _, px = decode(got[(1, 0)])
    assert abs(int((px != TRANSPARENT).all(axis=0).sum()) - math.ceil(25 / 60 * 256)) <= 1


def test_tiles_from_a_file_in_small_blocks_equal_tiles_from_the_whole_array(tmp_path):
    rng = np.random.default_rng(1)
    y = (tone(13.0, 440.0) * (rng.random(13 * SR) < 0.7) + 0.01 * rng.standard_normal(13 * SR)).astype(np.float32)
    path = tmp_path / "x.wav"
    sf.write(path, y, SR, subtype="FLOAT")
    p = FeatureParams(sr=SR)
    kw = dict(seconds_per_tile_levels=(2.0, 10.0), tile_width=128, height=32)
    whole = [(lvl, i, decode(png)[1]) for lvl, i, png in spectrogram_tiles(y, p, **kw)]
    streamed = [(lvl, i, decode(png)[1]) for lvl, i, png in spectrogram_tiles(str(path), p, block_frames=3001, **kw)]
    assert sorted(k[:2] for k in whole) == sorted(k[:2] for k in streamed)
    by_key = {k[:2]: k[2] for k in whole}
    for lvl, i, px in streamed:
        ref = by_key[(lvl, i)]
        assert np.array_equal(px == TRANSPARENT, ref == TRANSPARENT)
        # Same mel power up to float rounding: colour indices differ by at most one step.
        assert np.max(np.abs(px.astype(int) - ref.astype(int))) <= 1, (lvl, i)


def test_tiles_of_a_long_file_never_hold_it_in_memory(tmp_path):
    minutes, sr = 12, 16000
    path = tmp_path / "long.wav"
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", samplerate=sr, channels=1, subtype="PCM_16") as f:
        for _ in range(minutes):
            f.write((0.1 * rng.standard_normal(60 * sr)).astype(np.float32))
    decoded_bytes = minutes * 60 * sr * 4  # what a float32 load would take: 46 MB
    p = FeatureParams(sr=sr)
    tracemalloc.start()
    try:
        count = sum(1 for _ in spectrogram_tiles(str(path), p, block_frames=1 << 16))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == math.ceil(minutes * 60 / 10) + math.ceil(minutes * 60 / 60) + math.ceil(minutes * 60 / 600)
    assert peak < decoded_bytes / 5, f"peak traced memory {peak / 1e6:.1f} MB"


def test_tiles_reject_a_multichannel_array():
    with pytest.raises(ValueError, match="1-D"):
        spectrogram_tiles(np.zeros((2, 1000), np.float32), FeatureParams(sr=SR))
