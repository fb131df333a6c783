"""Releases carry the stored word timings of the frozen transcripts, shifted into each example's own time."""

import gzip
import json
import os

import pytest

from apps.annotation.models import Annotation, AnnotationVersion, TranscriptAlignment
from apps.annotation.selectors import text_sha256
from apps.review.models import QASettings
from tests.datasets.test_release_build import build

os.environ["HF_DATASETS_OFFLINE"] = "1"


def same_words(got, want) -> bool:
    """Same words, times equal to the millisecond."""
    return [w for w, *_ in got] == [w for w, *_ in want] and all(
        abs(a - b) < 1e-3 for g, w in zip(got, want, strict=True) for a, b in zip(g[1:3], w[1:3], strict=True)
    )


@pytest.fixture
def aligned(corpus):
    """Every annotation gets its version snapshot; every region but one its word timings (two words each)."""
    truth = {}
    skipped = None
    for ann in Annotation.objects.filter(project=corpus["project"]).prefetch_related("regions"):
        regions = list(ann.regions.all())
        AnnotationVersion.objects.create(annotation=ann, version=ann.version, regions=[r.as_dict() for r in regions])
        for r in regions:
            if skipped is None:
                skipped = (ann.recording_id, r.start)  # never aligned: its example has no words
                continue
            first, second = r.text.split()
            words = [[first, r.start + 0.05, r.start + 0.2, -1.0], [second, r.start + 0.25, r.end - 0.05, -2.0]]
            TranscriptAlignment.objects.create(
                recording_id=ann.recording_id,
                start=r.start,
                end=r.end,
                text_sha256=text_sha256(r.text),
                status="aligned",
                words=words,
                score=-1.5,
            )
            truth[(ann.recording_id, r.start)] = words
    return truth, skipped


def test_region_examples_carry_their_regions_words_relative_to_the_cut(corpus, aligned, release_root):
    truth, skipped = aligned
    margin = 0.125
    release = build(corpus, unit="region", margin=margin, formats=["jsonl", "lhotse"], seed=3)
    rows = {}
    for manifest in (release_root(release, "jsonl") / "manifests").glob("*.jsonl"):
        for line in manifest.read_text().splitlines():
            row = json.loads(line)
            rows[row["key"]] = row
    with_words = 0
    for key, row in rows.items():
        rid = int(row["recording_id"])
        region_start = min(s for s, *_ in corpus["regions"][rid] if abs(s - (row["source_offset"] + margin)) < 0.2)
        want = truth.get((rid, region_start))
        if (rid, region_start) == skipped or want is None:
            assert row["words"] == [], key
            continue
        with_words += 1
        offset = row["source_offset"]
        got = [(w["word"], w["start"], w["end"]) for w in row["words"]]
        assert same_words(got, [(w, s - offset, e - offset) for w, s, e, _ in want]), key
        ctm = (manifest.parent / row["word_level_ctm_filepath"]).read_text().split()
        assert ctm[0] == key and float(ctm[2]) == pytest.approx(want[0][1] - offset, abs=1e-3)
    assert with_words == len(truth)
    lhotse_root = release_root(release, "lhotse") / "lhotse"
    sups = [json.loads(line) for f in lhotse_root.glob("supervisions_*.jsonl.gz") for line in gzip.open(f, "rt")]
    assert sum("alignment" in s for s in sups) == len(truth)


def test_whole_recording_examples_carry_every_regions_words_and_a_changed_text_none(corpus, aligned, release_root):
    truth, _ = aligned
    # An annotator changed a transcript after it was aligned: those words no longer belong to the text.
    rid, spans = next(iter(corpus["regions"].items()))
    ann = Annotation.objects.get(recording_id=rid)
    snapshot = AnnotationVersion.objects.get(annotation=ann)
    snapshot.regions = [{**r, "text": r["text"] + " more"} for r in snapshot.regions]
    snapshot.save()
    QASettings.objects.update_or_create(project=corpus["project"], defaults={"text_transforms": ["lowercase", "strip"]})
    release = build(corpus, unit="recording", formats=["jsonl"])
    card = (release_root(release, "jsonl") / "README.md").read_text()
    assert "WER and CER normalise text with jiwer's lowercase, strip." in card
    for manifest in (release_root(release, "jsonl") / "manifests").glob("*.jsonl"):
        for line in manifest.read_text().splitlines():
            row = json.loads(line)
            got = [(w["word"], w["start"], w["end"]) for w in row["words"]]
            rec = int(row["recording_id"])
            want = (
                [] if rec == rid else [(w, s, e) for k, ws in sorted(truth.items()) if k[0] == rec for w, s, e, _ in ws]
            )
            assert same_words(got, want), row["key"]
