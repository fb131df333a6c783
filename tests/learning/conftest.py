"""Learning fixtures: a project whose speakers say "low" and "high" tones, processed for real, labels accepted.

Six speakers consent to everything; one more ("no-train") consents to storing, annotating and reviewing but NOT
to model training. Every recording has accepted regions labelled low/high, so only consent tells them apart.
"""

import io

import numpy as np
import pytest
import soundfile as sf
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

SR = 16000
LAYOUT = [(0.2, 1.0), (1.4, 2.2), (2.6, 3.4)]  # three spoken "words" per recording


def tone_recording(pattern: str, seed: int, seconds: float = 4.0, snr_db: float = 20.0) -> bytes:
    """A recording with a "low" (300 Hz family) or "high" (2.4 kHz family) burst at each LAYOUT slot."""
    rng = np.random.default_rng(seed)
    y = np.zeros(int(seconds * SR), dtype=np.float32)
    for (a, b), kind in zip(LAYOUT, pattern):
        t = np.arange(int((b - a) * SR)) / SR
        base = (300.0 if kind == "l" else 2400.0) * rng.uniform(0.9, 1.1)
        burst = sum(np.sin(2 * np.pi * base * h * t) / h for h in (1, 2, 3)) * np.hanning(len(t))
        y[int(a * SR) : int(a * SR) + len(t)] += 0.4 * burst.astype(np.float32)
    power = np.mean(y[y != 0] ** 2)
    y += rng.standard_normal(len(y)).astype(np.float32) * np.sqrt(power / 10 ** (snr_db / 10))
    buf = io.BytesIO()
    sf.write(buf, y, SR, format="WAV", subtype="PCM_16")
    return buf.getvalue()


# What learning reads (mel, processed audio, voice activity) and the annotator draws (peaks): quick to make.
LIGHT_ARTIFACTS = ["peaks", "voiced_segments", "mel", "processed_audio"]
PATTERNS = ["lhl", "hlh", "llh", "hhl", "lhh", "hll"]


def add_recording(project, speaker, pattern, seed, annotator, labels, *, accepted=True):
    """Store, ingest-like (a Recording row and its original), process in-process, annotate and accept."""
    from apps.annotation.models import Annotation, Region
    from apps.processing.services import recording_queue_processing
    from tests.catalog.factories import RecordingFactory

    data = tone_recording(pattern, seed)
    rec = RecordingFactory(
        project=project, speaker=speaker, bytes=len(data), frames=4 * SR, duration=4.0, sha256=f"{seed:064x}"
    )
    default_storage.save(rec.original_key, ContentFile(data))
    recording_queue_processing(recording=rec)
    ann = Annotation.objects.create(
        project=project,
        recording=rec,
        annotator=annotator,
        version=1,
        status="accepted" if accepted else "submitted",
        submitted_at=timezone.now(),
    )
    for i, ((a, b), kind) in enumerate(zip(LAYOUT, pattern)):
        Region.objects.create(
            annotation=ann, uid=f"u{rec.id}-{i}", start=a, end=b, label=labels["low" if kind == "l" else "high"]
        )
    return rec


@pytest.fixture
def learning_world(project_with_roles, django_capture_on_commit_callbacks):
    from apps.annotation.models import Label
    from apps.consent.models import ConsentRecord
    from apps.consent.purposes import Purpose, purposes_to_mask
    from apps.processing.services import project_recipe_set
    from tests.catalog.factories import SpeakerFactory

    project, users = project_with_roles
    project_recipe_set(project=project, spec={"artifacts": LIGHT_ARTIFACTS})
    labels = {
        name: Label.objects.create(project=project, kind="region", name=name, order=i)
        for i, name in enumerate(("low", "high"))
    }
    speakers, recordings = [], []
    with django_capture_on_commit_callbacks(execute=True):
        for i, pattern in enumerate(PATTERNS):
            spk = SpeakerFactory(project=project, code=f"spk-{i}")
            speakers.append(spk)
            recordings.append(add_recording(project, spk, pattern, 100 + i, users["manager"], labels))
        no_train = SpeakerFactory(project=project, code="no-train", consent=False)
        ConsentRecord.objects.create(
            speaker=no_train,
            granted_at=timezone.now(),
            purpose_mask=purposes_to_mask([Purpose.STORE, Purpose.ANNOTATE, Purpose.REVIEW]),
        )
        excluded = add_recording(project, no_train, "lhl", 200, users["manager"], labels)
    return {
        "project": project,
        "users": users,
        "labels": labels,
        "speakers": speakers,
        "recordings": recordings,
        "no_train": no_train,
        "excluded": excluded,
    }


def train(project, actor, capture, **kwargs):
    """Create and train a model (Celery eager: the task runs on commit, in-process)."""
    from apps.learning.models import ProjectModel
    from apps.learning.services import model_create

    with capture(execute=True):
        model = model_create(project_id=project.id, actor=actor, **kwargs)
    return ProjectModel.objects.get(pk=model.pk)
