"""THE RACE TEST on a real Celery worker (Redis, exports queue): a withdrawal committed while the worker is
building a release leaves that speaker out or fails the build safely — never a release that includes them.

The test waits until the worker is writing files, then opens a transaction that holds the release row
(select_for_update on PostgreSQL; the write lock on SQLite), checks the build is still running, commits a
real consent_withdraw inside it, and lets the worker go on. So the withdrawal provably commits mid-build.
"""

import time

import pytest
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F

from apps.consent.models import ConsentRecord
from apps.consent.services import consent_withdraw
from apps.datasets.models import DatasetRelease, ReleaseItem
from tests.catalog.factories import SpeakerFactory
from tests.datasets.conftest import annotate, stored_recording

pytestmark = [pytest.mark.services, pytest.mark.xdist_group("worker")]


def poll(predicate, timeout=120.0, step=0.005):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out")


def test_withdrawal_committed_while_the_worker_builds_never_ships_that_speaker(live_worker, project_with_roles, api):
    project, users = project_with_roles
    speakers = [SpeakerFactory(project=project, code=f"w{i}") for i in range(8)]
    for i in range(40):
        rec, _ = stored_recording(project, speakers[i % 8], seed=500 + i, seconds=6.0)
        annotate(rec, users["annotator"], [(0.5, 1.5, None, f"words {i}")])
    victim = speakers[7]
    worker = live_worker("exports")

    response = api(users["manager"]).post(
        f"/api/v1/projects/{project.id}/releases/",
        {
            "spec": {
                "unit": "recording",
                "audio": {"sample_rate": 8000},
                "formats": ["jsonl", "webdataset", "hf-parquet"],
            }
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    release_id = response.json()["id"]
    poll(lambda: DatasetRelease.objects.filter(id=release_id, stage="writing").exists())

    with transaction.atomic():
        DatasetRelease.objects.filter(id=release_id).update(progress=F("progress"))  # take the write lock
        held = DatasetRelease.objects.select_for_update().get(id=release_id)
        assert held.status == "building" and held.progress < 95, "the build finished before the withdrawal"
        consent = ConsentRecord.objects.get(speaker=victim, status="granted")
        consent_withdraw(consent_id=consent.id, actor=users["manager"])

    release = poll(
        lambda: DatasetRelease.objects.filter(id=release_id, status__in=["ready", "failed"]).first(),
        timeout=180,
        step=0.2,
    )
    # The manifest was frozen (with the victim) before the withdrawal, so the only safe outcome is a failed build.
    assert release.status == "failed", worker.output()[-3000:]
    assert "withdrawn while this release was being built" in release.error
    assert not ReleaseItem.objects.filter(release=release).exists()
    assert not default_storage.exists(f"{release.storage_prefix}jsonl/SHA256SUMS")
    listing = api(users["exporter"]).get(f"/api/v1/releases/{release_id}/download/jsonl")
    assert listing.status_code == 409 and "failed" in listing.json()["detail"]

    # A rebuild now leaves the speaker out.
    again = api(users["manager"]).post(f"/api/v1/releases/{release_id}/rebuild/")
    assert again.status_code == 201
    rebuilt = poll(
        lambda: DatasetRelease.objects.filter(id=again.json()["id"], status__in=["ready", "failed"]).first(),
        timeout=180,
        step=0.2,
    )
    assert rebuilt.status == "ready", rebuilt.error
    shipped = set(ReleaseItem.objects.filter(release=rebuilt).values_list("recording_ref", flat=True))
    assert len(shipped) == 35 and not shipped & set(victim.recordings.values_list("id", flat=True))
