"""Issue 14: the streamed stages (voiced segments, peaks, the one feature pass) give what the whole-signal code
gives on short files, and their memory does not grow with the recording's length (tracemalloc, not time)."""

import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from apps.processing.dsp import FeatureParams, PeaksStream, compute_peaks, preprocess, spectrogram_tiles
from apps.processing.dsp.allocator import allocator_tune
from apps.processing.dsp.filters import chroma_filterbank, mel_filterbank, stft_window
from apps.processing.dsp.longform import LongformResult, stream_artifacts
from apps.processing.dsp.voiced import VoicedStream, voiced_segments_stream

SR = 16000


def speechlike(seconds: float, seed: int = 1, *, int16: bool = True) -> np.ndarray:
    """Tone bursts of random length and level between stretches of near-silence (hiss)."""
    rng = np.random.default_rng(seed)
    parts, total = [], 0
    while total < seconds * SR:
        gap = 0.0005 * rng.standard_normal(int(SR * rng.uniform(0.05, 1.0)))
        n = int(SR * rng.uniform(0.05, 1.5))
        burst = rng.uniform(0.05, 0.5) * np.sin(2 * np.pi * rng.uniform(100, 900) * np.arange(n) / SR)
        parts += [gap, burst]
        total += gap.size + n
    y = np.concatenate(parts)[: int(seconds * SR)].astype(np.float32)
    return (np.round(y * 32768) / 32768).astype(np.float32) if int16 else y


def blocks_of(y: np.ndarray, size: int):
    return (y[i : i + size] for i in range(0, y.size, size))


@pytest.mark.parametrize("block", [1000, 4096, 1 << 18])
def test_streamed_voiced_segments_equal_the_whole_signal_ones(block):
    y = speechlike(40.0)
    whole = preprocess.voiced_segments(y, SR)
    assert len(whole) > 10  # a case with many edges to refine
    assert voiced_segments_stream(blocks_of(y, block), SR, int16_exact=True) == whole


def test_streamed_voiced_segments_of_float_audio_and_options_match():
    y = speechlike(20.0, seed=3, int16=False)
    opts = {"top_db": 30.0, "min_silence_s": 0.5, "min_segment_s": 0.2}
    whole = preprocess.voiced_segments(y, SR, **opts)
    streamed = voiced_segments_stream(blocks_of(y, 7000), SR, **opts)
    assert len(streamed) == len(whole)
    np.testing.assert_allclose(np.array(streamed), np.array(whole), atol=1.0 / SR)


def test_streamed_voiced_segments_of_silence_and_nothing_are_empty(tmp_path):
    assert voiced_segments_stream([np.zeros(50_000, np.float32)], SR) == []
    assert voiced_segments_stream([], SR) == []
    stream = VoicedStream(SR, spill_dir=tmp_path)
    stream.push(speechlike(2.0))
    assert stream.finish()
    assert list(tmp_path.iterdir()) == []  # the spill files are gone


def test_voiced_stream_refuses_framing_it_cannot_stream():
    with pytest.raises(ValueError, match="multiples of hop_length"):
        VoicedStream(SR, frame_length=2000, hop_length=512)


def _tracemalloc_peak(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _feed_voiced(minutes: float) -> None:
    stream = VoicedStream(SR, int16_exact=True)
    rng = np.random.default_rng(0)
    block = 1 << 18
    for i in range(int(minutes * 60 * SR) // block):
        level = 0.3 if (i // 3) % 2 else 0.001  # loud and quiet stretches: edges to refine
        stream.push((level * rng.standard_normal(block)).astype(np.float32).clip(-1, 1))
    assert stream.finish()


def test_voiced_segments_memory_does_not_grow_with_length():
    short, long = _tracemalloc_peak(lambda: _feed_voiced(2)), _tracemalloc_peak(lambda: _feed_voiced(20))
    assert long < short * 1.25 + (256 << 10), (short, long)


def _noise_file(path: Path, minutes: float) -> Path:
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", SR, 1, format="FLAC", subtype="PCM_16") as f:
        for i in range(int(minutes * 60 * SR) // (1 << 18)):
            f.write((0.1 * (1 + (i % 2)) * rng.standard_normal(1 << 18)).astype(np.float32).clip(-1, 1))
    return path


PARAMS = FeatureParams(sr=SR, n_fft=512, hop_length=160, n_mels=80, n_mfcc=20, tuning=0.0)


def _spectral_pass(path: Path, out: Path) -> LongformResult:
    """What the pipeline's one pass does: features, tiles, previews, voiced segments and peaks from one decoding."""
    result = LongformResult()
    voiced = VoicedStream(SR, int16_exact=True)
    peaks = PeaksStream(SR)
    tiles = spectrogram_tiles(str(path), PARAMS, seconds_per_tile_levels=(10.0, 60.0, 600.0))
    taps = [voiced.push, lambda b: peaks.push(np.rint(b * 32768.0).clip(-32768, 32767).astype(np.int16))]
    frames = PARAMS.n_frames(sf.info(str(path)).frames)
    for _ in stream_artifacts(
        str(path),
        PARAMS,
        ("spectrogram", "mel", "mfcc", "chroma"),
        out_dir=out,
        expected_frames=frames,
        tiles=tiles,
        result=result,
        taps=taps,
    ):
        pass
    result.segments, result.peaks = voiced.finish(), peaks.finish()
    return result


def test_the_one_pass_gives_the_peaks_and_voiced_segments_of_their_own_passes(tmp_path):
    y = speechlike(30.0)
    path = tmp_path / "clip.flac"
    sf.write(path, y, SR, subtype="PCM_16")
    result = _spectral_pass(path, tmp_path / "out")
    assert result.segments == preprocess.voiced_segments(sf.read(path, dtype="float32")[0], SR)
    alone = compute_peaks(str(path))
    assert result.peaks.frames == alone.frames
    for a, b in zip(result.peaks.levels, alone.levels, strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_the_one_pass_memory_does_not_grow_with_length(tmp_path):
    short_file, long_file = _noise_file(tmp_path / "2m.flac", 2), _noise_file(tmp_path / "20m.flac", 20)
    short = _tracemalloc_peak(lambda: _spectral_pass(short_file, tmp_path / "a"))
    long = _tracemalloc_peak(lambda: _spectral_pass(long_file, tmp_path / "b"))
    # Ten times the audio: the same blocks, tiles and pooled preview columns; only a few small indexes grow.
    assert long < short * 1.3, (short, long)


@pytest.mark.parametrize(
    "sr,n_fft,n_mels,fmin,fmax,htk",
    [(16000, 512, 80, 0.0, None, False), (44100, 2048, 128, 20.0, 8000.0, False), (22050, 1024, 64, 0.0, None, True)],
)
def test_numpy_filterbanks_equal_librosa(sr, n_fft, n_mels, fmin, fmax, htk):
    import librosa

    np.testing.assert_array_equal(
        mel_filterbank(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk),
        librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk),
    )
    for tuning in (0.0, -0.3):
        np.testing.assert_array_equal(
            chroma_filterbank(sr=sr, n_fft=n_fft, tuning=tuning),
            librosa.filters.chroma(sr=sr, n_fft=n_fft, tuning=tuning),
        )
    np.testing.assert_array_equal(
        stft_window("hann", n_fft // 2, n_fft),
        librosa.util.pad_center(librosa.filters.get_window("hann", n_fft // 2, fftbins=True), size=n_fft),
    )


def test_a_worker_pass_loads_neither_numba_nor_matplotlib(tmp_path):
    """Features, tiles and the labelled previews of a recording, in a fresh interpreter: numba and matplotlib
    would cost a worker child ~2 s and ~100 MB on its first job."""
    path = tmp_path / "clip.flac"
    sf.write(path, speechlike(5.0), SR, subtype="PCM_16")
    code = f"""
import sys
from pathlib import Path
from tests.processing.dsp.test_long_streaming import PARAMS, _spectral_pass
from apps.processing.dsp.preview import preview_png
r = _spectral_pass(Path({str(path)!r}), Path({str(tmp_path / "out")!r}))
png = preview_png(10 * __import__("numpy").log10(r.preview_mel + 1e-10), PARAMS, mel=True, title="Mel — clip")
assert png.startswith(b"\\x89PNG"), png[:8]
print(sorted(m for m in ("numba", "matplotlib", "librosa.util") if m in sys.modules))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[3])
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_preview_png_is_labelled_and_of_the_asked_size():
    import io

    from PIL import Image

    from apps.processing.dsp.preview import preview_png

    S = np.linspace(-80, 0, 80 * 500, dtype=np.float32).reshape(80, 500)
    img = Image.open(io.BytesIO(preview_png(S, PARAMS, mel=True, title="t", hop_length=160 * 50, size=(800, 300))))
    assert img.size == (800, 300) and img.mode == "P"  # an 8-bit palette PNG: a third of the bytes of RGB
    pixels = np.asarray(img.convert("RGB"))
    assert (pixels[:, :60] < 100).all(axis=2).any()  # dark tick labels left of the plot
    colours = {tuple(c) for c in np.unique(pixels.reshape(-1, 3), axis=0)}
    assert len(colours) > 100  # the colour map is there
    assert {(0, 0, 0), (255, 255, 255), (90, 90, 90)} <= colours  # frame, background and the dB labels exactly


def test_allocator_settings_apply_on_glibc():
    assert allocator_tune() in (True, False)
    if Path("/lib/x86_64-linux-gnu/libc.so.6").exists() or Path("/lib/aarch64-linux-gnu/libc.so.6").exists():
        assert allocator_tune() is True
