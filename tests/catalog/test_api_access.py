"""Who sees what, range requests, paging, and query counts."""

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.catalog.services import project_create, recording_ingest
from tests.catalog.factories import RecordingFactory
from tests.conftest import make_audio

pytestmark = pytest.mark.django_db


@pytest.fixture
def recording(project_with_roles):
    project, users = project_with_roles
    result = recording_ingest(
        project=project, fileobj=io.BytesIO(make_audio(seconds=1.0)), name="a.wav", created_by=users["manager"]
    )
    return project, users, result.recording_id


def test_every_endpoint_requires_authentication(api, recording):
    project, _, rid = recording
    client = api()
    for url in [
        "/api/v1/projects/",
        f"/api/v1/projects/{project.id}/recordings/",
        f"/api/v1/recordings/{rid}/",
        f"/api/v1/recordings/{rid}/audio",
    ]:
        assert client.get(url).status_code in (401, 403), url


def test_other_projects_recordings_are_404(api, recording, make_user):
    project, _, rid = recording
    outsider = make_user("outsider")
    project_create(name="Other", created_by=outsider)
    client = api(outsider)
    assert client.get(f"/api/v1/recordings/{rid}/").status_code == 404
    assert client.get(f"/api/v1/recordings/{rid}/audio").status_code == 404
    assert client.get(f"/api/v1/projects/{project.id}/recordings/").status_code == 404
    assert client.get(f"/api/v1/projects/{project.id}/").status_code == 404
    assert [p["name"] for p in client.get("/api/v1/projects/").json()["results"]] == ["Other"]
    # A missing id answers exactly like a forbidden one.
    assert client.get("/api/v1/recordings/999999/").json() == client.get(f"/api/v1/recordings/{rid}/").json()


@pytest.mark.parametrize("role", ["annotator", "reviewer", "viewer"])
def test_only_managers_upload_and_import(api, project_with_roles, role):
    project, users = project_with_roles
    buf = io.BytesIO(make_audio())
    buf.name = "a.wav"
    response = api(users[role]).post(f"/api/v1/projects/{project.id}/recordings/", {"files": [buf]}, format="multipart")
    assert response.status_code == 403
    assert "manager" in response.json()["detail"]
    assert api(users[role]).get(f"/api/v1/projects/{project.id}/imports/").status_code == 403


@pytest.mark.parametrize("role", ["manager", "annotator", "reviewer", "viewer"])
def test_members_read_recordings(api, recording, role):
    project, users, rid = recording
    client = api(users[role])
    assert client.get(f"/api/v1/recordings/{rid}/").json()["id"] == rid
    assert [r["id"] for r in client.get(f"/api/v1/projects/{project.id}/recordings/").json()["results"]] == [rid]


def _body(response):
    return b"".join(response.streaming_content)


def test_audio_full_and_ranges(api, recording):
    project, users, rid = recording
    client = api(users["viewer"])
    content = make_audio(seconds=1.0)
    full = client.get(f"/api/v1/recordings/{rid}/audio")
    assert full.status_code == 200 and full["Accept-Ranges"] == "bytes" and full["Content-Type"] == "audio/wav"
    assert _body(full) == content and full["Content-Length"] == str(len(content))

    part = client.get(f"/api/v1/recordings/{rid}/audio", HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 100-199/{len(content)}" and part["Content-Length"] == "100"
    assert _body(part) == content[100:200]

    open_ended = client.get(f"/api/v1/recordings/{rid}/audio", HTTP_RANGE="bytes=1000-")
    assert open_ended.status_code == 206 and _body(open_ended) == content[1000:]
    suffix = client.get(f"/api/v1/recordings/{rid}/audio", HTTP_RANGE="bytes=-10")
    assert suffix.status_code == 206 and _body(suffix) == content[-10:]
    beyond = client.get(f"/api/v1/recordings/{rid}/audio", HTTP_RANGE=f"bytes={len(content) + 5}-")
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{len(content)}"
    unknown_unit = client.get(f"/api/v1/recordings/{rid}/audio", HTTP_RANGE="pages=1-2")
    assert unknown_unit.status_code == 200 and _body(unknown_unit) == content  # RFC 9110: ignored, not refused


def _list_queries(client, project):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"/api/v1/projects/{project.id}/recordings/?page_size=500")
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.json()["results"])


def test_recordings_list_query_count_is_constant(api, project_with_roles):
    project, users = project_with_roles
    client = api(users["viewer"])
    RecordingFactory.create_batch(10, project=project)
    small, n_small = _list_queries(client, project)
    RecordingFactory.create_batch(190, project=project)
    large, n_large = _list_queries(client, project)
    assert (n_small, n_large) == (10, 200)
    assert small == large


def test_recordings_list_filters_and_cursor_paging(api, project_with_roles):
    project, users = project_with_roles
    short = RecordingFactory.create_batch(3, project=project, duration=1.0)
    long = RecordingFactory.create_batch(2, project=project, duration=30.0, status="ready")
    client = api(users["viewer"])
    base = f"/api/v1/projects/{project.id}/recordings/"
    assert {r["id"] for r in client.get(base + "?min_duration=10").json()["results"]} == {r.id for r in long}
    assert {r["id"] for r in client.get(base + "?status=ready").json()["results"]} == {r.id for r in long}
    assert {r["id"] for r in client.get(base + f"?speaker={short[0].speaker.code}").json()["results"]} == {short[0].id}
    assert client.get(base + "?language=fr").json()["results"] == []
    first = client.get(base + "?page_size=2").json()
    second = client.get(first["next"]).json()
    assert len(first["results"]) == 2 and len(second["results"]) == 2
    assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}


def test_bad_filter_is_a_400(api, project_with_roles):
    project, users = project_with_roles
    response = api(users["viewer"]).get(f"/api/v1/projects/{project.id}/recordings/?min_duration=abc")
    assert response.status_code == 400 and "min_duration" in response.json()["detail"]


def test_project_create_makes_creator_manager_and_members_endpoint(api, make_user):
    user, other = make_user("boss", is_staff=True), make_user("helper")
    client = api(user)
    response = client.post("/api/v1/projects/", {"name": "Birds", "target_sample_rate": 48000}, format="json")
    assert response.status_code == 201
    pid = response.json()["id"]
    assert (
        client.post(
            f"/api/v1/projects/{pid}/members/", {"username": "helper", "role": "annotator"}, format="json"
        ).status_code
        == 201
    )
    assert {m["username"]: m["role"] for m in client.get(f"/api/v1/projects/{pid}/members/").json()} == {
        "boss": "manager",
        "helper": "annotator",
    }
    assert (
        api(other)
        .post(f"/api/v1/projects/{pid}/members/", {"username": "helper", "role": "manager"}, format="json")
        .status_code
        == 403
    )
    bad = client.post("/api/v1/projects/", {"name": "X", "target_sample_rate": 5}, format="json")
    assert bad.status_code == 400 and "target_sample_rate" in bad.json()["detail"]


def test_token_auth_for_scripts(client, make_user):
    make_user("scripter")
    response = client.post("/api/v1/auth/token/", {"username": "scripter", "password": "pw-not-secret-123"})
    token = response.json()["token"]
    assert client.get("/api/v1/projects/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200
    assert client.get("/api/v1/projects/", HTTP_AUTHORIZATION="Token nope").status_code == 401


def test_openapi_schema_and_docs(admin_client):
    schema = admin_client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/projects/{project_id}/recordings/" in schema.content
    docs = admin_client.get("/api/docs/")
    assert docs.status_code == 200 and b"cdn" not in docs.content.lower()
