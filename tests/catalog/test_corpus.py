"""The format corpus (tests/catalog/corpus.py) through every ingest path with the real ffmpeg: stored metadata
must match ffprobe's, broken files must be refused in words, and nothing half-written may stay.

Also one test per finding of issue 14 (points 1-7) that fails on fd3b00a.
"""

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command

from apps.catalog.audio_probe import sniff
from apps.catalog.models import ImportBatch, Recording
from tests.catalog import corpus
from tests.conftest import require_service

pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("corpus")]

_LEAKS = ("<", "object at", "SF_INFO", "Error opening", "Internal error", "Traceback", "Errno", "libsndfile")


@pytest.fixture(scope="session")
def corpus_files(tmp_path_factory):
    missing = corpus.missing_tools()
    require_service("ffmpeg, ffprobe, sox and espeak-ng", not missing)
    folder = tmp_path_factory.mktemp("corpus") / "files"
    items = corpus.build(folder)
    facts = {i.name: corpus.ffprobe_facts(folder / i.name) for i in items if i.good}
    return folder, items, facts


def _upload(client, project, paths):
    files = []
    for path in paths:
        buf = io.BytesIO(Path(path).read_bytes())
        buf.name = Path(path).name
        files.append(buf)
    return client.post(f"/api/v1/projects/{project.id}/recordings/", {"files": files}, format="multipart")


def _check_good(item, facts, rec):
    assert rec.container == item.container, item.name
    assert rec.codec == facts["codec"] == item.codec, item.name
    assert rec.sample_rate == facts["sample_rate"], item.name
    assert rec.channels == facts["channels"], item.name
    # Lossy codecs pad or trim a few frames at the edges (encoder delay), decoders differ in how much they hide.
    assert rec.duration == pytest.approx(facts["duration"], abs=0.15 if item.lossy else 0.002), item.name
    assert rec.input_sample_rate == item.input_sample_rate, item.name
    assert rec.original_name == item.name


def _check_bad(item, message):
    assert item.error in message, (item.name, message)
    assert not any(leak in message for leak in _LEAKS), message


def _stored(media: Path) -> list[Path]:
    return [p for p in (media / "originals").rglob("*") if p.is_file()] if (media / "originals").exists() else []


def test_every_corpus_file_uploaded_alone(api, project_with_roles, corpus_files, _media_storage):
    folder, items, facts = corpus_files
    project, users = project_with_roles
    client = api(users["manager"])
    for item in items:
        response = _upload(client, project, [folder / item.name])
        result = response.json()["results"][0]
        if item.good:
            assert response.status_code == 201, (item.name, response.json())
            _check_good(item, facts[item.name], Recording.objects.get(id=result["recording_id"]))
        else:
            assert response.status_code == 400, (item.name, response.json())
            _check_bad(item, response.json()["detail"])
    good = [i for i in items if i.good]
    assert Recording.objects.filter(project=project).count() == len(good)
    assert len(_stored(_media_storage)) == len(good)  # the refused files left no object


def test_corpus_in_one_batch_upload(api, project_with_roles, corpus_files, _media_storage):
    folder, items, facts = corpus_files
    project, users = project_with_roles
    response = _upload(api(users["manager"]), project, [folder / i.name for i in items])
    results = response.json()["results"]
    assert len(results) == len(items)
    for item, result in zip(items, results):
        if item.good:
            assert result["status"] == "accepted", (item.name, result)
            _check_good(item, facts[item.name], Recording.objects.get(id=result["recording_id"]))
        else:
            assert result["status"] == "rejected"
            _check_bad(item, result["message"])


def test_corpus_as_a_zip_gets_a_result_per_member(api, project_with_roles, corpus_files, _media_storage):
    folder, items, facts = corpus_files
    project, users = project_with_roles
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for item in items:
            zf.write(folder / item.name, f"set/{item.name}")
        zf.writestr(".wav", (folder / "wav_s16_16k_mono.wav").read_bytes())
        zf.writestr("..%2f..%2fx.wav", (folder / "flac_s16_8k_mono.flac").read_bytes())
        zf.writestr("__MACOSX/set/._a.wav", b"\x00\x05\x16\x07")
    buf.seek(0)
    buf.name = "corpus.zip"
    response = api(users["manager"]).post(
        f"/api/v1/projects/{project.id}/imports/", {"source": "zip", "file": buf}, format="multipart"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert len(body["results"]) == len(items) + 3  # every member answered for
    by_name = {r["name"]: r for r in body["results"][: len(items)]}
    for item in items:
        result = by_name[item.name]
        if item.good:
            assert result["status"] == "accepted", (item.name, result)
            _check_good(item, facts[item.name], Recording.objects.get(id=result["recording_id"]))
        else:
            _check_bad(item, result["message"])
    tail = body["results"][len(items) :]
    assert all(r["status"] == "rejected" for r in tail)
    assert "starts with a dot" in tail[0]["message"] and "starts with a dot" in tail[1]["message"]
    assert "__MACOSX" in tail[2]["message"]


def test_corpus_as_a_folder_import(
    api, project_with_roles, corpus_files, settings, _media_storage, django_capture_on_commit_callbacks
):
    folder, items, facts = corpus_files
    project, _ = project_with_roles
    settings.EARMARK_IMPORT_ROOTS = [str(folder.parent)]
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    try:
        from apps.catalog.services import import_folder

        results = import_folder(project=project, path=str(folder))
    finally:
        (folder / ".DS_Store").unlink()
    assert len(results) == len(items) + 1
    names = {r.name: r for r in results}
    for item in items:
        result = names[item.name]
        if item.good:
            assert result.status == "accepted", (item.name, result.message)
            _check_good(item, facts[item.name], Recording.objects.get(id=result.recording_id))
        else:
            _check_bad(item, result.message)
    assert "starts with a dot" in names["DS_Store"].message


# --- one test per finding of issue 14 (each fails on fd3b00a) ---------------------------------------------------


def test_point1_m4a_is_decoded_by_the_real_ffmpeg(api, project_with_roles, corpus_files):
    folder, _, _ = corpus_files
    project, users = project_with_roles
    response = _upload(api(users["manager"]), project, [folder / "aac_44k1_stereo.m4a"])
    assert response.status_code == 201, response.json()
    rec = Recording.objects.get(id=response.json()["results"][0]["recording_id"])
    assert (rec.container, rec.codec, rec.sample_rate, rec.channels) == ("mp4", "aac", 44100, 2)
    assert rec.original_key.endswith(".m4a")


def test_point2_adts_is_told_from_mpeg_audio(api, project_with_roles, corpus_files):
    folder, _, _ = corpus_files
    assert sniff((folder / "adts_16k_mono.aac").read_bytes()[:16]) == "adts"
    assert sniff((folder / "mp3_8k_mono.mp3").read_bytes()[:16]) == "mp3"
    assert sniff(b"\xff\xf9\x50\x80") == "adts" and sniff(b"\xff\xfb\x90\x00") == "mp3"
    project, users = project_with_roles
    response = _upload(api(users["manager"]), project, [folder / "adts_16k_mono.aac"])
    assert response.status_code == 201, response.json()
    rec = Recording.objects.get(id=response.json()["results"][0]["recording_id"])
    assert (rec.container, rec.codec) == ("adts", "aac") and rec.original_key.endswith(".aac")


def test_point3_messages_name_the_fault_without_internals(api, project_with_roles, corpus_files):
    folder, _, _ = corpus_files
    project, users = project_with_roles
    client = api(users["manager"])
    rate0 = _upload(client, project, [folder / "rate0.wav"]).json()["detail"]
    assert "the sample rate is 0" in rate0 and not any(leak in rate0 for leak in _LEAKS)
    client_detail = _upload(client, project, [folder / "truncated.flac"]).json()["detail"]
    assert "the header says 9.5 s but the data stops at" in client_detail
    assert not any(leak in client_detail for leak in _LEAKS)
    garbage_flac = b"fLaC" + bytes(range(256)) * 4
    buf = io.BytesIO(garbage_flac)
    buf.name = "junk.flac"
    detail = client.post(f"/api/v1/projects/{project.id}/recordings/", {"files": [buf]}, format="multipart").json()[
        "detail"
    ]
    assert "FLAC" in detail and not any(leak in detail for leak in _LEAKS), detail


def test_point4_dotted_zip_members_get_results(api, project_with_roles, corpus_files):
    folder, _, _ = corpus_files
    project, users = project_with_roles
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.write(folder / "wav_s16_16k_mono.wav", "ok.wav")
        zf.write(folder / "flac_s16_8k_mono.flac", ".wav")
        zf.write(folder / "flac_s16_16k_mono.flac", "..%2f..%2fx.wav")
    buf.seek(0)
    buf.name = "dots.zip"
    body = (
        api(users["manager"])
        .post(f"/api/v1/projects/{project.id}/imports/", {"source": "zip", "file": buf}, format="multipart")
        .json()
    )
    assert len(body["results"]) == 3 and (body["accepted"], body["rejected"]) == (1, 2)
    assert ImportBatch.objects.get(id=body["id"]).total == 3


def test_point5_opus_names_its_decode_rate_and_its_input_rate(api, project_with_roles, corpus_files):
    folder, _, facts = corpus_files
    project, users = project_with_roles
    response = _upload(api(users["manager"]), project, [folder / "opus_from_16k_mono.opus"])
    rec_id = response.json()["results"][0]["recording_id"]
    detail = api(users["manager"]).get(f"/api/v1/recordings/{rec_id}/").json()
    assert (detail["container"], detail["codec"]) == ("ogg", "opus")
    assert detail["sample_rate"] == facts["opus_from_16k_mono.opus"]["sample_rate"] == 48000
    assert detail["input_sample_rate"] == 16000


def test_point6_names_keep_their_characters_and_codecs_speak_one_vocabulary(api, project_with_roles, corpus_files):
    folder, _, _ = corpus_files
    project, users = project_with_roles
    client = api(users["manager"])
    body = _upload(client, project, [folder / "音声_🎤 take.2.wav", folder / "flac_s16_16k_mono.flac"]).json()
    emoji, flac = (Recording.objects.get(id=r["recording_id"]) for r in body["results"])
    assert emoji.original_name == "音声_🎤 take.2.wav" and emoji.codec == "pcm_s16le"
    assert (flac.container, flac.codec) == ("flac", "flac")
    from apps.catalog.services.ingest import sanitize_name

    assert sanitize_name("../..\\evil\u202egnp.wav") == "evilgnp.wav"
    assert sanitize_name("...hidden\x00 name.tar.wav") == "hidden name.tar.wav"


def test_point7_import_audio_prints_a_line_per_file_and_draws_progress_without_a_terminal(
    project_with_roles, corpus_files, tmp_path
):
    folder, items, _ = corpus_files
    out, err = io.StringIO(), io.StringIO()
    call_command("import_audio", "Speech", str(folder), stdout=out, stderr=err)
    lines = out.getvalue().splitlines()
    assert len(lines) == len(items) + 1
    assert any(line.startswith("accepted    aac_16k_mono.m4a") for line in lines)
    assert any(line.startswith("rejected    rate0.wav  (") and "the sample rate is 0" in line for line in lines)
    assert "100%" in err.getvalue() and "importing" in err.getvalue()  # StringIO is no terminal
    quiet = io.StringIO()
    call_command("import_audio", "Speech", str(folder), "--quiet", stdout=quiet, stderr=io.StringIO())
    assert quiet.getvalue().splitlines() == [
        f"0 accepted, 0 quarantined, {sum(i.good for i in items)} duplicates, {sum(not i.good for i in items)} rejected"
    ]


def test_point7_import_audio_output_has_no_library_warnings(project_with_roles, corpus_files, tmp_path):
    """A separate process with the real (non-eager) broker settings, as a person runs it."""
    folder, _, _ = corpus_files
    small = tmp_path / "two"
    small.mkdir()
    for name in ("wav_s16_16k_mono.wav", "rate0.wav"):
        (small / name).write_bytes((folder / name).read_bytes())
    root = Path(__file__).resolve().parents[2]
    env = {
        "SECRET_KEY": "test-only-secret-key-000000000000000000000000",
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "MEDIA_ROOT": str(tmp_path / "m"),
        "CELERY_BROKER_URL": "filesystem://",
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=root, env=env, check=True)
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from apps.catalog.models import Project; Project.objects.create(name='P')",
        ],
        cwd=root,
        env=env,
        check=True,
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "import_audio", "P", str(small)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "rejected    rate0.wav  (the WAV header is damaged: the sample rate is 0)",
        "accepted    wav_s16_16k_mono.wav",
        "1 accepted, 0 quarantined, 0 duplicates, 1 rejected",
    ]
    assert "No hostname" not in done.stderr and "WARNING" not in done.stderr.upper(), done.stderr
