"""RecordingOutput builds its dict directly (the recordings list renders a page per request): it must equal what
DRF's ModelSerializer renders from the declared fields, for every kind of row the API shows."""

import datetime

import pytest
from rest_framework import serializers

from apps.catalog.models import Recording, RecordingStatus
from apps.catalog.selectors import recording_list
from apps.catalog.serializers import RecordingOutput
from tests.catalog.factories import RecordingFactory

pytestmark = pytest.mark.django_db


def _drf(recording) -> dict:
    """ModelSerializer's own rendering of the declared fields (what RecordingOutput rendered before)."""
    return serializers.ModelSerializer.to_representation(RecordingOutput(), recording)


def test_recording_output_equals_the_model_serializers_rendering(project_with_roles):
    project, users = project_with_roles
    plain = RecordingFactory(project=project)
    bare = RecordingFactory(project=project, speaker=None, language=None, metadata={}, codec="")
    rich = RecordingFactory(
        project=project,
        status=RecordingStatus.READY,  # a TextChoices member in memory, a string once read back
        input_sample_rate=44100,
        duration=2.5,
        metadata={"sidecar": {"mic": "usb", "take": 2}, "tags": ["a", "b"], "gain": 0.5, "ok": True},
    )
    plain.processing_status, plain.processing_percent = "running", 42.0  # as the list's annotation gives them
    for recording in (plain, bare, rich):
        assert RecordingOutput(recording).data == _drf(recording)  # the rows as created, in memory
    # As the list reads them (speaker and language joined, the processing status annotated), and one by one.
    listed = list(recording_list(actor=users["manager"], project_id=project.id))
    assert len(listed) == 3
    for recording in listed:
        assert RecordingOutput(recording).data == _drf(recording)
        fresh = Recording.objects.get(pk=recording.pk)
        assert RecordingOutput(fresh).data == _drf(fresh)
    assert {r["speaker"] for r in RecordingOutput(listed, many=True).data} == {
        plain.speaker.code,
        rich.speaker.code,
        None,
    }
    assert RecordingOutput(plain).data["processing"] == {"status": "running", "percent": 42.0}
    assert set(RecordingOutput(plain).data) == set(RecordingOutput().fields)


def test_created_at_renders_as_drf_does_in_utc_and_other_zones(project_with_roles, settings):
    project, _ = project_with_roles
    recording = RecordingFactory(project=project)
    recording.created_at = datetime.datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=datetime.UTC)
    assert (
        RecordingOutput(recording).data["created_at"] == "2026-03-01T12:30:15.123456Z" == _drf(recording)["created_at"]
    )
    settings.TIME_ZONE = "Europe/Berlin"
    assert RecordingOutput(recording).data["created_at"] == _drf(recording)["created_at"]
