"""Processing's pass measures the original for review's QA while it decodes it anyway (issue 14: no second decode),
and what it measures is what review would have measured reading the file itself."""

import dataclasses

import numpy as np
import pytest

from apps.processing.dsp.qa_stream import SignalMeasures, qa_and_fingerprint_file
from apps.processing.services.pipeline import local_measures, local_original, pipeline_run
from apps.processing.services.recipes import project_recipe_get, project_recipe_set
from apps.review.models import QAResult
from tests.processing.helpers import ingest

pytestmark = pytest.mark.django_db


def _assert_same(got: SignalMeasures, metrics, fp) -> None:
    for name, want in dataclasses.asdict(metrics).items():
        have = getattr(got.metrics, name)
        if isinstance(want, float):
            assert have == pytest.approx(want, rel=1e-9, abs=1e-12), name
        else:
            assert have == want, name
    np.testing.assert_array_equal(got.fingerprint.frames, fp.frames)
    np.testing.assert_array_equal(got.fingerprint.loud, fp.loud)
    np.testing.assert_allclose(got.fingerprint.summary, fp.summary, rtol=1e-6)
    assert got.fingerprint.duration_s == fp.duration_s


@pytest.mark.parametrize(
    "fmt, sr, channels",
    [
        ("FLAC", 16000, 1),  # already the processed audio: the one spectral pass decodes it
        ("WAV", 44100, 2),  # resampled and mixed down: the conversion's decoding measures it
    ],
)
def test_the_pass_measures_what_review_would_read(project_with_roles, tmp_path, fmt, sr, channels):
    project, users = project_with_roles
    recording = ingest(project, users["manager"], seconds=4.0, sr=sr, channels=channels, fmt=fmt, name=f"a.{fmt}")
    pipeline_run(
        recording=recording, recipe=project_recipe_get(project=project), progress=lambda *a: None, workdir=tmp_path
    )
    measured = local_measures(tmp_path)
    assert measured is not None
    metrics, fp = qa_and_fingerprint_file(str(local_original(tmp_path)), block_frames=3000)
    assert metrics.channels == channels and metrics.duration_s == pytest.approx(4.0)
    _assert_same(measured, metrics, fp)
    # The stored form round-trips exactly.
    again = SignalMeasures.from_bytes(measured.to_bytes())
    assert again.metrics == measured.metrics
    np.testing.assert_array_equal(again.fingerprint.frames, measured.fingerprint.frames)


def test_whole_signal_recipes_leave_no_measures_and_review_decodes(project_with_roles, tmp_path):
    project, users = project_with_roles
    project_recipe_set(project=project, spec={"trim": {"top_db": 30}})
    recording = ingest(project, users["manager"], seconds=2.0)
    pipeline_run(
        recording=recording, recipe=project_recipe_get(project=project), progress=lambda *a: None, workdir=tmp_path
    )
    assert local_measures(tmp_path) is None


def test_review_qa_after_a_job_decodes_nothing_and_stores_the_same(
    project_with_roles, django_capture_on_commit_callbacks, monkeypatch
):
    from apps.review.services import qa as review_qa

    project, users = project_with_roles
    real = review_qa.qa_and_fingerprint_file
    calls = []
    monkeypatch.setattr(review_qa, "qa_and_fingerprint_file", lambda *a, **k: calls.append(1) or real(*a, **k))
    with django_capture_on_commit_callbacks(execute=True):
        recording = ingest(project, users["manager"], seconds=3.0, fmt="FLAC", name="b.flac")
    from_job = QAResult.objects.get(recording_id=recording.id)
    assert calls == [] and from_job.error == ""
    # The same recording measured by review itself (reading the stored original) gives the same row.
    review_qa.qa_on_processed(recording_id=recording.id)
    assert calls == [1]
    again = QAResult.objects.get(recording_id=recording.id)
    for name in ("clipped_ratio", "clip_runs", "silence_ratio", "snr_db", "dc_offset", "loudness_lufs", "peak_dbfs"):
        assert getattr(again, name) == pytest.approx(getattr(from_job, name), rel=1e-9), name
    assert bytes(again.fingerprint) == bytes(from_job.fingerprint)
    assert again.flags == from_job.flags
