"""Server folder imports: the CLI, the API (confined to EARMARK_IMPORT_ROOTS), progress and results."""

import io

import pytest
from django.core.management import CommandError, call_command

from apps.catalog.models import ImportSource, Recording
from apps.catalog.services import import_source_create
from apps.core.errors import DomainError
from tests.conftest import make_audio

pytestmark = pytest.mark.django_db


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "imports" / "session1"
    (root / "day2").mkdir(parents=True)
    (root / "a.wav").write_bytes(make_audio(seed=1))
    (root / "day2" / "b.wav").write_bytes(make_audio(seed=2))
    (root / "day2" / "c-copy.wav").write_bytes(make_audio(seed=2))
    (root / "notes.txt").write_text("field notes")
    (root / ".hidden.wav").write_bytes(make_audio(seed=3))
    (root / "metadata.json").write_text('{"day2/b.wav": {"speaker": "s9", "language": "de", "mic": "lav"}}')
    return root


def test_import_audio_command_reports_each_file(project_with_roles, folder):
    project, _ = project_with_roles
    out = io.StringIO()
    call_command("import_audio", "Speech", str(folder), stdout=out, stderr=io.StringIO())
    lines = out.getvalue().splitlines()
    assert lines[-1] == "1 accepted, 1 quarantined, 1 duplicates, 2 rejected"  # s9 has no consent (issue 12)
    assert "rejected    .hidden.wav  (its name starts with a dot (a hidden file), so it was not imported)" in lines
    assert "accepted    a.wav" in lines and any(
        line.startswith("duplicate   c-copy.wav  (duplicate of recording") for line in lines
    )
    b = Recording.objects.get(project=project, original_name="b.wav")
    assert (b.speaker.code, b.language.tag, b.metadata) == ("s9", "de", {"mic": "lav"})


def test_import_audio_command_unknown_project_or_folder(project_with_roles, folder):
    with pytest.raises(CommandError, match="no project"):
        call_command("import_audio", "Nope", str(folder))
    with pytest.raises(CommandError, match="is not a folder"):
        call_command("import_audio", "Speech", str(folder / "missing"))


def test_api_folder_import_runs_with_progress(
    api, project_with_roles, folder, settings, django_capture_on_commit_callbacks
):
    project, users = project_with_roles
    settings.EARMARK_IMPORT_ROOTS = [str(folder.parent)]
    source = import_source_create(name="session1", kind="folder", path=str(folder), projects=[project])
    with django_capture_on_commit_callbacks(execute=True):
        response = api(users["manager"]).post(
            f"/api/v1/projects/{project.id}/imports/", {"source_id": source.id}, format="json"
        )
    assert response.status_code == 202
    # Celery is eager in unit tests: the batch ran on commit.
    detail = api(users["manager"]).get(f"/api/v1/imports/{response.json()['id']}/").json()
    assert (detail["status"], detail["total"], detail["processed"], detail["percent"]) == ("done", 5, 5, 100.0)
    # The hidden file gets a result of its own (issue 14: every file of a folder is answered for).
    assert (detail["accepted"], detail["quarantined"], detail["duplicates"], detail["rejected"]) == (1, 1, 1, 2)


def test_folder_source_outside_import_roots_is_refused(project_with_roles, folder, settings, tmp_path):
    project, _ = project_with_roles
    settings.EARMARK_IMPORT_ROOTS = [str(tmp_path / "elsewhere")]
    for location in [str(folder), str(tmp_path / "elsewhere" / ".." / "imports")]:
        with pytest.raises(DomainError, match="outside the folders the server may import from"):
            import_source_create(name="x", kind="folder", path=location, projects=[project])
    assert ImportSource.objects.count() == 0 and Recording.objects.count() == 0


def test_api_import_input_errors_name_the_field(api, project_with_roles):
    project, users = project_with_roles
    client = api(users["manager"])
    url = f"/api/v1/projects/{project.id}/imports/"
    assert "source_id" in client.post(url, {"source": "folder"}, format="json").json()["detail"]
    assert "file" in client.post(url, {"source": "zip"}, format="multipart").json()["detail"]
    assert "source" in client.post(url, {"source": "ftp", "source_id": 1}, format="json").json()["detail"]
    assert (
        "registered import source"
        in client.post(url, {"source": "s3", "location": "s3://bucket/x"}, format="json").json()["detail"]
    )
