"""The CNN's augmented copies are computed in memory; they must be on exactly the stored features' scale."""

import numpy as np
import pytest

from apps.learning.backends import audio_mel_db
from apps.learning.services.data import RecordingInputs, examples_load, labelled_spans
from tests.learning.conftest import LIGHT_ARTIFACTS, add_recording

pytestmark = pytest.mark.django_db


def test_in_memory_log_mel_of_an_unaugmented_clip_equals_the_stored_one(
    project_with_roles, django_capture_on_commit_callbacks
):
    from apps.annotation.models import Label
    from apps.processing.services import project_recipe_set
    from tests.catalog.factories import SpeakerFactory

    project, users = project_with_roles
    project_recipe_set(project=project, spec={"artifacts": LIGHT_ARTIFACTS})
    labels = {n: Label.objects.create(project=project, kind="region", name=n, order=i) for i, n in enumerate("lh")}
    labels = {"low": labels["l"], "high": labels["h"]}
    with django_capture_on_commit_callbacks(execute=True):
        rec = add_recording(project, SpeakerFactory(project=project), "lhl", 7, users["manager"], labels)
    spans = labelled_spans(project_id=project.id, task="region")
    examples, inputs = examples_load(project_id=project.id, spans=spans, with_audio=True)
    # The whole clip too: its first and last frames sat on the recording's zero padding.
    examples.append(RecordingInputs(project_id=project.id, with_audio=True).example(rec, None, None))
    assert len(examples) == 4
    for e in examples:
        in_memory = audio_mel_db(e.audio, inputs.params)
        assert in_memory.shape == e.mel.shape
        # Stored mel is bfloat16 (8 significant bits: about 0.02 dB); everything else is the same arithmetic.
        assert np.abs(in_memory - e.mel).max() < 0.1, np.abs(in_memory - e.mel).max()
        assert abs(float(in_memory.mean() - e.mel.mean())) < 0.01
    # Control: the same span one hop late is measurably different, so the comparison can fail.
    e = examples[0]
    hop = inputs.params.hop_length
    late = audio_mel_db(np.concatenate([e.audio[hop:], np.zeros(hop, np.float32)]), inputs.params)
    assert np.abs(late - e.mel).max() > 1.0
