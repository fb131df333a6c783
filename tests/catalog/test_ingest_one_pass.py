"""Ingest reads the bytes once (issue 21): uploads Django spooled to disk are hashed, probed and moved into
storage whole; uncompressed WAV is checked from its header and length rather than decoded."""

import hashlib
import io
import shutil
import struct
import subprocess

import pytest
import soundfile as sf
from django.core.files.storage import default_storage

from apps.catalog.audio_probe import ProbeError, codec_name, probe
from apps.catalog.models import Recording
from tests.conftest import make_audio

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_disk(settings, tmp_path):
    """Every uploaded file goes to a temp file of Django's (none stays in memory); returns that folder."""
    folder = tmp_path / "upload-tmp"
    folder.mkdir()
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0
    settings.FILE_UPLOAD_TEMP_DIR = str(folder)
    return folder


def _upload(client, project, *files):
    data = {"files": []}
    for name, content in files:
        buf = io.BytesIO(content)
        buf.name = name
        data["files"].append(buf)
    return client.post(f"/api/v1/projects/{project.id}/recordings/", data, format="multipart")


def _m4a(folder) -> bytes:
    wav, m4a = folder / "in.wav", folder / "out.m4a"  # MP4 needs a seekable output: a file, not a pipe
    wav.write_bytes(make_audio(seconds=1.0, seed=5))
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(wav), "-c:a", "aac", str(m4a)], check=True)
    return m4a.read_bytes()


def test_uploads_spooled_to_disk_are_stored_whole_readable_and_leave_no_temp_file(
    api, project_with_roles, _media_storage, on_disk, tmp_path
):
    project, users = project_with_roles
    files = [
        ("a.wav", make_audio(seconds=1.0, seed=1)),
        ("b.flac", make_audio(seconds=1.0, seed=2, fmt="FLAC")),
        ("c.ogg", make_audio(seconds=1.0, seed=3, fmt="OGG", subtype="VORBIS")),
    ]
    if shutil.which("ffmpeg") and shutil.which("ffprobe"):
        files.append(("d.m4a", _m4a(tmp_path)))  # ffmpeg reads the upload's own temp file, no copy of it
    response = _upload(api(users["manager"]), project, *files)
    assert response.status_code == 201, response.json()
    assert response.json()["accepted"] == len(files)
    for (name, content), result in zip(files, response.json()["results"], strict=True):
        rec = Recording.objects.get(id=result["recording_id"])
        assert rec.sha256 == hashlib.sha256(content).hexdigest() and rec.bytes == len(content), name
        assert default_storage.open(rec.original_key).read() == content, name
        mode = (_media_storage / rec.original_key).stat().st_mode & 0o777
        assert mode == 0o644, f"{name}: stored with mode {mode:o}"  # moved from a 0600 temp file, then opened up
    assert list(on_disk.iterdir()) == []


def test_bad_upload_spooled_to_disk_gets_400_and_leaves_nothing(api, project_with_roles, _media_storage, on_disk):
    project, users = project_with_roles
    wav = make_audio(seconds=1.0)
    response = _upload(api(users["manager"]), project, ("short.wav", wav[: len(wav) // 2]))
    assert response.status_code == 400
    assert "the header says 1.0 s but the data stops at 0.50 s" in response.json()["detail"]
    assert Recording.objects.count() == 0
    assert [p for p in _media_storage.rglob("*") if p.is_file()] == []
    assert list(on_disk.iterdir()) == []


@pytest.mark.parametrize("fmt", ["WAV", "WAVEX"])
@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_U8", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "ULAW", "ALAW"])
def test_uncompressed_wav_facts_are_exact_without_a_decode(fmt, subtype):
    content = make_audio(seconds=0.75, sr=16000, channels=2, fmt=fmt, subtype=subtype)
    # a chunk after the audio data (as many editors write) is not mistaken for samples
    content = _riff_append(content, b"LIST", b"INFOISFT\x06\x00\x00\x00tools\x00")
    info = probe(io.BytesIO(content), size=len(content), head=content[:128], max_duration=60)
    assert (info.container, info.sample_rate, info.channels, info.frames) == ("wav", 16000, 2, 12000)
    assert info.frames == sf.info(io.BytesIO(content)).frames == len(sf.read(io.BytesIO(content))[0])
    assert info.codec == codec_name("wav", subtype)  # the name libsndfile's reading gives


def test_upload_handler_hash_is_of_the_bytes_it_wrote(api, project_with_roles, _media_storage, on_disk):
    project, users = project_with_roles
    content = make_audio(seconds=3.0, seed=9)  # several of the parser's chunks
    response = _upload(api(users["manager"]), project, ("long.wav", content))
    assert response.status_code == 201
    rec = Recording.objects.get()
    assert rec.sha256 == hashlib.sha256(content).hexdigest()
    assert rec.original_key == f"originals/{rec.sha256[:2]}/{rec.sha256[2:4]}/{rec.sha256}.wav"


def test_uncompressed_wav_with_a_short_data_chunk_is_still_refused():
    content = make_audio(seconds=1.0)
    cut = content[:-2000]
    with pytest.raises(ProbeError, match="the header says 1.0 s but the data stops at 0.94 s"):
        probe(io.BytesIO(cut), size=len(cut), head=cut[:128], max_duration=60)


def test_compressed_wav_is_still_decoded_to_count_its_frames():
    content = make_audio(seconds=0.5, subtype="IMA_ADPCM")
    info = probe(io.BytesIO(content), size=len(content), head=content[:128], max_duration=60)
    assert info.codec == "adpcm_ima_wav"
    assert info.frames == len(sf.read(io.BytesIO(content))[0])


def _riff_append(wav: bytes, chunk_id: bytes, payload: bytes) -> bytes:
    out = wav + chunk_id + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) % 2 else b"")
    return out[:4] + struct.pack("<I", len(out) - 8) + out[8:]


def test_bytes_already_stored_by_another_project_are_linked_to_nothing_new(
    api, project_with_roles, _media_storage, on_disk
):
    from apps.catalog.services import project_create

    project, users = project_with_roles
    wav = make_audio(seconds=1.0, seed=11)
    first = _upload(api(users["manager"]), project, ("a.wav", wav), ("b.wav", make_audio(seconds=1.0, seed=12)))
    key = Recording.objects.get(id=first.json()["results"][0]["recording_id"]).original_key
    before = (_media_storage / key).stat()
    other = project_create(name="Other", created_by=users["manager"])
    second = _upload(api(users["manager"]), other, ("again.wav", wav), ("c.wav", make_audio(seconds=1.0, seed=13)))
    assert second.json()["accepted"] == 2
    again = Recording.objects.get(id=second.json()["results"][0]["recording_id"])
    after = (_media_storage / key).stat()
    assert again.original_key == key and (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert default_storage.open(key).read() == wav
    assert len(list(_media_storage.rglob("*.wav"))) == 3  # a, b and c: the repeated bytes are stored once
    assert list(on_disk.iterdir()) == []
