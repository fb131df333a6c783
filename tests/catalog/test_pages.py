import io

import pytest

from apps.catalog.services import recording_ingest
from tests.conftest import make_audio

pytestmark = pytest.mark.django_db


def test_pages_for_a_member(client, project_with_roles):
    project, users = project_with_roles
    recording_ingest(project=project, fileobj=io.BytesIO(make_audio()), name="hello.wav", created_by=users["manager"])
    client.force_login(users["manager"])
    assert b"Speech" in client.get("/").content
    assert b"recordings" in client.get(f"/projects/{project.id}/").content
    page = client.get(f"/projects/{project.id}/recordings/?min_duration=0.5")
    assert b"hello.wav" in page.content and b"<audio" in page.content
    assert b"hello.wav" not in client.get(f"/projects/{project.id}/recordings/?min_duration=5").content
    assert b"Upload audio" in client.get(f"/projects/{project.id}/upload/").content


def test_pages_hide_other_projects_and_need_login(client, project_with_roles, make_user):
    project, users = project_with_roles
    assert client.get("/").status_code == 302  # to the login page
    client.force_login(make_user("stranger"))
    assert client.get(f"/projects/{project.id}/").status_code == 404
    assert client.get(f"/projects/{project.id}/recordings/").status_code == 404
    client.force_login(users["viewer"])
    assert client.get(f"/projects/{project.id}/upload/").status_code == 404


def test_login_page_renders(client):
    assert b"Sign in" in client.get("/accounts/login/").content
