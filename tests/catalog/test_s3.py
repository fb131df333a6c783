"""The S3 path for real: django-storages against moto's standalone server over HTTP."""

import io
import subprocess

import pytest
import requests
from django.core.management import call_command

from apps.catalog.models import Recording
from tests.conftest import make_audio, s3_keys

pytestmark = [pytest.mark.django_db, pytest.mark.s3]


def _upload(client, project, name, content):
    buf = io.BytesIO(content)
    buf.name = name
    return client.post(f"/api/v1/projects/{project.id}/recordings/", {"files": [buf]}, format="multipart")


def test_upload_writes_object_to_bucket_and_audio_redirects_to_presigned_url(api, project_with_roles, s3_storage):
    client_s3, bucket = s3_storage
    project, users = project_with_roles
    content = make_audio(seconds=0.5, seed=11)
    response = _upload(api(users["manager"]), project, "a.wav", content)
    assert response.status_code == 201, response.json()
    rec = Recording.objects.get(id=response.json()["results"][0]["recording_id"])
    assert s3_keys(client_s3, bucket) == [rec.original_key]
    assert client_s3.get_object(Bucket=bucket, Key=rec.original_key)["Body"].read() == content

    audio = api(users["viewer"]).get(f"/api/v1/recordings/{rec.id}/audio")
    assert audio.status_code == 302
    assert "X-Amz-Signature" in audio["Location"] or "Signature=" in audio["Location"]
    fetched = requests.get(audio["Location"], headers={"Range": "bytes=0-99"}, timeout=10)
    assert fetched.status_code == 206 and fetched.content == content[:100]


def test_rejected_and_duplicate_uploads_leave_no_object(api, project_with_roles, s3_storage):
    client_s3, bucket = s3_storage
    project, users = project_with_roles
    client = api(users["manager"])
    assert _upload(client, project, "bad.wav", b"RIFF\x00\x00\x00\x00WAVEjunk").status_code == 400
    assert s3_keys(client_s3, bucket) == []
    content = make_audio(seed=12)
    assert _upload(client, project, "a.wav", content).status_code == 201
    assert _upload(client, project, "b.wav", content).status_code == 409
    assert len(s3_keys(client_s3, bucket)) == 1


def test_import_from_s3_prefix_streams_every_object(project_with_roles, s3_storage, moto_server, monkeypatch):
    client_s3, bucket = s3_storage
    project, _ = project_with_roles
    source = bucket + "-source"
    client_s3.create_bucket(Bucket=source)
    client_s3.put_object(Bucket=source, Key="batch1/a.wav", Body=make_audio(seed=21))
    client_s3.put_object(Bucket=source, Key="batch1/sub/b.flac", Body=make_audio(seed=22, fmt="FLAC"))
    client_s3.put_object(Bucket=source, Key="batch1/broken.wav", Body=b"not audio")
    client_s3.put_object(Bucket=source, Key="batch1/metadata.csv", Body=b"file,speaker,language\na.wav,spkA,en\n")
    client_s3.put_object(Bucket=source, Key="other/c.wav", Body=make_audio(seed=23))
    out = io.StringIO()
    call_command("import_audio", str(project.id), f"s3://{source}/batch1/", stdout=out)
    # spkA has no consent on record: a.wav is stored but held in quarantine (issue 12)
    assert "1 accepted, 1 quarantined, 0 duplicates, 1 rejected" in out.getvalue()
    recs = {r.original_name: r for r in Recording.objects.filter(project=project).select_related("speaker")}
    assert set(recs) == {"a.wav", "b.flac"}
    assert recs["a.wav"].speaker.code == "spkA"
    assert sorted(s3_keys(client_s3, bucket)) == sorted(r.original_key for r in recs.values())


def test_s3_prefix_import_decodes_aac_with_the_real_ffmpeg(project_with_roles, s3_storage, tmp_path):
    """Issue 14: M4A and raw ADTS reach ffmpeg with a real path on the S3 path too."""
    from tests.catalog import corpus
    from tests.conftest import require_service

    require_service("ffmpeg, ffprobe, sox and espeak-ng", not corpus.missing_tools())
    client_s3, bucket = s3_storage
    project, _ = project_with_roles
    source = bucket + "-source"  # never the platform's own bucket: imports from it are refused (issue 13)
    client_s3.create_bucket(Bucket=source)
    folder = tmp_path / "c"
    folder.mkdir()
    speech = tmp_path / "s.wav"
    subprocess.run(["espeak-ng", "-w", str(speech), "one two three"], check=True)
    for name, args in (("a.m4a", ["-c:a", "aac"]), ("b.aac", ["-c:a", "aac", "-f", "adts"])):
        subprocess.run(["ffmpeg", "-v", "error", "-i", str(speech), *args, str(folder / name)], check=True)
        client_s3.put_object(Bucket=source, Key=f"in/{name}", Body=(folder / name).read_bytes())
    out = io.StringIO()
    call_command("import_audio", str(project.id), f"s3://{source}/in/", stdout=out, stderr=io.StringIO())
    assert out.getvalue().splitlines()[-1] == "2 accepted, 0 quarantined, 0 duplicates, 0 rejected"
    recs = {r.original_name: (r.container, r.codec) for r in Recording.objects.filter(project=project)}
    assert recs == {"a.m4a": ("mp4", "aac"), "b.aac": ("adts", "aac")}
