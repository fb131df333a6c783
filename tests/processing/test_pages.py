"""Processing progress on the pages: project page card, recordings list bar, the processing page and its button."""

import pytest
from django.test import Client

from apps.processing.models import JobStatus, ProcessingJob
from tests.processing.helpers import ingest

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_project_and_recordings_pages_show_processing_progress(project_with_roles):
    project, users = project_with_roles
    recording = ingest(project, users["manager"], seconds=0.5)
    ProcessingJob.objects.filter(recording=recording).update(status=JobStatus.RUNNING, percent=42.0, stage="tiles")
    client = _client(users["viewer"])
    page = client.get(f"/projects/{project.id}/").content.decode()
    assert 'data-testid="processing-progress"' in page and "1 running" in page
    listing = client.get(f"/projects/{project.id}/recordings/").content.decode()
    assert f'data-testid="processing-{recording.id}"' in listing and 'value="42"' in listing
    jobs = client.get(f"/projects/{project.id}/processing/").content.decode()
    assert "tiles" in jobs and "42%" in jobs and 'http-equiv="refresh"' in jobs
    assert 'data-testid="reprocess"' not in jobs  # viewers see progress, not the button


def test_reprocess_button_is_for_managers(project_with_roles, make_user, django_capture_on_commit_callbacks):
    project, users = project_with_roles
    with django_capture_on_commit_callbacks(execute=True):
        ingest(project, users["manager"], seconds=0.5)
    assert _client(users["annotator"]).post(f"/projects/{project.id}/processing/reprocess/").status_code == 404
    assert not ProcessingJob.objects.filter(kind="project").exists()
    manager = _client(users["manager"])
    assert 'data-testid="recipe"' in manager.get(f"/projects/{project.id}/processing/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        res = manager.post(f"/projects/{project.id}/processing/reprocess/")
    assert res.status_code == 302
    parent = ProcessingJob.objects.get(kind="project")
    assert parent.status == JobStatus.DONE and parent.children.count() == 1
    assert _client(make_user("stranger")).get(f"/projects/{project.id}/processing/").status_code == 404
