"""QA on a real Celery worker (Redis): uploads are processed, then measured and flagged by the worker."""

import io

import pytest

from apps.review.models import QAResult, QASettings
from tests.review.audio import encode, speech_like

pytestmark = [pytest.mark.services, pytest.mark.xdist_group("worker")]


def _upload(api, project, user, data, name):
    res = api(user).post(
        f"/api/v1/projects/{project.id}/recordings/", {"files": [io.BytesIO(data)]}, format="multipart"
    )
    assert res.status_code == 201, res.json()
    return res.json()["results"][0]["recording_id"]


def test_worker_flags_clipped_and_near_duplicate_uploads(live_worker, project_with_roles, api):
    project, users = project_with_roles
    QASettings.objects.create(project=project, expected_channels=1)
    worker = live_worker()
    y = speech_like(5.0, seed=21)
    clean = _upload(api, project, users["manager"], encode(y), "clean.wav")
    worker.wait_for(
        lambda: QAResult.objects.filter(recording_id=clean).exists(), timeout=180, what="QA of the clean upload"
    )
    quieter_copy = _upload(api, project, users["manager"], encode(y * 0.5, fmt="OGG", subtype="VORBIS"), "copy.ogg")
    clipped = _upload(api, project, users["manager"], encode(speech_like(5.0, seed=22) * 6), "hot.wav")
    worker.wait_for(
        lambda: QAResult.objects.filter(recording_id__in=[quieter_copy, clipped]).count() == 2,
        timeout=180,
        what="QA of the other uploads",
    )
    assert QAResult.objects.get(recording_id=clean).flag_list == []
    copy = QAResult.objects.get(recording_id=quieter_copy)
    assert "near_duplicate" in copy.flag_list and copy.near_duplicate_of_id == clean
    assert "clipping" in QAResult.objects.get(recording_id=clipped).flag_list
    listed = api(users["viewer"]).get(f"/api/v1/projects/{project.id}/qa/", {"flagged": "true"}).json()["results"]
    assert {row["recording"] for row in listed} == {quieter_copy, clipped}
