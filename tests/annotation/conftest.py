"""Fixtures for the annotation tests: a project with a label schema and a few consented recordings."""

import io
import subprocess

import pytest
import soundfile as sf
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from apps.annotation.models import AnnotationSettings, Label, LabelKind, RegionField
from tests.catalog.factories import LanguageFactory, RecordingFactory


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


SENTENCE = "please call me tomorrow morning"


def speech_wav(text: str = SENTENCE) -> bytes:
    out = subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "--stdout", text], capture_output=True, check=True)
    return out.stdout


@pytest.fixture
def drafting(project_with_roles):
    project, users = project_with_roles
    AnnotationSettings.objects.update_or_create(project=project, defaults={"draft_languages": ["en"]})
    wav = speech_wav()
    duration = sf.info(io.BytesIO(wav)).duration

    def recording(language="en-US"):
        rec = RecordingFactory(
            project=project,
            status="ready",
            language=LanguageFactory(tag=language),
            sample_rate=22050,
            duration=duration,
        )
        default_storage.save(rec.original_key, ContentFile(wav))
        return rec

    return project, users, recording
