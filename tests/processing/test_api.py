"""Processing API: recipes, reprocess, jobs and artifact reads (permissions, 400s, 404s, query counts)."""

import io
import json

import numpy as np
import pytest

from apps.processing.models import Artifact, JobStatus, ProcessingJob, ProjectProcessing, Recipe
from tests.processing.helpers import ingest

pytestmark = pytest.mark.django_db


# --- recipes ----------------------------------------------------------------------------------------


def test_recipe_get_gives_the_default_to_managers_only(project_with_roles, api, outsider):
    project, users = project_with_roles
    res = api(users["manager"]).get(f"/api/v1/projects/{project.id}/recipe/")
    assert res.status_code == 200
    assert res.json()["spec"]["target_sample_rate"] == project.target_sample_rate
    assert res.json()["spec"]["features"]["chroma_tuning"] == 0.0
    assert api(users["annotator"]).get(f"/api/v1/projects/{project.id}/recipe/").status_code == 403
    assert api(outsider).get(f"/api/v1/projects/{project.id}/recipe/").status_code == 404


@pytest.mark.parametrize(
    "spec, words",
    [
        ({"target_sample_rate": 100}, "target_sample_rate"),
        ({"channels": "stereo"}, "channels"),
        ({"features": {"n_mfcc": 90, "n_mels": 40}}, "n_mfcc"),
        ({"features": {"chroma_tuning": "guess"}}, "chroma_tuning"),
        ({"feature_dtype": "int8"}, "feature_dtype"),
        ({"peaks": {"samples_per_pixel": [256, 300]}}, "samples_per_pixel"),
        ({"length": {"mode": "windows"}}, "length"),
        ({"artifacts": ["peaks", "hologram"]}, "hologram"),
        ({"augmentations": [{"kind": "reverse"}]}, "augmentations[0]"),
        ({"colour": "blue"}, "colour"),
        ("not an object", "JSON object"),
    ],
)
def test_recipe_put_rejects_bad_specs_with_a_sentence_and_writes_nothing(project_with_roles, api, spec, words):
    project, users = project_with_roles
    client = api(users["manager"])
    before = client.get(f"/api/v1/projects/{project.id}/recipe/").json()
    recipes = Recipe.objects.count()
    res = client.put(f"/api/v1/projects/{project.id}/recipe/", {"spec": spec}, format="json")
    assert res.status_code == 400
    assert words in res.json()["detail"]
    assert Recipe.objects.count() == recipes
    assert ProjectProcessing.objects.get(project=project).active_recipe_id == before["id"]


def test_recipe_put_needs_a_manager(project_with_roles, api, outsider):
    project, users = project_with_roles
    url = f"/api/v1/projects/{project.id}/recipe/"
    assert api(users["reviewer"]).put(url, {"spec": {}}, format="json").status_code == 403
    assert api(outsider).put(url, {"spec": {}}, format="json").status_code == 404
    assert not Recipe.objects.filter(project=project).exists()


def test_recipe_change_keeps_earlier_artifacts_and_they_stay_served(processed, api):
    project, users, recording = processed
    client = api(users["manager"])
    artifacts = set(Artifact.objects.values_list("id", flat=True))
    res = client.put(
        f"/api/v1/projects/{project.id}/recipe/",
        {"spec": {"features": {"n_mels": 64}}, "name": "smaller mel"},
        format="json",
    )
    assert res.status_code == 200 and res.json()["spec"]["features"]["n_mels"] == 64
    assert res.json()["name"] == "smaller mel"
    assert set(Artifact.objects.values_list("id", flat=True)) == artifacts
    # Same spec again: the same recipe row, no duplicate.
    again = client.put(f"/api/v1/projects/{project.id}/recipe/", {"spec": {"features": {"n_mels": 64}}}, format="json")
    assert again.json()["id"] == res.json()["id"]
    assert client.get(f"/api/v1/recordings/{recording.id}/peaks").status_code == 200


# --- reading artifacts ----------------------------------------------------------------------------------


def test_peaks_pick_the_finest_resolution_that_fits(processed, api):
    _, users, recording = processed
    client = api(users["viewer"])
    body = client.get(f"/api/v1/recordings/{recording.id}/peaks").json()
    assert body["version"] == 2 and body["bits"] == 16 and body["samples_per_pixel"] == 256
    assert body["length"] == -(-32000 // 256) and len(body["data"]) == body["length"] * 2
    assert body["duration"] == pytest.approx(2.0)
    assert 0.5 * 32767 < max(body["data"]) < 0.6 * 32767  # the tone (0.5) plus a little noise
    coarse = client.get(f"/api/v1/recordings/{recording.id}/peaks?max_length=10").json()
    assert coarse["samples_per_pixel"] == 16384 and coarse["length"] == 2
    exact = client.get(f"/api/v1/recordings/{recording.id}/peaks?samples_per_pixel=2048").json()
    assert exact["samples_per_pixel"] == 2048 and exact["length"] == 16


@pytest.mark.parametrize(
    "query, words",
    [("samples_per_pixel=300", "256, 2048, 16384"), ("max_length=0", "max_length"), ("max_length=abc", "max_length")],
)
def test_peaks_bad_parameters_are_400(processed, api, query, words):
    _, users, recording = processed
    res = api(users["viewer"]).get(f"/api/v1/recordings/{recording.id}/peaks?{query}")
    assert res.status_code == 400 and words in res.json()["detail"]


def test_features_npy_json_and_voiced_segments(processed, api):
    _, users, recording = processed
    client = api(users["viewer"])
    res = client.get(f"/api/v1/recordings/{recording.id}/features/mel")
    assert res.status_code == 200
    mel = np.load(io.BytesIO(b"".join(res.streaming_content)))
    assert mel.shape[0] == 80 and mel.shape[1] == 1 + 32000 // 160
    small = client.get(f"/api/v1/recordings/{recording.id}/features/chroma?format=json").json()
    assert small["shape"] == [12, 201] and small["tuning"] == 0.0
    chroma = np.array(small["data"])
    assert chroma.mean(axis=1).argmax() == 9  # a 440 Hz tone: pitch class A
    voiced = client.get(f"/api/v1/recordings/{recording.id}/features/voiced_segments").json()
    assert voiced["segments"][0][0] < 0.1 and voiced["segments"][-1][1] > 1.9
    big = client.get(f"/api/v1/recordings/{recording.id}/features/spectrogram?format=json")
    assert big.status_code == 400 and "too many for JSON" in big.json()["detail"]
    part = client.get(f"/api/v1/recordings/{recording.id}/features/spectrogram?format=json&start=0.5&end=0.6").json()
    assert part["shape"] == [257, 10] and part["first_frame"] == 50
    sliced = np.load(
        io.BytesIO(
            b"".join(client.get(f"/api/v1/recordings/{recording.id}/features/mel?start=1&end=1.5").streaming_content)
        )
    )
    np.testing.assert_array_equal(sliced, mel[:, 100:150])
    bad = client.get(f"/api/v1/recordings/{recording.id}/features/mel?start=2&end=1")
    assert bad.status_code == 400 and "must come after" in bad.json()["detail"]
    assert client.get(f"/api/v1/recordings/{recording.id}/features/sparkle").status_code == 404
    qa = client.get(f"/api/v1/recordings/{recording.id}/features/qa")  # opt-in: review measures QA itself
    assert qa.status_code == 404 and "recipe does not make it" in qa.json()["detail"]
    audio = client.get(f"/api/v1/recordings/{recording.id}/features/audio")
    assert audio.status_code == 200 and audio["Content-Type"] == "audio/flac"
    assert b"".join(audio.streaming_content).startswith(b"fLaC")


def test_spectrogram_preview_and_tiles(processed, api):
    _, users, recording = processed
    client = api(users["viewer"])
    png = client.get(f"/api/v1/recordings/{recording.id}/spectrogram.png")
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    assert b"".join(png.streaming_content).startswith(b"\x89PNG")
    index = client.get(f"/api/v1/recordings/{recording.id}/spectrogram/tiles/").json()
    assert index["duration"] == pytest.approx(2.0)
    assert [lvl["count"] for lvl in index["levels"]] == [1, 1, 1]
    assert index["levels"][0] | {"count": 1} == {
        "level": 0,
        "seconds_per_tile": 10.0,
        "tile_width": 512,
        "height": 128,
        "count": 1,
        "fmin": 0,
        "fmax": 8000,
        "mel": True,
    }
    tile = client.get(f"/api/v1/recordings/{recording.id}/spectrogram/tiles/0/0.png")
    assert tile.status_code == 200 and b"".join(tile.streaming_content).startswith(b"\x89PNG")
    missing = client.get(f"/api/v1/recordings/{recording.id}/spectrogram/tiles/0/5.png")
    assert missing.status_code == 404 and "tile 5 at level 0" in missing.json()["detail"]


def test_artifacts_404_with_a_sentence_before_processing(project_with_roles, api):
    project, users = project_with_roles
    recording = ingest(project, users["manager"], seconds=1.0)  # no commit in this test: the job stays queued
    assert ProcessingJob.objects.get(recording=recording).status == JobStatus.QUEUED
    client = api(users["manager"])
    for path in (
        "peaks",
        "features/mel",
        "features/voiced_segments",
        "spectrogram.png",
        "spectrogram/tiles/",
        "spectrogram/tiles/0/0.png",
    ):
        res = client.get(f"/api/v1/recordings/{recording.id}/{path}")
        assert res.status_code == 404, path
        assert "processing has not finished" in res.json()["detail"], path
    detail = client.get(f"/api/v1/recordings/{recording.id}/").json()
    assert detail["processing"] == {"status": "queued", "percent": 0.0}


def test_other_projects_users_get_404_everywhere(processed, api, outsider):
    _, _, recording = processed
    client = api(outsider)
    job = ProcessingJob.objects.get(recording=recording)
    for path in (
        f"recordings/{recording.id}/peaks",
        f"recordings/{recording.id}/features/mel",
        f"recordings/{recording.id}/features/voiced_segments",
        f"recordings/{recording.id}/spectrogram.png",
        f"recordings/{recording.id}/spectrogram/tiles/",
        f"recordings/{recording.id}/spectrogram/tiles/0/0.png",
        f"jobs/{job.id}/",
    ):
        res = client.get(f"/api/v1/{path}")
        assert res.status_code == 404, path
        assert "No such" in res.json()["detail"], path
    assert client.get("/api/v1/jobs/").json()["results"] == []


# --- jobs and reprocessing ----------------------------------------------------------------------------------


def test_recording_detail_shows_processing_done(processed, api):
    _, users, recording = processed
    body = api(users["viewer"]).get(f"/api/v1/recordings/{recording.id}/").json()
    assert body["processing"] == {"status": "done", "percent": 100.0}
    assert body["status"] == "ready"


def test_job_list_query_count_is_constant(project_with_roles, api, django_assert_max_num_queries):
    project, users = project_with_roles
    client = api(users["viewer"])
    for seed in range(3):
        ingest(project, users["manager"], seconds=0.5, seed=seed)
    with django_assert_max_num_queries(6) as small:
        assert len(client.get(f"/api/v1/jobs/?project={project.id}").json()["results"]) == 3
    for seed in range(3, 12):
        ingest(project, users["manager"], seconds=0.5, seed=seed)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(client.get(f"/api/v1/jobs/?project={project.id}&status=queued").json()["results"]) == 12
    res = client.get("/api/v1/jobs/?status=sleeping")
    assert res.status_code == 400 and "status" in res.json()["detail"]


def test_recording_list_query_count_is_constant(project_with_roles, api, django_assert_max_num_queries):
    project, users = project_with_roles
    client = api(users["viewer"])
    ingest(project, users["manager"], seconds=0.5, seed=1)
    with django_assert_max_num_queries(8) as small:
        client.get(f"/api/v1/projects/{project.id}/recordings/")
    for seed in range(2, 8):
        ingest(project, users["manager"], seconds=0.5, seed=seed)
    with django_assert_max_num_queries(len(small.captured_queries)):
        body = client.get(f"/api/v1/projects/{project.id}/recordings/").json()
    assert {r["processing"]["status"] for r in body["results"]} == {"queued"}


def test_reprocess_fans_out_with_aggregate_progress(processed, api, django_capture_on_commit_callbacks):
    project, users, recording = processed
    client = api(users["manager"])
    assert api(users["annotator"]).post(f"/api/v1/projects/{project.id}/reprocess/").status_code == 403
    writes = Artifact.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        res = client.post(f"/api/v1/projects/{project.id}/reprocess/", {}, format="json")
    assert res.status_code == 202
    parent = ProcessingJob.objects.get(id=res.json()["id"])
    assert parent.kind == "project" and parent.status == JobStatus.DONE and parent.percent == 100.0
    detail = client.get(f"/api/v1/jobs/{parent.id}/").json()
    assert detail["children"]["total"] == 1 and detail["children"]["counts"]["done"] == 1
    child = parent.children.get()
    assert child.notes == ["every artifact already existed; nothing to do"]
    assert Artifact.objects.count() == writes  # a re-run is a no-op
    only_missing = client.post(f"/api/v1/projects/{project.id}/reprocess/", {"only_missing": True}, format="json")
    assert only_missing.json()["children"]["total"] == 0 and only_missing.json()["status"] == "done"
    bad = client.post(f"/api/v1/projects/{project.id}/reprocess/", {"only_missing": "perhaps"}, format="json")
    assert bad.status_code == 400 and "only_missing" in bad.json()["detail"]


def test_job_detail_reports_progress_fields(processed, api):
    _, users, recording = processed
    job = ProcessingJob.objects.get(recording=recording)
    body = api(users["viewer"]).get(f"/api/v1/jobs/{job.id}/").json()
    assert body["status"] == "done" and body["stage"] == "done" and body["percent"] == 100.0
    assert body["attempts"] == 1 and body["recording"] == recording.id and body["children"] is None
    assert json.dumps(body)  # plain JSON
