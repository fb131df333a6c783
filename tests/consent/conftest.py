"""Consent fixtures: a project with a consenting speaker, one recording stored in storage, and its annotation."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from tests.catalog.factories import RecordingFactory, SpeakerFactory
from tests.conftest import make_audio


def store_recording(project, speaker, seed):
    """A Recording row plus its original object in the current default storage."""
    data = make_audio(seconds=0.5, seed=seed)
    recording = RecordingFactory(project=project, speaker=speaker, bytes=len(data))
    default_storage.save(recording.original_key, ContentFile(data))
    return recording, data


@pytest.fixture
def consent_world(project_with_roles):
    """Project + users per role; speaker 'alice' (identity, 2 recordings) and 'bob' (1 recording), both consenting."""
    from apps.catalog.models import SpeakerIdentity

    project, users = project_with_roles
    alice = SpeakerFactory(project=project, code="alice-code")
    SpeakerIdentity.objects.create(speaker=alice, full_name="Alice Example", email="alice@example.org")
    bob = SpeakerFactory(project=project, code="bob-code")
    a1, a1_bytes = store_recording(project, alice, 1)
    a2, a2_bytes = store_recording(project, alice, 2)
    b1, b1_bytes = store_recording(project, bob, 3)
    return {
        "project": project,
        "users": users,
        "alice": alice,
        "bob": bob,
        "a1": a1,
        "a2": a2,
        "b1": b1,
        "bytes": {a1.id: a1_bytes, a2.id: a2_bytes, b1.id: b1_bytes},
        "alice_consent": alice.consent_records.get(),
        "bob_consent": bob.consent_records.get(),
    }
