"""Word timings in every release format, read back by each format's real consumer (and TextGrids by praatio)."""

import os

os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"

import dataclasses
import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from apps.datasets.formats import FORMATS, Example, LocalDirSink, write_release
from tests.datasets.test_formats import load_hf, make_examples, split_counts

WORDS = {
    "r000001": (("hello", 0.05, 0.2, -1.5), ("world", 0.25, 0.45, None)),
    "r000004-g0000": (("line", 0.0, 0.08, -2.0), ("one", 0.1, 0.2, -0.5)),
}


def same_words(got, want) -> bool:
    """Same words, times equal to the millisecond."""
    return [w for w, *_ in got] == [w for w, *_ in want] and all(
        abs(a - b) < 1e-3 for g, w in zip(got, want, strict=True) for a, b in zip(g[1:3], w[1:3], strict=True)
    )


@pytest.fixture(autouse=True)
def _media_storage():
    """No Django here (see test_formats)."""


def expected_words(key: str) -> list[tuple[str, float, float]]:
    return [(w, s, e) for w, s, e, _ in WORDS.get(key, ())]


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    root = tmp_path_factory.mktemp("release-words")
    examples = [dataclasses.replace(ex, words=WORDS.get(ex.key, ())) for ex in make_examples(features=False)]
    write_release(examples, {fmt: LocalDirSink(root / fmt) for fmt in FORMATS}, split_counts=split_counts())
    return root


def _textgrid_words(path: Path) -> list[tuple[str, float, float]]:
    from praatio import textgrid

    tg = textgrid.openTextgrid(str(path), includeEmptyIntervals=False)
    assert tg.tierNames == ("utterance", "words")
    return [(e.label, e.start, e.end) for e in tg.getTier("words").entries]


def _ctm_words(path: Path, key: str) -> list[tuple[str, float, float]]:
    out = []
    for line in path.read_text().splitlines():
        utt, channel, start, duration, word = line.split()
        assert utt == key and channel == "1"
        out.append((word, float(start), float(start) + float(duration)))
    return out


def read_jsonl_words(root: Path, tmp_path) -> dict:
    out = {}
    for manifest in (root / "manifests").glob("*.jsonl"):
        for line in manifest.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            words = [(w["word"], w["start"], w["end"]) for w in row["words"]]
            if words:  # NeMo Forced Aligner's output field, and a TextGrid
                assert same_words(_ctm_words(manifest.parent / row["word_level_ctm_filepath"], row["key"]), words)
                assert same_words(_textgrid_words(manifest.parent / row["textgrid_filepath"]), words)
            else:
                assert "word_level_ctm_filepath" not in row
            out[row["key"]] = words
    return out


def read_lhotse_words(root: Path, tmp_path) -> dict:
    from lhotse import CutSet, SupervisionSet
    from lhotse.supervision import AlignmentItem

    out = {}
    for path in (root / "lhotse").glob("supervisions_*.jsonl.gz"):
        for sup in SupervisionSet.from_file(path):
            items = (sup.alignment or {}).get("word", [])
            assert all(isinstance(i, AlignmentItem) for i in items)
            out[sup.id] = [(i.symbol, i.start, i.end) for i in items]
            if items:
                assert items[0].score == WORDS[sup.id][0][3]
                assert same_words(_textgrid_words(root / sup.custom["textgrid"]), out[sup.id])
    for path in (root / "lhotse").glob("cuts_*.jsonl.gz"):
        for cut in CutSet.from_file(path):
            [sup] = cut.supervisions
            assert [(i.symbol, i.start, i.end) for i in (sup.alignment or {}).get("word", [])] == out[cut.id]
    return out


def read_hf_words(root: Path, tmp_path) -> dict:
    out = {}
    for ds in load_hf(root, tmp_path).values():
        for row in ds.remove_columns("audio"):
            out[row["key"]] = [(w["word"], w["start"], w["end"]) for w in row["words"]]
    return out


def read_csv_words(root: Path, tmp_path) -> dict:
    df = pd.read_csv(root / "metadata.csv", keep_default_na=False)
    out = {}
    for row in df.to_dict("records"):
        words = [(w["word"], w["start"], w["end"]) for w in json.loads(row["words"] or "[]")]
        if words:
            assert same_words(_textgrid_words(root / "textgrid" / row["split"] / f"{row['key']}.TextGrid"), words)
        out[row["key"]] = words
    return out


def read_webdataset_words(root: Path, tmp_path) -> dict:
    import webdataset as wds

    out = {}
    for listing in (root / "shards").glob("*.txt"):
        for sample in wds.WebDataset(str(root / "shards" / listing.read_text().strip()), shardshuffle=False):
            meta = json.loads(sample["json"])
            words = [(w["word"], w["start"], w["end"]) for w in meta["words"]]
            if words:
                grid = tmp_path / f"{meta['key']}.TextGrid"
                grid.write_bytes(sample["textgrid"])
                assert same_words(_textgrid_words(grid), words)
            out[meta["key"]] = words
    return out


READERS = {
    "jsonl": read_jsonl_words,
    "lhotse": read_lhotse_words,
    "hf-parquet": read_hf_words,
    "csv": read_csv_words,
    "webdataset": read_webdataset_words,
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_word_timings_survive_every_format_and_load_in_its_consumer(release, fmt, tmp_path):
    got = READERS[fmt](release / fmt, tmp_path)
    assert set(got) == {ex.key for ex in make_examples(features=False)}
    for key, words in got.items():
        assert same_words(words, expected_words(key)), f"{fmt} {key}"


def test_lhotse_word_times_are_in_the_recordings_time_base_and_stay_put_when_a_cut_is_trimmed(release):
    # lhotse (1.33) keeps AlignmentItem times in the recording's time base, as its docs' examples do (an item
    # at 33.0 s in a supervision starting at 33.0 s); truncating a cut moves the supervision, not the items.
    from lhotse import CutSet

    root = release / "lhotse"
    cuts = CutSet.from_file(root / "lhotse" / "cuts_train.jsonl.gz").with_recording_path_prefix(root)
    cut = next(c for c in cuts if c.id == "r000001")
    [sup] = cut.supervisions
    assert all(sup.start <= i.start and i.end <= sup.end for i in sup.alignment["word"])
    [trimmed] = cut.truncate(offset=0.2).supervisions
    assert trimmed.start == pytest.approx(-0.2)
    assert [i.start for i in trimmed.alignment["word"]] == [0.05, 0.25]


@pytest.mark.parametrize(
    "words, problem",
    [
        ((("hello", 0.3, 0.2),), "inside the audio"),
        ((("hello", 0.1, 0.9),), "inside the audio"),
        ((("b", 0.2, 0.3), ("a", 0.0, 0.1)), "after the previous one"),
        ((("two words", 0.0, 0.1),), "without spaces"),
    ],
)
def test_words_out_of_order_or_outside_the_audio_are_refused_naming_the_example(words, problem):
    with pytest.raises(ValueError, match=problem) as caught:
        Example(key="r000009", split="train", audio=b"", sample_rate=16000, num_samples=8000, words=words)
    assert "r000009" in str(caught.value)


def test_lhotse_supervisions_without_words_carry_no_alignment(release):
    with gzip.open(release / "lhotse" / "lhotse" / "supervisions_validation.jsonl.gz", "rt") as f:
        assert all("alignment" not in json.loads(line) for line in f)
