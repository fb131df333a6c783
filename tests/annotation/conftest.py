"""Fixtures for the annotation tests: a project with a label schema and a few consented recordings."""

import pytest

from apps.annotation.models import Label, LabelKind, RegionField
from tests.catalog.factories import RecordingFactory


@pytest.fixture
def schema(project_with_roles):
    """Region labels speech/noise, clip labels clean/noisy, fields note (text) and quality (choice)."""
    project, users = project_with_roles
    labels = {
        "speech": Label.objects.create(
            project=project, kind=LabelKind.REGION, name="speech", hotkey="1", color="#4e79a7"
        ),
        "noise": Label.objects.create(
            project=project, kind=LabelKind.REGION, name="noise", hotkey="2", color="#f28e2b"
        ),
        "clean": Label.objects.create(project=project, kind=LabelKind.CLIP, name="clean", order=0),
        "noisy": Label.objects.create(project=project, kind=LabelKind.CLIP, name="noisy", order=1),
    }
    RegionField.objects.create(project=project, name="note", type="text")
    RegionField.objects.create(project=project, name="quality", type="choice", choices=["good", "bad"])
    return project, users, labels


@pytest.fixture
def recordings(schema):
    """Three ready 10-second stereo recordings at 16 kHz in the project."""
    project = schema[0]
    return [
        RecordingFactory(project=project, status="ready", duration=10.0, frames=160000, channels=2) for _ in range(3)
    ]


def region(uid="r1", start=1.0, end=2.0, **extra) -> dict:
    return {
        "id": uid,
        "start": start,
        "end": end,
        "channel": None,
        "label": None,
        "text": "",
        "attributes": {},
        "fmin": None,
        "fmax": None,
        **extra,
    }


@pytest.fixture
def item(api, schema, recordings):
    """The annotator's first item from the queue: (client, annotation json, recording json)."""
    project, users, _ = schema
    client = api(users["annotator"])
    response = client.post(f"/api/v1/projects/{project.id}/queue/next/")
    assert response.status_code == 200, response.content
    return client, response.json()["annotation"], response.json()["recording"]
