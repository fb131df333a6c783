import pytest

from tests.processing.helpers import ingest


@pytest.fixture
def processed(project_with_roles, django_capture_on_commit_callbacks):
    """(project, users, recording) with the recording processed in-process (Celery eager)."""
    project, users = project_with_roles
    with django_capture_on_commit_callbacks(execute=True):
        recording = ingest(project, users["manager"], seconds=2.0)
    return project, users, recording


@pytest.fixture
def outsider(make_user):
    """A user who is a manager of another project only."""
    from apps.catalog.services import project_create

    user = make_user("outsider")
    project_create(name="Elsewhere", created_by=user)
    return user
