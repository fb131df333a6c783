"""Shared helpers for processing tests: ingest a recording the real way (which queues its job)."""

import io

from tests.conftest import make_audio


def ingest(
    project,
    user,
    *,
    seconds=2.0,
    sr=16000,
    channels=1,
    seed=0,
    name="clip.wav",
    freq=440.0,
    fmt="WAV",
    subtype="PCM_16",
):
    """Upload through the catalogue's ingest service; returns the Recording (its job runs eagerly in unit tests)."""
    from apps.catalog.services import recording_ingest

    data = make_audio(seconds=seconds, sr=sr, channels=channels, seed=seed, freq=freq, fmt=fmt, subtype=subtype)
    result = recording_ingest(project=project, fileobj=io.BytesIO(data), name=name, created_by=user)
    assert result.status == "accepted", result.message
    from apps.consent.selectors import recording_get_usable

    return recording_get_usable(None, "store", result.recording_id)


def artifact_kinds(recording):
    from apps.processing.models import Artifact

    # voice_activity (speakerless recordings only, keyed by the detector, not the recipe) is tested in
    # tests/consent/test_speech_without_speaker.py
    return set(
        Artifact.objects.filter(source_sha256=recording.sha256)
        .exclude(kind="voice_activity")
        .values_list("kind", flat=True)
    )


def stored_feature(kind: str):
    """A stored feature artifact read back as float32 (chunked files; see apps/processing/dsp/chunked.py)."""
    from apps.processing.models import Artifact
    from apps.processing.selectors import feature_open

    return feature_open(artifact=Artifact.objects.get(kind=kind)).read()
