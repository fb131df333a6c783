"""The recording page (metadata, jobs, consent, annotations, QA, releases) and the recordings list's links
and filter messages."""

import pytest
from django.test import Client

from apps.annotation.services import annotation_submit, queue_next
from tests.processing.helpers import ingest

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_recording_page_shows_every_panel_and_is_linked_from_the_list(project_with_roles):
    project, users = project_with_roles
    recording = ingest(project, users["manager"], seconds=0.5)
    annotation, _ = queue_next(project_id=project.id, user=users["annotator"])
    annotation_submit(annotation=annotation, user=users["annotator"], version=annotation.version)
    client = _client(users["manager"])
    listing = client.get(f"/projects/{project.id}/recordings/").content.decode()
    assert f'href="/recordings/{recording.id}/"' in listing
    page = client.get(f"/recordings/{recording.id}/").content.decode()
    for panel in ("metadata", "jobs", "consent", "annotations", "qa", "releases"):
        assert f'data-testid="panel-{panel}"' in page, panel
    assert recording.sha256 in page and "annotator" in page and f"/annotations/{annotation.id}/review/" in page
    assert 'data-peaks-url="/api/v1/recordings/' in page and "Not in any release." in page


def test_recording_page_is_not_found_outside_the_project(project_with_roles, make_user):
    project, users = project_with_roles
    recording = ingest(project, users["manager"], seconds=0.5)
    assert _client(make_user("stranger")).get(f"/recordings/{recording.id}/").status_code == 404


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("min_duration", "abc", "Minimum duration must be a number of seconds"),
        ("max_duration", "2s", "Maximum duration must be a number of seconds"),
    ],
)
def test_bad_filters_read_as_sentences(project_with_roles, field, value, message):
    project, users = project_with_roles
    response = _client(users["manager"]).get(f"/projects/{project.id}/recordings/", {field: value})
    html = response.content.decode()
    assert response.status_code == 400 and message in html
    assert "Enter a number" not in html and f"{field} /" not in html
    assert 'type="number" name="min_duration"' in html
