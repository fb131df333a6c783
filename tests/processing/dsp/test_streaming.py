"""Block-wise features equal whole-file features, with bounded memory."""

import io
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from apps.processing.dsp import (
    FeatureParams,
    NpyFrameWriter,
    compute_features,
    iter_feature_blocks,
    load,
    stream_features,
    streaming,
)

SR = 16000
ALL = ("spectrogram", "mel", "mfcc", "chroma", "mel_db")
REL_TOL = 1e-5


def signal(n, channels=None, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    y = 0.05 * rng.standard_normal(n) + 0.3 * np.sin(2 * np.pi * 440 * t) * (t % 1.0 < 0.5)
    y = y.astype(np.float32)
    return y if channels is None else np.stack([y, 0.5 * y[::-1]])


def blocks_of(y, size):
    return [y[..., i : i + size] for i in range(0, y.shape[-1], size)]


def assert_same(ours, whole):
    assert set(ours) == set(whole)
    for kind in whole:
        assert ours[kind].shape == whole[kind].shape, kind
        scale = np.max(np.abs(whole[kind]))
        assert np.max(np.abs(np.asarray(ours[kind]) - whole[kind])) / scale < REL_TOL, kind


# 512 is the hop, 997 and 12345 are not multiples of it, 300 is shorter than n_fft.
@pytest.mark.parametrize("block", [300, 512, 997, 12345, 10**6])
@pytest.mark.parametrize("channels", [None, 2])
def test_blockwise_equals_whole_file(block, channels):
    y = signal(5 * SR + 333, channels)
    p = FeatureParams(sr=SR, mfcc_deltas=True)
    whole = compute_features(y, p, ALL)
    assert_same(stream_features(blocks_of(y, block), p, ALL), whole)


@pytest.mark.parametrize("block", [700, 4096])
def test_blockwise_equals_whole_file_without_centering(block):
    y = signal(3 * SR + 5)
    p = FeatureParams(sr=SR, center=False, n_fft=1000, hop_length=333)
    assert_same(stream_features(blocks_of(y, block), p, ALL), compute_features(y, p, ALL))


# 126 and 129 frames: with 16-frame chunks the last chunk has 14 and 1 frames.
@pytest.mark.parametrize("n", [4 * SR + 77, 128 * 512])
@pytest.mark.parametrize("channels", [None, 2])
def test_out_dir_writes_npy_files_equal_to_whole_file(tmp_path, monkeypatch, n, channels):
    # Tiny read-back chunks make the top_db, MFCC and delta passes cross chunk edges.
    monkeypatch.setattr(streaming, "_FILE_CHUNK_BYTES", 1)
    y = signal(n, channels)
    p = FeatureParams(sr=SR, mfcc_deltas=True)
    ours = stream_features(iter(blocks_of(y, 3001)), p, ALL, out_dir=tmp_path)
    assert_same(ours, compute_features(y, p, ALL))
    assert sorted(f.name for f in tmp_path.iterdir()) == sorted(f"{k}.npy" for k in ours)
    reloaded = np.load(tmp_path / "mfcc.npy")
    np.testing.assert_array_equal(reloaded, ours["mfcc"])


def test_file_source_resampled_in_blocks_equals_loaded_file():
    y = signal(3 * 22050 + 11, channels=2)
    buf = io.BytesIO()
    sf.write(buf, y.T, 22050, format="WAV", subtype="FLOAT")
    buf.seek(0)
    p = FeatureParams(sr=SR)
    loaded, _ = load(buf, sr=SR)
    buf.seek(0)
    assert_same(stream_features(buf, p, block_frames=5000), compute_features(loaded, p))


def test_iter_feature_blocks_are_contiguous_column_blocks():
    y = signal(3 * SR)
    p = FeatureParams(sr=SR)
    starts, mels = [], []
    for start, block in iter_feature_blocks(blocks_of(y, 4000), p, ("mel", "chroma")):
        assert block["mel"].shape[1] == block["chroma"].shape[1]
        starts.append(start)
        mels.append(block["mel"])
    assert starts == list(np.cumsum([0] + [m.shape[1] for m in mels[:-1]]))
    whole = compute_features(y, p, ("mel",))["mel"]
    np.testing.assert_allclose(np.concatenate(mels, axis=1), whole, rtol=0, atol=REL_TOL * whole.max())


def test_npy_frame_writer_round_trips(tmp_path):
    frames = np.arange(5 * 3, dtype=np.float32).reshape(5, 3)  # 5 frames of 3 values
    w = NpyFrameWriter(tmp_path / "x.npy", (3,), np.float32)
    w.append(frames[:2])
    w.append(frames[2:])
    w.close()
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), frames.T)


def test_out_dir_memory_is_bounded_by_block_not_file(tmp_path):
    block, n_blocks = 16384, 200  # 3.4 minutes; the spectrogram alone is ~26 MB
    rng = np.random.default_rng(0)

    def blocks():
        for _ in range(n_blocks):
            yield (0.1 * rng.standard_normal(block)).astype(np.float32)

    p = FeatureParams(sr=SR)
    tracemalloc.start()
    try:
        out = stream_features(blocks(), p, ALL, out_dir=tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    total_output = sum(a.nbytes for a in out.values())
    assert total_output > 30e6
    assert peak < 8e6, f"peak traced memory {peak / 1e6:.1f} MB"


def test_empty_or_too_short_stream_is_rejected():
    p = FeatureParams(sr=SR, center=False)
    with pytest.raises(ValueError, match="shorter"):
        stream_features([np.zeros(100, np.float32)], p)
    with pytest.raises(ValueError, match="shorter"):
        stream_features([], p)


def test_blocks_must_keep_their_channel_count():
    p = FeatureParams(sr=SR)
    with pytest.raises(ValueError, match="shape"):
        stream_features([np.zeros((2, 4000), np.float32), np.zeros(4000, np.float32)], p)
