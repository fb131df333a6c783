"""Feature arrays in releases: the processing app's .npy artifacts, cut per region, in every format."""

import io
import math

import numpy as np
import pytest

from apps.core.errors import DomainError
from apps.datasets.formats import FORMATS
from apps.datasets.models import DatasetRelease
from apps.datasets.services import release_build, release_create, release_rebuild
from tests.datasets.test_formats import read_back

HOP, SR = 160, 16000


@pytest.fixture
def processed(corpus, django_capture_on_commit_callbacks):
    """The corpus with every recording really processed (eager Celery) by a recipe making mel and mfcc."""
    from apps.processing.models import Artifact
    from apps.processing.selectors import feature_open
    from apps.processing.services import project_recipe_set, recording_queue_processing

    recipe = project_recipe_set(
        project=corpus["project"], spec={"artifacts": ["mel", "mfcc"], "features": {"hop_length": HOP}}
    )
    for rec, _ in corpus["recs"].values():
        with django_capture_on_commit_callbacks(execute=True):
            recording_queue_processing(recording=rec)
    arrays = {}
    for art in Artifact.objects.filter(recipe_hash=recipe.spec_hash, kind__in=["mel", "mfcc"]):
        arrays[(art.source_sha256, art.kind)] = feature_open(artifact=art).read()  # chunked, read back as float32
    assert len(arrays) == 2 * len(corpus["recs"])  # every recording has both artifacts
    return {**corpus, "arrays": arrays, "recipe": recipe}


def create(corpus, **spec):
    return release_create(
        actor=corpus["users"]["manager"],
        project_id=corpus["project"].id,
        spec={"name": "feats", "filters": {"qa": "any"}, **spec},
        enqueue=False,
    )


def build(corpus, **spec):
    release = release_build(release_id=create(corpus, **spec).id)
    assert release.status == "ready", release.error
    return release


def expected_frames(corpus, kind, margin):
    """key -> the artifact's frames covering each region (with margin), computed from the regions themselves."""
    out = {}
    for rid, spans in corpus["regions"].items():
        rec, _ = corpus["recs"][rid]
        arr = corpus["arrays"][(rec.sha256, kind)]
        for i, (start, end, _, _) in enumerate(sorted(spans, key=lambda s: s[0])):
            a, b = max(0.0, start - margin), min(rec.duration, end + margin)
            first, last = math.floor(a * SR / HOP), min(arr.shape[-1], math.ceil(b * SR / HOP))
            out[f"r{rid:08d}-g{i:04d}"] = arr[..., first:last]
    return out


@pytest.mark.django_db
def test_region_features_in_every_format_equal_the_artifacts_frames(processed, release_root, tmp_path):
    release = build(processed, unit="region", margin=0.125, features=["mfcc", "mel"], seed=3)
    want_mfcc = expected_frames(processed, "mfcc", 0.125)
    want_mel = expected_frames(processed, "mel", 0.125)
    some = next(iter(want_mfcc.values()))
    assert some.shape == (20, math.ceil(0.875 * SR / HOP) - math.floor(0.125 * SR / HOP))  # 20 MFCCs x frames
    for fmt in FORMATS:
        got = read_back(fmt, release_root(release, fmt), tmp_path / fmt)
        assert sorted(got) == sorted(want_mfcc)
        for key, arr in want_mfcc.items():
            assert got[key]["mfcc"].dtype == np.float32
            np.testing.assert_array_equal(got[key]["mfcc"], arr, err_msg=f"{fmt} {key}")
    jsonl = release_root(release, "jsonl")
    for line in (jsonl / "manifests" / "train.jsonl").read_text().splitlines():
        row = __import__("json").loads(line)
        mel = np.load(jsonl / "manifests" / row["features"]["mel"])
        np.testing.assert_array_equal(mel, want_mel[row["key"]])
        assert mel.shape[0] == 80


@pytest.mark.django_db
def test_recording_features_are_the_whole_artifact_and_rebuilds_stay_byte_identical(processed, release_root):
    release = build(processed, unit="recording", features=["mel"], formats=["webdataset", "jsonl"])
    import webdataset as wds

    root = release_root(release, "webdataset")
    seen = 0
    for split in ("train", "validation", "test"):
        if not (root / "shards" / f"{split}.txt").exists():
            continue
        pattern = (root / "shards" / f"{split}.txt").read_text().strip()
        for sample in wds.WebDataset(str(root / "shards" / pattern), shardshuffle=False):
            rec, _ = processed["recs"][int(sample["__key__"][1:9])]
            np.testing.assert_array_equal(
                np.load(io.BytesIO(sample["mel.npy"])), processed["arrays"][(rec.sha256, "mel")]
            )
            seen += 1
    assert seen == len(processed["recs"])
    again = release_build(release_id=release_rebuild(actor=processed["users"]["manager"], release_id=release.id).id)
    assert again.status == "ready", again.error
    for fmt in ("webdataset", "jsonl"):
        assert (release_root(again, fmt) / "SHA256SUMS").read_bytes() == (
            release_root(release, fmt) / "SHA256SUMS"
        ).read_bytes()
        assert again.files[fmt]["checksum"] == release.files[fmt]["checksum"]


@pytest.mark.django_db
def test_recordings_lacking_a_feature_get_a_400_naming_the_kind_and_count(processed):
    from apps.processing.models import Artifact

    lacking = sorted(processed["recs"])[:3]
    shas = [processed["recs"][rid][0].sha256 for rid in lacking]
    Artifact.objects.filter(source_sha256__in=shas, kind="mfcc").delete()
    before = DatasetRelease.objects.count()
    with pytest.raises(DomainError, match=r"3 of 12 recording\(s\) .* no 'mfcc' feature file") as err:
        create(processed, features=["mel", "mfcc"])
    assert err.value.status_code == 400 and DatasetRelease.objects.count() == before
    create(processed, features=["mel"])  # the kind every recording has is fine
    assert DatasetRelease.objects.count() == before + 1


@pytest.mark.django_db
def test_feature_request_while_processing_runs_says_so(processed):
    from apps.processing.models import Artifact, JobStatus, ProcessingJob

    rec, _ = next(iter(processed["recs"].values()))
    Artifact.objects.filter(source_sha256=rec.sha256, kind="mel").delete()
    ProcessingJob.objects.filter(recording=rec).update(status=JobStatus.RUNNING)
    with pytest.raises(DomainError, match=r"Processing is still running for 1 recording"):
        create(processed, features=["mel"])


@pytest.mark.django_db
def test_unknown_feature_kind_and_project_without_recipe_are_400(corpus, api):
    client = api(corpus["users"]["manager"])
    url = f"/api/v1/projects/{corpus['project'].id}/releases/"
    resp = client.post(url, {"spec": {"features": ["pitch"]}}, format="json")
    assert resp.status_code == 400 and "Unknown feature 'pitch'" in resp.json()["detail"]
    resp = client.post(url, {"spec": {"features": ["mel"]}}, format="json")
    assert resp.status_code == 400 and "no processing recipe" in resp.json()["detail"]
    assert not DatasetRelease.objects.exists()


@pytest.mark.django_db
def test_feature_artifacts_are_looked_up_per_chunk_not_per_example(processed):
    """The build reads each chunk's feature artifact rows in one query (it made one query per recording)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.processing.models import Artifact

    release = create(processed, features=["mfcc", "mel"])
    table = Artifact._meta.db_table
    with CaptureQueriesContext(connection) as queries:
        release = release_build(release_id=release.id)
    assert release.status == "ready", release.error
    assert release.stats["items"] == len(processed["recs"]) == 12
    lookups = [q["sql"] for q in queries.captured_queries if f'FROM "{table}"' in q["sql"]]
    assert len(lookups) == 1, lookups
