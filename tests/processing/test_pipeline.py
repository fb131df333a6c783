"""The job service end to end in-process (Celery eager): artifacts, idempotency, progress, failures."""

import json

import numpy as np
import pytest
from django.core.files.storage import default_storage

from apps.catalog.models import RecordingStatus
from apps.processing.models import Artifact, JobStatus, ProcessingJob
from tests.processing.helpers import artifact_kinds, ingest, stored_feature

BASE_KINDS = {
    "peaks",
    "voiced_segments",
    "spectrogram",
    "mel",
    "mfcc",
    "chroma",
    "preview_mel",
    "preview_spectrogram",
    "tiles_index",
    "audio",
}


def _storage_keys(prefix="artifacts/"):
    keys = []

    def walk(p):
        try:
            dirs, files = default_storage.listdir(p)
        except FileNotFoundError:
            return
        keys.extend(p + f for f in files)
        for d in dirs:
            walk(f"{p}{d}/")

    walk(prefix)
    return sorted(keys)


@pytest.mark.django_db
def test_upload_queues_job_that_writes_every_artifact(project_with_roles, django_capture_on_commit_callbacks):
    project, users = project_with_roles
    with django_capture_on_commit_callbacks(execute=True):
        recording = ingest(project, users["manager"], seconds=3.0)
    job = ProcessingJob.objects.get(recording=recording)
    assert job.status == JobStatus.DONE, job.error
    assert job.percent == 100.0 and job.attempts == 1
    recording.refresh_from_db()
    assert recording.status == RecordingStatus.READY
    kinds = artifact_kinds(recording)
    assert BASE_KINDS <= kinds
    assert any(k.startswith("tile_0_") for k in kinds)
    # Every row has its object and every object its row.
    rows = sorted(Artifact.objects.values_list("key", flat=True))
    assert rows == _storage_keys()
    mel = stored_feature("mel")
    assert mel.shape[0] == 80 and mel.dtype == np.float32 and Artifact.objects.get(kind="mel").key.endswith(".feat")
    voiced = json.loads(default_storage.open(Artifact.objects.get(kind="voiced_segments").key).read())
    assert len(voiced["segments"]) == 1 and voiced["segments"][0][1] > 2.5


@pytest.mark.django_db
def test_processed_audio_is_flac_at_the_recipe_rate_and_qa_is_opt_in(
    project_with_roles, django_capture_on_commit_callbacks
):
    import io

    import soundfile as sf

    from apps.processing.services import project_recipe_set

    project, users = project_with_roles
    project_recipe_set(
        project=project,
        spec={
            "target_sample_rate": 8000,
            "channels": "keep",
            "artifacts": ["processed_audio", "qa", "fingerprint", "peaks", "mel", "previews", "voiced_segments"],
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        recording = ingest(project, users["manager"], seconds=1.5, sr=22050, channels=2)
    assert artifact_kinds(recording) == {
        "audio",
        "qa",
        "fingerprint",
        "peaks",
        "mel",
        "preview_mel",
        "preview_spectrogram",
        "voiced_segments",
    }
    mel = stored_feature("mel")
    assert mel.shape[:2] == (2, 80)  # channels kept: (channels, n_mels, frames)
    art = Artifact.objects.get(kind="audio")
    info = sf.info(io.BytesIO(default_storage.open(art.key, "rb").read()))
    assert (info.format, info.samplerate, info.channels) == ("FLAC", 8000, 2)
    assert info.frames == 12000 and art.meta["sample_rate"] == 8000
    qa = json.loads(default_storage.open(Artifact.objects.get(kind="qa").key).read())
    assert qa["sample_rate"] == 22050 and qa["channels"] == 2  # measured on the original
    peaks = Artifact.objects.get(kind="peaks").meta
    assert peaks["sample_rate"] == 22050 and peaks["channels"] == 2  # the annotator plays the original


@pytest.mark.parametrize("n, max_columns", [(10, 20), (100_003, 2000), (200_000, 2000), (7, 3)])
def test_preview_pooling_takes_the_max_of_each_group(n, max_columns):
    from apps.processing.services.pipeline import _pool_columns

    S = np.random.default_rng(n).standard_normal((4, n)).astype(np.float32)
    pooled, factor = _pool_columns(S, max_columns)
    assert pooled.shape == (4, -(-n // factor)) and pooled.shape[1] <= max_columns
    expected = np.stack([S[:, i : i + factor].max(axis=1) for i in range(0, n, factor)], axis=1)
    np.testing.assert_array_equal(pooled, expected)
