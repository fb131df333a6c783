"""QA reads the original in blocks (bounded memory) and stores what the whole-signal functions measure."""

import io

import numpy as np
import pytest
import soundfile as sf

from apps.catalog.services import project_create, recording_ingest
from apps.processing.dsp.fingerprint import Fingerprint, fingerprint, similarity
from apps.processing.dsp.qa import qa_measure
from apps.review.services import qa as qa_service
from apps.review.services import qa_on_processed
from tests.review.audio import encode, speech_like

pytestmark = pytest.mark.django_db

SR = 22050


def _stereo_with_clipping():
    y = np.vstack([speech_like(6.0, sr=SR, seed=1), speech_like(6.0, sr=SR, seed=2)])
    y[0, 2990:3010] = 1.0  # clipped runs across the edge of 3000-frame blocks
    y[1, 5995:9100] = -1.0
    return y


def _ingest(project, data):
    result = recording_ingest(project=project, fileobj=io.BytesIO(data), name="long.wav")
    assert result.status == "accepted", result.message
    return result.recording_id


def test_stored_measurements_equal_the_whole_signal_ones(make_user, monkeypatch):
    monkeypatch.setattr(qa_service, "QA_BLOCK_FRAMES", 3000)  # many blocks over 6 s
    seen = []
    original = qa_service.qa_and_fingerprint_file

    def spy(fh, **kwargs):
        seen.append(kwargs["block_frames"])
        return original(fh, **kwargs)

    monkeypatch.setattr(qa_service, "qa_and_fingerprint_file", spy)
    project = project_create(name="Blocks", created_by=make_user("blocks-manager"))
    data = encode(_stereo_with_clipping(), SR)
    result = qa_on_processed(recording_id=_ingest(project, data))
    assert seen == [3000]
    decoded, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    whole = qa_measure(decoded.T, sr)
    assert whole.clip_runs >= 2
    assert result.clip_runs == whole.clip_runs and result.clipped_ratio == whole.clipped_ratio
    assert result.silence_ratio == whole.silence_ratio
    for name in ("snr_db", "dc_offset", "loudness_lufs", "peak_dbfs", "rms_dbfs"):
        assert getattr(result, name) == pytest.approx(getattr(whole, name), abs=1e-6), name
    stored = Fingerprint.from_bytes(bytes(result.fingerprint))
    assert similarity(stored, fingerprint(decoded.T, sr)) > 0.98
    assert "clipping" in result.flag_list


def test_original_on_s3_is_streamed_to_a_temp_file_not_opened_in_memory(s3_storage, make_user, monkeypatch):
    from storages.backends.s3 import S3Storage

    project = project_create(name="S3 QA", created_by=make_user("s3-manager"))
    recording_id = _ingest(project, encode(_stereo_with_clipping(), SR))

    def refuse(*args, **kwargs):
        raise AssertionError("S3File buffers the whole object; QA must download to a temp file")

    monkeypatch.setattr(S3Storage, "open", refuse)
    result = qa_on_processed(recording_id=recording_id)
    assert result.error == "" and "unreadable" not in result.flag_list
    assert result.clip_runs >= 2 and result.fingerprint
