"""Upload through the API: every accepted format, every bad input, duplicates, batches."""

import io
import zipfile

import pytest
from django.core.files.storage import default_storage

from apps.catalog.models import Recording
from tests.conftest import make_audio

pytestmark = pytest.mark.django_db


def _upload(client, project, *files, sidecar=None):
    data = {"files": [io.BytesIO(content) if not hasattr(content, "read") else content for _, content in files]}
    for buf, (name, _) in zip(data["files"], files):
        buf.name = name
    if sidecar:
        data["sidecar"] = sidecar
    return client.post(f"/api/v1/projects/{project.id}/recordings/", data, format="multipart")


def _stored_files(media):
    return sorted(p.relative_to(media).as_posix() for p in media.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    "fmt,subtype,ext,sr,channels",
    [
        ("WAV", "PCM_16", "wav", 16000, 1),
        ("WAV", "PCM_U8", "wav", 8000, 1),
        ("WAV", "PCM_24", "wav", 48000, 2),
        ("WAV", "PCM_32", "wav", 44100, 1),
        ("WAV", "FLOAT", "wav", 192000, 1),
        ("FLAC", "PCM_16", "flac", 22050, 6),
        ("OGG", "VORBIS", "ogg", 44100, 2),
        ("OGG", "OPUS", "opus", 48000, 1),
        ("MP3", "MPEG_LAYER_III", "mp3", 44100, 1),
        ("AIFF", "PCM_16", "aiff", 16000, 1),
    ],
)
def test_accepted_formats_are_probed_and_stored(
    api, project_with_roles, _media_storage, fmt, subtype, ext, sr, channels
):
    project, users = project_with_roles
    content = make_audio(seconds=0.5, sr=sr, channels=channels, fmt=fmt, subtype=subtype)
    response = _upload(api(users["manager"]), project, (f"clip.{ext}", content))
    assert response.status_code == 201, response.json()
    rec = Recording.objects.get(id=response.json()["results"][0]["recording_id"])
    assert (rec.sample_rate, rec.channels) == (sr, channels)
    assert rec.container == ("ogg" if subtype == "OPUS" else ext)
    assert rec.duration == pytest.approx(0.5, abs=0.08)  # lossy codecs pad a little
    assert rec.original_key.startswith(f"originals/{rec.sha256[:2]}/") and "clip" not in rec.original_key
    assert default_storage.open(rec.original_key).read() == content


def _truncated_wav():
    data = make_audio(seconds=1.0)
    return data[: len(data) // 2]


def _png():
    return b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


BAD_INPUTS = [
    ("empty.wav", b"", "empty (0 bytes)"),
    ("header.wav", make_audio(seconds=1.0)[:30], "truncated"),
    ("short.wav", _truncated_wav(), "the header says 1.0 s but the data stops at 0.50 s"),
    ("noise.wav", bytes(range(256)) * 20, "not an audio file"),
    ("notes.wav", b"hello, this is not audio at all\n" * 10, "looks like text"),
    ("picture.wav", _png(), "PNG image"),
    ("slow.wav", make_audio(seconds=0.5, sr=4000), "outside the accepted 8"),
]


@pytest.mark.parametrize("name,content,message", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_single_upload_gets_400_naming_problem_and_leaves_nothing(
    api, project_with_roles, _media_storage, name, content, message
):
    project, users = project_with_roles
    response = _upload(api(users["manager"]), project, (name, content))
    assert response.status_code == 400
    body = response.json()
    assert message in body["detail"] and name in body["detail"]
    assert body["results"][0]["status"] == "rejected"
    assert Recording.objects.count() == 0
    assert _stored_files(_media_storage) == []


def test_file_over_size_limit_rejected(api, project_with_roles, settings, _media_storage):
    settings.EARMARK_MAX_FILE_BYTES = 10_000
    project, users = project_with_roles
    response = _upload(api(users["manager"]), project, ("big.wav", make_audio(seconds=1.0)))
    assert response.status_code == 400 and "larger than the limit of 10,000 bytes" in response.json()["detail"]
    assert _stored_files(_media_storage) == [] and Recording.objects.count() == 0


def test_duration_over_limit_rejected(api, project_with_roles, settings, _media_storage):
    settings.EARMARK_MAX_DURATION_SECONDS = 1
    project, users = project_with_roles
    response = _upload(api(users["manager"]), project, ("long.wav", make_audio(seconds=2.0)))
    assert response.status_code == 400 and "over the limit of 1 s" in response.json()["detail"]
    assert _stored_files(_media_storage) == []


def test_m4a_without_ffmpeg_names_the_codec(api, project_with_roles, _media_storage, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    project, users = project_with_roles
    m4a = b"\x00\x00\x00\x20ftypM4A \x00\x00\x02\x00M4A mp42isom" + b"\x00" * 100
    response = _upload(api(users["manager"]), project, ("voice.m4a", m4a))
    assert response.status_code == 400
    assert "AAC" in response.json()["detail"] and "ffmpeg" in response.json()["detail"]


def test_same_bytes_twice_is_a_duplicate_not_a_copy(api, project_with_roles, _media_storage):
    project, users = project_with_roles
    client = api(users["manager"])
    content = make_audio(seconds=0.5, seed=3)
    first = _upload(client, project, ("a.wav", content)).json()["results"][0]
    second = _upload(client, project, ("b-renamed.wav", content))
    assert second.status_code == 409
    assert second.json()["detail"] == f"duplicate of recording {first['recording_id']}"
    assert Recording.objects.count() == 1
    assert len(_stored_files(_media_storage)) == 1


def test_batch_goes_on_past_bad_files_with_per_file_results(api, project_with_roles, _media_storage):
    project, users = project_with_roles
    good1, good2 = make_audio(seed=1), make_audio(seed=2)
    response = _upload(
        api(users["manager"]),
        project,
        ("one.wav", good1),
        ("bad.wav", b"nope"),
        ("two.wav", good2),
        ("again.wav", good1),
    )
    assert response.status_code == 201
    statuses = [(r["name"], r["status"]) for r in response.json()["results"]]
    assert statuses == [
        ("one.wav", "accepted"),
        ("bad.wav", "rejected"),
        ("two.wav", "accepted"),
        ("again.wav", "duplicate"),
    ]
    assert Recording.objects.count() == 2 and len(_stored_files(_media_storage)) == 2


def test_sidecar_sets_speaker_language_and_metadata(api, project_with_roles):
    project, users = project_with_roles
    sidecar = io.BytesIO(b"file,speaker,language,room\na.wav,spk7,pt-BR,kitchen\nb.wav,spk8,not a tag!,hall\n")
    sidecar.name = "meta.csv"
    response = _upload(
        api(users["manager"]), project, ("a.wav", make_audio(seed=1)), ("b.wav", make_audio(seed=2)), sidecar=sidecar
    )
    results = response.json()["results"]
    rec = Recording.objects.get(id=results[0]["recording_id"])
    assert (rec.speaker.code, rec.language.tag, rec.metadata) == ("spk7", "pt-BR", {"room": "kitchen"})
    assert results[1]["status"] == "rejected" and "not a BCP-47 language tag" in results[1]["message"]


def test_project_requiring_speakers_rejects_anonymous_files(api, project_with_roles, _media_storage):
    project, users = project_with_roles
    project.require_speaker = True
    project.save()
    response = _upload(api(users["manager"]), project, ("anon.wav", make_audio()))
    assert response.status_code == 400 and "name a speaker" in response.json()["detail"]
    assert _stored_files(_media_storage) == []


def test_user_file_name_is_sanitised_and_never_in_the_key(api, project_with_roles):
    project, users = project_with_roles
    response = _upload(api(users["manager"]), project, ("rm -rf;$(x)<b>.wav", make_audio()))
    rec = Recording.objects.get(id=response.json()["results"][0]["recording_id"])
    assert rec.original_name == "rm -rf;$(x)<b>.wav"  # printable characters stay; the key never holds the name
    assert rec.original_key == f"originals/{rec.sha256[:2]}/{rec.sha256[2:4]}/{rec.sha256}.wav"


def test_thousand_files_in_one_request_are_all_accepted(api, project_with_roles, settings):
    project, users = project_with_roles
    files = [(f"c{i}.wav", make_audio(seconds=0.05, seed=i)) for i in range(1000)]
    response = _upload(api(users["manager"]), project, *files)
    assert response.status_code == 201
    assert response.json()["accepted"] == 1000 and Recording.objects.filter(project=project).count() == 1000


def _zip(entries, compression=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, content in entries:
            zf.writestr(name, content)
    buf.seek(0)
    buf.name = "batch.zip"
    return buf


def _import_zip(client, project, archive):
    return client.post(
        f"/api/v1/projects/{project.id}/imports/", {"source": "zip", "file": archive}, format="multipart"
    )


def test_zip_import_with_nested_folders_traversal_and_nested_archives(api, project_with_roles, _media_storage):
    project, users = project_with_roles
    archive = _zip(
        [
            ("metadata.csv", "file,speaker\ninner/deep/a.wav,spk1\n"),
            ("inner/deep/a.wav", make_audio(seed=1)),
            ("b.flac", make_audio(seed=2, fmt="FLAC")),
            ("../escape.wav", make_audio(seed=3)),
            ("/abs.wav", make_audio(seed=4)),
            ("more.zip", b"PK\x03\x04 nested"),
            ("readme.txt", b"just text"),
        ]
    )
    response = _import_zip(api(users["manager"]), project, archive)
    assert response.status_code == 201
    body = response.json()
    by_name = {r["name"]: r for r in body["results"]}
    # spk1 has no consent on record: stored, held in quarantine (issue 12)
    assert by_name["a.wav"]["status"] == "quarantined" and by_name["b.flac"]["status"] == "accepted"
    assert Recording.objects.get(id=by_name["a.wav"]["recording_id"]).speaker.code == "spk1"
    assert "path traversal" in by_name["escape.wav"]["message"] and "path traversal" in by_name["abs.wav"]["message"]
    assert "archives inside the archive" in by_name["more.zip"]["message"]
    assert "looks like text" in by_name["readme.txt"]["message"]
    assert (body["accepted"], body["quarantined"], body["rejected"], body["status"]) == (1, 1, 4, "done")
    assert len(_stored_files(_media_storage)) == 2


def test_zip_with_too_many_entries_refused_whole(api, project_with_roles, settings, _media_storage):
    settings.EARMARK_ZIP_MAX_ENTRIES = 3
    project, users = project_with_roles
    archive = _zip([(f"{i}.wav", make_audio(seed=i)) for i in range(4)])
    response = _import_zip(api(users["manager"]), project, archive)
    assert response.status_code == 400 and "4 entries; the limit is 3" in response.json()["detail"]
    assert Recording.objects.count() == 0 and _stored_files(_media_storage) == []


def test_zip_bomb_refused_whole(api, project_with_roles, settings, _media_storage):
    settings.EARMARK_ZIP_MAX_UNCOMPRESSED_BYTES = 5_000_000
    project, users = project_with_roles
    archive = _zip([("ok.wav", make_audio()), ("zeros.wav", b"\x00" * 10_000_000)])
    assert len(archive.getvalue()) < 50_000  # it really is a bomb: tiny on the wire
    response = _import_zip(api(users["manager"]), project, archive)
    assert response.status_code == 400 and "zip bomb" in response.json()["detail"]
    assert Recording.objects.count() == 0 and _stored_files(_media_storage) == []


def test_not_a_zip_is_a_400(api, project_with_roles):
    project, users = project_with_roles
    fake = io.BytesIO(b"not a zip")
    fake.name = "x.zip"
    response = _import_zip(api(users["manager"]), project, fake)
    assert response.status_code == 400 and "not a readable zip" in response.json()["detail"]


def test_upload_without_files_names_the_field(api, project_with_roles):
    project, users = project_with_roles
    response = api(users["manager"]).post(f"/api/v1/projects/{project.id}/recordings/", {}, format="multipart")
    assert response.status_code == 400 and "files" in response.json()["detail"]
