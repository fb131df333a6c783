"""Cutting and encoding one example's audio from storage."""

import io

import numpy as np
import pytest
import soundfile as sf
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from apps.datasets.services.audio import audio_encode, flac_copy_without_metadata

SR = 16000


def stored(samples, fmt="FLAC", subtype="PCM_16", title=None, sr=SR) -> str:
    buf = io.BytesIO()
    with sf.SoundFile(buf, "w", samplerate=sr, channels=1, format=fmt, subtype=subtype) as f:
        if title:
            f.title = title
        f.write(samples)
    return default_storage.save(
        f"src/{abs(hash((title, fmt, subtype, sr)))}.{fmt.lower()}", ContentFile(buf.getvalue())
    )


def decode(enc):
    data = enc.reader().read()
    samples, sr = sf.read(io.BytesIO(data), dtype="int16")
    return data, samples, sr


@pytest.fixture
def samples():
    return np.random.default_rng(5).integers(-20000, 20000, SR * 2, dtype=np.int16)


def test_whole_flac_is_copied_frame_for_frame_without_its_tags(samples):
    key = stored(samples, title="Recorded by Jane Doe at home")
    assert b"Jane Doe" in default_storage.open(key).read()
    enc = audio_encode(key=key, start=0.0, end=None, sample_rate=None, audio_format="flac")
    data, got, sr = decode(enc)
    np.testing.assert_array_equal(got, samples)
    assert sr == SR and enc.num_samples == len(samples) and b"Jane Doe" not in data
    assert data[4] == 0x80  # STREAMINFO is the only, last metadata block
    assert sf.info(io.BytesIO(data)).frames == len(samples)
    again = audio_encode(key=key, start=0.0, end=None, sample_rate=None, audio_format="flac")
    assert again.reader().read() == data  # the same bytes every time


@pytest.mark.parametrize("fmt, subtype", [("WAV", "PCM_16"), ("FLAC", "PCM_24")])
def test_other_sources_are_transcoded_to_16_bit_flac_with_equal_samples(samples, fmt, subtype):
    enc = audio_encode(key=stored(samples, fmt, subtype), start=0.0, end=None, sample_rate=None, audio_format="flac")
    data, got, sr = decode(enc)
    assert data[:4] == b"fLaC" and sf.info(io.BytesIO(data)).subtype == "PCM_16"
    np.testing.assert_array_equal(got, samples)


def test_cuts_are_sample_exact_and_wav_output_works(samples):
    key = stored(samples)
    enc = audio_encode(key=key, start=0.5, end=0.75, sample_rate=None, audio_format="wav")
    data, got, _ = decode(enc)
    assert data[:4] == b"RIFF"
    np.testing.assert_array_equal(got, samples[8000:12000])


def test_resampling_gives_the_asked_rate_and_length(samples):
    enc = audio_encode(key=stored(samples), start=0.0, end=1.0, sample_rate=8000, audio_format="flac")
    _, got, sr = decode(enc)
    assert sr == 8000 and len(got) == enc.num_samples and abs(len(got) - 8000) <= 1


@pytest.mark.parametrize(
    "data, message",
    [
        (b"RIFF....", "not a FLAC"),
        (b"fLaC\x00\x00\x00\x22abc", "truncated"),
        (b"fLaC\x84\x00\x00\x00", "without STREAMINFO"),
    ],
)
def test_broken_flac_metadata_is_refused(data, message):
    with pytest.raises(ValueError, match=message):
        flac_copy_without_metadata(io.BytesIO(data), io.BytesIO())


def test_open_copy_streams_exactly_the_bytes_audio_encode_writes(samples):
    from apps.datasets.services.audio import flac_open_copy

    key = stored(samples, title="Jane Doe")
    enc = audio_encode(key=key, start=0.0, end=None, sample_rate=None, audio_format="flac")
    src = flac_open_copy(key=key, start=0.0, end=None, sample_rate=SR, audio_format="flac")
    assert (src.sample_rate, src.num_samples, src.channels) == (SR, len(samples), 1)
    got = b"".join(iter(lambda: src.read(1000), b""))
    assert got == enc.reader().read() and b"Jane Doe" not in got
    src.close()
    for n in (1 << 20, -1):  # a clip shorter than the read arrives whole, header and frames in one piece
        src = flac_open_copy(key=key, start=0.0, end=None, sample_rate=SR, audio_format="flac")
        assert src.read(n) == got and src.read(n) == b""
        src.close()
    src = flac_open_copy(key=key, start=0.0, end=None, sample_rate=SR, audio_format="flac")
    assert len(src.read(10)) == 42 and len(src.read(10)) == 10  # a read shorter than the header gets just the header
    src.close()


@pytest.mark.parametrize(
    "fmt, subtype, kwargs",
    [
        ("WAV", "PCM_16", {}),
        ("FLAC", "PCM_24", {}),
        ("FLAC", "PCM_16", {"start": 0.5}),
        ("FLAC", "PCM_16", {"end": 1.0}),
        ("FLAC", "PCM_16", {"sample_rate": 8000}),
        ("FLAC", "PCM_16", {"audio_format": "wav"}),
    ],
)
def test_open_copy_declines_what_needs_transcoding(samples, fmt, subtype, kwargs):
    from apps.datasets.services.audio import flac_open_copy

    args = {"start": 0.0, "end": None, "sample_rate": None, "audio_format": "flac", **kwargs}
    assert flac_open_copy(key=stored(samples, fmt, subtype), **args) is None


def test_read_ahead_keeps_the_bytes_and_closes_a_source_read_to_its_end(samples):
    from apps.datasets.services.audio import flac_open_copy

    key = stored(samples, title="Jane Doe")
    whole = flac_open_copy(key=key, start=0.0, end=None, sample_rate=SR, audio_format="flac")
    expected = b"".join(iter(lambda: whole.read(1000), b""))
    whole.close()
    for ahead in (100, 1 << 20):  # part of the clip read ahead, then all of it (the source is closed at once)
        src = flac_open_copy(key=key, start=0.0, end=None, sample_rate=SR, audio_format="flac")
        src.read_ahead(ahead)
        assert src._fh.closed == (ahead > len(expected))
        assert b"".join(iter(lambda s=src: s.read(4096), b"")) == expected
        src.close()


@pytest.mark.parametrize("margin, in_memory", [(0, True), (-1, False)])
def test_a_small_local_source_is_read_whole_at_once_with_the_same_bytes(samples, margin, in_memory):
    """At most ``whole_below`` bytes: read whole into memory (open, fstat, read, close); larger: an open file."""
    from apps.datasets.services.audio import flac_open_copy
    from apps.datasets.services.storage import storage_open_read

    key = stored(samples, title="Jane Doe")
    with default_storage.open(key, "rb") as f:
        data = f.read()
    fh = storage_open_read(key, whole_below=len(data) + margin)
    assert isinstance(fh, io.BytesIO) == in_memory
    assert fh.read() == data
    fh.close()
    plain = flac_open_copy(key=key, start=0.0, end=None, sample_rate=SR, audio_format="flac")
    want = b"".join(iter(lambda: plain.read(1000), b""))
    plain.close()
    src = flac_open_copy(
        key=key, start=0.0, end=None, sample_rate=SR, audio_format="flac", whole_below=len(data) + margin
    )
    src.read_ahead(1 << 20)
    assert src.read(-1) == want and b"Jane Doe" not in want
    src.close()
