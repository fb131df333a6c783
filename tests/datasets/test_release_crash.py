"""SIGKILL a real worker (filesystem broker, the embedded default) while it builds a release: with the default
lease and sweep, a new worker rebuilds it within 90 s of starting; the release is ready (never stuck
"building"), built once more in full, with no file of the dead run left under its prefix."""

import pytest

from apps.core.sweep import storage_walk
from apps.datasets.models import DatasetRelease, ReleaseItem, ReleaseStatus
from tests.catalog.factories import SpeakerFactory
from tests.datasets.conftest import annotate, stored_recording

pytestmark = [pytest.mark.xdist_group("worker")]


def test_sigkill_mid_build_is_rebuilt_once_and_ready(live_worker_filesystem, project_with_roles, api, monkeypatch):
    project, users = project_with_roles
    # Every percent written (the default throttles to one write per 0.5 s): this small build finishes in about
    # a second, and the kill has to land while it writes.
    monkeypatch.setenv("EARMARK_RELEASE_PROGRESS_SECONDS", "0")
    speakers = [SpeakerFactory(project=project, code=f"k{i}") for i in range(6)]
    for i in range(60):
        rec, _ = stored_recording(project, speakers[i % 6], seed=900 + i, seconds=8.0)
        annotate(rec, users["annotator"], [(0.5, 1.5, None, f"words {i}")])
    first = live_worker_filesystem("exports,default", beat=True)
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

    def mid_build():
        release = DatasetRelease.objects.get(id=release_id)
        return release.status == ReleaseStatus.BUILDING and release.stage == "writing" and release.progress >= 10

    first.wait_for(mid_build, timeout=120, what="the build to be writing files")
    first.kill()
    dead = DatasetRelease.objects.get(id=release_id)
    assert dead.status == ReleaseStatus.BUILDING and dead.attempts == 1 and dead.progress < 95
    written_by_the_dead_run = {key for key, _ in storage_walk(dead.storage_prefix)}
    assert written_by_the_dead_run

    second = live_worker_filesystem("exports,default", beat=True)
    second.wait_for(
        lambda: DatasetRelease.objects.get(id=release_id).status != ReleaseStatus.BUILDING,
        timeout=90,
        what="the release to be rebuilt within 90 s of the new worker's start",
    )
    release = DatasetRelease.objects.get(id=release_id)
    assert release.status == ReleaseStatus.READY, release.error
    assert release.attempts == 2 and release.error == ""
    assert "datasets.releases_requeue_stale" in second.output()
    assert ReleaseItem.objects.filter(release=release).count() == 60
    # Exactly the files the manifest lists: nothing of the dead run, nothing twice.
    stored = sorted(key for key, _ in storage_walk(release.storage_prefix))
    assert len(stored) == sum(f["files"] for f in release.files.values())
    listing = api(users["manager"]).get(f"/api/v1/releases/{release_id}/download/jsonl", {"list": 1})
    assert listing.status_code == 200
