"""Building releases from the database: every format loads with its consumer, regions keep their own text,
rebuilds are byte-identical, splits are speaker-disjoint, the manifest is frozen."""

import io
import os

import numpy as np
import pytest
import soundfile as sf

from apps.datasets.formats import FORMATS
from apps.datasets.models import DatasetRelease, ReleaseItem
from apps.datasets.services import release_build, release_create, release_rebuild
from tests.datasets.test_formats import read_back

os.environ["HF_DATASETS_OFFLINE"] = "1"
SR = 16000


def build(corpus, **spec):
    release = release_create(
        actor=corpus["users"]["manager"], project_id=corpus["project"].id, spec={"name": "barks", **spec}, enqueue=False
    )
    release = release_build(release_id=release.id)
    assert release.status == "ready", release.error
    return release


def expected_regions(corpus, margin=0.0):
    """key -> (text, labels, source samples of the cut, speaker code)."""
    out = {}
    for rid, spans in corpus["regions"].items():
        rec, samples = corpus["recs"][rid]
        for i, (start, end, label, text) in enumerate(sorted(spans, key=lambda s: s[0])):
            a, b = max(0.0, start - margin), min(rec.duration, end + margin)
            out[f"r{rid:08d}-g{i:04d}"] = (text, [label.name], samples[round(a * SR) : round(b * SR)], rec.speaker.code)
    return out


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", FORMATS)
def test_region_release_loads_in_each_format_with_each_regions_own_text_labels_and_audio(
    corpus, fmt, release_root, tmp_path
):
    release = build(corpus, unit="region", margin=0.125, formats=[fmt], seed=3)
    got = read_back(fmt, release_root(release, fmt), tmp_path)
    want = expected_regions(corpus, margin=0.125)
    assert sorted(got) == sorted(want)
    for key, (text, labels, samples, speaker) in want.items():
        assert got[key]["text"] == text, (fmt, key)
        assert got[key]["labels"] == labels, (fmt, key)
        assert got[key]["speaker"] == speaker
        np.testing.assert_array_equal(got[key]["samples"], samples, err_msg=f"{fmt} {key}")


def test_hf_parquet_audio_is_an_audio_feature_at_the_release_rate_with_class_labels(corpus, release_root, tmp_path):
    import datasets

    release = build(corpus, unit="region", formats=["hf-parquet"], audio={"sample_rate": 8000})
    root = release_root(release, "hf-parquet")
    files = {
        s: str(root / "data" / f"{s}-*.parquet")
        for s in ("train", "validation", "test")
        if list((root / "data").glob(f"{s}-*"))
    }
    dd = datasets.load_dataset("parquet", data_files=files, cache_dir=str(tmp_path / "hf"))
    ds = dd["train"]
    assert ds.features["audio"] == datasets.Audio(sampling_rate=8000)
    assert ds.features["label"] == datasets.ClassLabel(names=["bird", "cat", "dog"])
    row = ds.cast_column("audio", datasets.Audio(decode=False))[0]
    samples, sr = sf.read(io.BytesIO(row["audio"]["bytes"]), dtype="float32")
    item = ReleaseItem.objects.get(release=release, key=row["key"])
    assert sr == 8000 and abs(len(samples) - round(item.duration * 8000)) <= 1


def test_recording_release_joins_region_texts_and_leaves_unannotated_recordings_empty(corpus, release_root, tmp_path):
    from tests.datasets.conftest import stored_recording

    bare, _ = stored_recording(corpus["project"], corpus["speakers"][0], seed=99)
    release = build(corpus, unit="recording", formats=["jsonl", "csv"])
    for fmt in ("jsonl", "csv"):
        got = read_back(fmt, release_root(release, fmt), tmp_path)
        assert got[f"r{bare.id:08d}"]["text"] == "" and got[f"r{bare.id:08d}"]["labels"] == []
        for rid, spans in corpus["regions"].items():
            texts = [t for _, _, _, t in sorted(spans, key=lambda s: s[0])]
            assert got[f"r{rid:08d}"]["text"] == " ".join(texts)
            np.testing.assert_array_equal(got[f"r{rid:08d}"]["samples"], corpus["recs"][rid][1])


def test_splits_are_speaker_disjoint_and_items_frozen_with_hashes(corpus):
    release = build(corpus, unit="region", formats=["jsonl"], splits={"train": 0.5, "validation": 0.25, "test": 0.25})
    items = list(ReleaseItem.objects.filter(release=release))
    split_of_speaker = {}
    for item in items:
        assert split_of_speaker.setdefault(item.speaker_code, item.split) == item.split
        assert len(item.example_sha256) == 64 and len(item.audio_sha256) == 64 and item.annotation_version == 3
    assert set(split_of_speaker.values()) == {"train", "validation", "test"}
    assert release.stats["items"] == len(items) == 18
    assert sum(s["items"] for s in release.stats["splits"].values()) == 18
    assert "Splits are speaker-disjoint" in release.data_card and release.content_hash in release.data_card
    assert "covering: `store`, `train_models`." in release.data_card


def test_rebuild_from_the_same_spec_is_byte_identical(corpus, release_root):
    first = build(corpus, unit="region", margin=0.05)
    second = release_rebuild(actor=corpus["users"]["manager"], release_id=first.id)
    second = release_build(release_id=second.id)
    assert (first.version, second.version) == (1, 2)
    assert second.content_hash == first.content_hash
    for fmt in FORMATS:
        a, b = release_root(first, fmt), release_root(second, fmt)
        files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
        assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file()) and len(files) > 3
        for rel in files:
            assert (a / rel).read_bytes() == (b / rel).read_bytes(), (fmt, rel)
        assert first.files[fmt]["checksum"] == second.files[fmt]["checksum"]


def test_filters_select_labels_languages_and_accepted_only(corpus):
    from apps.annotation.models import Annotation

    Annotation.objects.filter(recording_id=min(corpus["recs"])).update(status="submitted")
    release = build(
        corpus, unit="region", formats=["csv"], filters={"labels": ["bird"], "languages": ["en"], "accepted_only": True}
    )
    items = list(ReleaseItem.objects.filter(release=release))
    assert items and all(i.labels == ["bird"] and i.language == "en" for i in items)
    assert min(corpus["recs"]) not in {i.recording_ref for i in items}
    assert len(items) == 3  # one bird region per speaker, three English speakers


def test_data_card_demographics_count_the_release_speakers_only(corpus):
    from collections import Counter

    from apps.catalog.models import Speaker
    from tests.catalog.factories import SpeakerFactory

    for i, speaker in enumerate(corpus["speakers"]):
        Speaker.objects.filter(id=speaker.id).update(gender=("female", "male", "")[i % 3], age_band="")
    SpeakerFactory(project=corpus["project"], code="unrecorded", gender="nonbinary")  # in the project, not the release
    release = build(corpus, unit="region", formats=["csv"], filters={"languages": ["en"]})
    codes = set(ReleaseItem.objects.filter(release=release).values_list("speaker_code", flat=True))
    genders = Counter(Speaker.objects.get(project=corpus["project"], code=c).gender or "not given" for c in codes)
    assert 0 < len(codes) < len(corpus["speakers"])
    for gender, n in genders.items():
        assert f"| {gender} | {n} |" in release.data_card
    assert f"| not given | {len(codes)} |" in release.data_card  # age bands: none given
    assert "nonbinary" not in release.data_card


def test_progress_reaches_100_and_is_reported_while_building(corpus):
    seen = []
    release = release_create(actor=None, project_id=corpus["project"].id, spec={"formats": ["jsonl"]}, enqueue=False)

    def spy(n, total):
        seen.append(DatasetRelease.objects.get(id=release.id).progress)

    release = release_build(release_id=release.id, on_progress=spy)
    assert release.progress == 100.0 and release.status == "ready"
    assert seen[0] > 0 and seen == sorted(seen) and seen[-1] < 100


def test_a_release_that_is_not_queued_is_not_built_twice(corpus):
    release = build(corpus, formats=["jsonl"])
    assert release_build(release_id=release.id) is None
    assert DatasetRelease.objects.get(id=release.id).status == "ready"


def test_date_filters_bound_the_recordings(corpus):
    from datetime import timedelta

    from django.utils import timezone

    old = sorted(corpus["recs"])[:4]
    for rid in old:
        rec = corpus["recs"][rid][0]
        rec.created_at = timezone.now() - timedelta(days=30)
        rec.save(update_fields=["created_at"])
    cutoff = (timezone.now() - timedelta(days=10)).date().isoformat()
    before = build(corpus, formats=["csv"], filters={"recorded_before": cutoff})
    after = build(corpus, formats=["csv"], filters={"recorded_after": cutoff})
    assert sorted(ReleaseItem.objects.filter(release=before).values_list("recording_ref", flat=True)) == old
    assert not set(ReleaseItem.objects.filter(release=after).values_list("recording_ref", flat=True)) & set(old)


def test_near_duplicates_across_splits_are_reported_as_leakage(corpus):
    from apps.review.models import QAResult

    spec = dict(formats=["csv"], splits={"train": 0.5, "validation": 0.25, "test": 0.25})
    probe = build(corpus, **spec)
    assert probe.stats["leakage_warnings"] == []
    split = dict(ReleaseItem.objects.filter(release=probe).values_list("recording_ref", "split"))
    a = min(split)
    b = min(r for r in split if split[r] != split[a])
    c, d = sorted(r for r in split if split[r] == split[a] and r != a)[:2]
    QAResult.objects.create(recording_id=a, project=corpus["project"], near_duplicate_of_id=b)
    QAResult.objects.create(recording_id=d, project=corpus["project"], near_duplicate_of_id=c)  # same split: fine
    release = build(corpus, **spec)
    assert dict(ReleaseItem.objects.filter(release=release).values_list("recording_ref", "split")) == split
    assert release.stats["leakage_warnings"] == [sorted([f"r{a:08d}", f"r{b:08d}"])]
    assert "1 near-duplicate pair(s) sit in different splits" in release.data_card


def test_data_card_carries_agreement_when_recordings_were_annotated_twice(corpus, make_user):
    from tests.datasets.conftest import annotate

    second = make_user("second")
    for rid, spans in corpus["regions"].items():
        annotate(corpus["recs"][rid][0], second, spans, clip_labels=[corpus["labels"]["indoor"]])
    release = build(corpus, formats=["csv"])
    assert "### Agreement" in release.data_card
    assert "| overlapping recordings | 12 |" in release.data_card
    assert "| regions: F1 at IoU >= 0.5 | 1.0 |" in release.data_card


def test_data_card_names_the_purposes_the_project_policy_requires(corpus):
    from apps.consent.models import ProjectConsentPolicy
    from apps.consent.purposes import purposes_to_mask

    ProjectConsentPolicy.objects.create(
        project=corpus["project"], train_models_mask=purposes_to_mask(["store", "annotate", "train_models"])
    )
    release = build(corpus, formats=["csv"])
    assert "covering: `annotate`, `store`, `train_models`." in release.data_card


def _processed_artifacts(corpus, meta):
    """Store an 8 kHz 'processed' FLAC per recording as the active recipe's audio artifact."""
    import hashlib as _h

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from apps.processing.models import Artifact, ProjectProcessing, Recipe

    recipe = Recipe.objects.create(project=corpus["project"], name="8k", spec={"rate": 8000}, spec_hash="ab" * 32)
    ProjectProcessing.objects.create(project=corpus["project"], active_recipe=recipe)
    processed = {}
    for rid, (rec, samples) in corpus["recs"].items():
        y = samples[::2].copy()
        buf = io.BytesIO()
        sf.write(buf, y, 8000, format="FLAC", subtype="PCM_16")
        key = default_storage.save(f"artifacts/{rec.sha256}/audio.flac", ContentFile(buf.getvalue()))
        Artifact.objects.create(
            recording=rec,
            source_sha256=rec.sha256,
            recipe_hash=recipe.spec_hash,
            kind="audio",
            key=key,
            bytes=len(buf.getvalue()),
            meta=meta,
        )
        processed[rid] = (y, _h.sha256(buf.getvalue()).hexdigest())
    return processed


def test_recipe_audio_source_releases_the_processed_audio(corpus, release_root):
    import tarfile

    processed = _processed_artifacts(corpus, {"sample_rate": 8000, "channels": 1})
    release = build(corpus, unit="recording", formats=["webdataset"], audio={"source": "recipe"})
    seen = 0
    for shard in sorted((release_root(release, "webdataset") / "shards").glob("*.tar")):
        with tarfile.open(shard) as tar:
            for member in tar.getmembers():
                if member.name.endswith(".flac"):
                    samples, sr = sf.read(io.BytesIO(tar.extractfile(member).read()), dtype="int16")
                    assert sr == 8000
                    np.testing.assert_array_equal(samples, processed[int(member.name[1:9])][0])
                    seen += 1
    assert seen == len(corpus["recs"])


def test_region_release_from_trimmed_processed_audio_fails_with_a_sentence(corpus):
    _processed_artifacts(corpus, {"sample_rate": 8000, "trim": [0.1, 1.9]})
    release = release_create(
        actor=None,
        project_id=corpus["project"].id,
        spec={"unit": "region", "audio": {"source": "recipe"}, "formats": ["csv"]},
        enqueue=False,
    )
    release = release_build(release_id=release.id)
    assert release.status == "failed" and "region times no longer match" in release.error
    assert not ReleaseItem.objects.filter(release=release).exists()


def test_whole_flac_sources_stream_into_every_format_with_the_example_hash_of_the_bytes_written(corpus, release_root):
    """FLAC sources that already match the spec are copied in one pass; the hash taken on the way is the
    example's sha256 and equals each written file's (and SHA256SUMS' line); several formats get the same bytes."""
    import hashlib
    import tarfile

    processed = _processed_artifacts(corpus, {"sample_rate": 8000, "channels": 1})
    release = build(corpus, unit="recording", formats=["jsonl", "webdataset"], audio={"source": "recipe"})
    items = {i.key: i.example_sha256 for i in ReleaseItem.objects.filter(release=release)}
    assert len(items) == len(corpus["recs"]) and all(items.values())
    root = release_root(release, "jsonl")
    sums = dict(reversed(line.split("  ")) for line in (root / "SHA256SUMS").read_text().splitlines())
    for path in root.glob("audio/*/*.flac"):
        data = path.read_bytes()
        assert items[path.stem] == hashlib.sha256(data).hexdigest() == sums[str(path.relative_to(root))]
        assert data[4] == 0x80  # metadata dropped: STREAMINFO only
        samples, _ = sf.read(io.BytesIO(data), dtype="int16")
        np.testing.assert_array_equal(samples, processed[int(path.stem[1:9])][0])
    for shard in sorted((release_root(release, "webdataset") / "shards").glob("*.tar")):
        with tarfile.open(shard) as tar:
            for member in tar.getmembers():
                if member.name.endswith(".flac"):
                    assert hashlib.sha256(tar.extractfile(member).read()).hexdigest() == items[member.name[:9]]
