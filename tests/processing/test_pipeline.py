"""The job service end to end in-process (Celery eager): artifacts, idempotency, progress, failures."""

import json

import numpy as np
import pytest
from django.core.files.storage import default_storage

from apps.catalog.models import RecordingStatus
from apps.processing.models import Artifact, JobStatus, ProcessingJob
from tests.processing.helpers import artifact_kinds, ingest

BASE_KINDS = {"peaks", "voiced_segments", "spectrogram", "mel", "mfcc", "chroma", "preview_mel",
              "preview_spectrogram", "tiles_index", "qa", "fingerprint"}


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
    mel = np.load(default_storage.open(Artifact.objects.get(kind="mel").key, "rb"))
    assert mel.shape[0] == 80 and mel.dtype == np.float32
    voiced = json.loads(default_storage.open(Artifact.objects.get(kind="voiced_segments").key).read())
    assert len(voiced["segments"]) == 1 and voiced["segments"][0][1] > 2.5
