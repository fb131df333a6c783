"""The real-worker harness itself works: a task published here runs in the worker process."""

import pytest

from apps.catalog.models import ImportBatch
from apps.catalog.services import import_source_create
from tests.conftest import make_audio

pytestmark = [pytest.mark.services, pytest.mark.xdist_group("worker")]


def test_folder_import_runs_on_a_real_worker(live_worker, project_with_roles, settings, tmp_path, api):
    project, users = project_with_roles
    folder = tmp_path / "incoming"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.wav").write_bytes(make_audio(seed=1))
    (folder / "sub" / "b.wav").write_bytes(make_audio(seed=2))
    settings.EARMARK_IMPORT_ROOTS = [str(tmp_path)]
    source = import_source_create(name="drop", kind="folder", path=str(folder), projects=[project])
    worker = live_worker()
    response = api(users["manager"]).post(
        f"/api/v1/projects/{project.id}/imports/", {"source_id": source.id}, format="json"
    )
    assert response.status_code == 202, response.json()
    batch_id = response.json()["id"]
    worker.wait_for(lambda: ImportBatch.objects.get(id=batch_id).status == "done", timeout=60, what="the import")
    batch = ImportBatch.objects.get(id=batch_id)
    assert (batch.total, batch.accepted, batch.percent) == (2, 2, 100.0)
    assert sorted(r["name"] for r in batch.results) == ["a.wav", "b.wav"]
