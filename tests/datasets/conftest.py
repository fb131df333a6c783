"""A project with stored audio, consented speakers, labels and annotations, ready to release."""

import io
from decimal import Decimal

import numpy as np
import pytest
import soundfile as sf
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from apps.annotation.models import Annotation, Label, LabelKind, Region
from tests.catalog.factories import LanguageFactory, RecordingFactory, SpeakerFactory

SR = 16000


def stored_recording(project, speaker, *, seed, seconds=2.0, sr=SR, language="en"):
    """A recording row whose original (16-bit WAV of noise) really is in storage."""
    samples = np.random.default_rng(seed).integers(-12000, 12000, int(seconds * sr), dtype=np.int16)
    buf = io.BytesIO()
    sf.write(buf, samples, sr, format="WAV", subtype="PCM_16")
    data = buf.getvalue()
    import hashlib

    sha = hashlib.sha256(data).hexdigest()
    key = f"originals/{sha[:2]}/{sha[2:4]}/{sha}.wav"
    default_storage.save(key, ContentFile(data))
    rec = RecordingFactory(
        project=project,
        speaker=speaker,
        language=LanguageFactory(tag=language),
        sha256=sha,
        original_key=key,
        sample_rate=sr,
        frames=len(samples),
        duration=len(samples) / sr,
        bytes=len(data),
        status="ready",
    )
    return rec, samples


def annotate(recording, annotator, regions, *, status="accepted", clip_labels=()):
    """regions: (start, end, label or None, text)."""
    ann = Annotation.objects.create(
        project=recording.project, recording=recording, annotator=annotator, status=status, version=3
    )
    for i, (start, end, label, text) in enumerate(regions):
        Region.objects.create(
            annotation=ann,
            uid=f"u{recording.id}-{i}",
            start=Decimal(str(start)),
            end=Decimal(str(end)),
            label=label,
            text=text,
        )
    ann.clip_labels.set(clip_labels)
    return ann


@pytest.fixture
def corpus(project_with_roles):
    """Six speakers, two recordings each (2 s noise, 16 kHz); every recording annotated with 1-2 regions.

    Returns dict(project, users, labels, recs={id: (recording, samples)}, speakers=[...], regions={rec_id: [...]}).
    """
    project, users = project_with_roles
    labels = {
        name: Label.objects.create(project=project, kind=LabelKind.REGION, name=name) for name in ("dog", "cat", "bird")
    }
    labels["indoor"] = Label.objects.create(project=project, kind=LabelKind.CLIP, name="indoor")
    speakers = [SpeakerFactory(project=project, code=f"spk{i}") for i in range(6)]
    recs, regions = {}, {}
    seed = 0
    for s, speaker in enumerate(speakers):
        for j in range(2):
            seed += 1
            rec, samples = stored_recording(project, speaker, seed=seed, language="en" if s % 2 else "de")
            recs[rec.id] = (rec, samples)
            spans = [(0.25, 0.75, labels["dog"] if (s + j) % 2 else labels["cat"], f"text {s}-{j}-a")]
            if j == 0:
                spans.append((1.0, 1.5, labels["bird"], f"text {s}-{j}-b"))
            annotate(rec, users["annotator"], spans, clip_labels=[labels["indoor"]] if j else [])
            regions[rec.id] = spans
    return {
        "project": project,
        "users": users,
        "labels": labels,
        "recs": recs,
        "speakers": speakers,
        "regions": regions,
    }


@pytest.fixture
def release_root():
    """Local folder of a built release format: storage path of releases/{project}/{id}/{fmt}."""
    from pathlib import Path

    def _root(release, fmt):
        return Path(default_storage.path(f"{release.storage_prefix}{fmt}"))

    return _root
