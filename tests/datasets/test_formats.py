"""Release writers, checked by loading every format with the library that consumes it."""

import os

os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from apps.datasets.formats import FORMATS, Example, LocalDirSink, render_data_card, write_release

SR = 16000
SPLITS = ("train", "validation", "test")

# key, split, format, seconds, source_offset, text, labels, speaker, language, recording_id
ROWS = [
    ("r000001", "train", "flac", 0.50, 0.0, "hello world", ("dog",), "spk01", "en", "1"),
    ("r000002-g0000", "train", "flac", 0.25, 1.5, 'first region, with "quotes"', ("cat",), "spk01", "en", "2"),
    ("r000002-g0001", "train", "flac", 0.30, 2.0, "", (), "spk01", "en", "2"),
    ("r000003", "validation", "wav", 0.40, 0.0, "naïve café NA", ("dog",), None, "fr", "3"),
    ("r000004-g0000", "test", "flac", 0.20, 0.25, "line one\nline two", ("cat", "dog"), "spk02", "de", "4"),
    ("r000004-g0001", "test", "flac", 0.35, 0.75, "", (), "spk02", None, "4"),
]


def _encode(samples: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, SR, format=fmt.upper(), subtype="PCM_16")
    return buf.getvalue()


def _samples(i: int, seconds: float) -> np.ndarray:
    return np.random.default_rng(i).integers(-20000, 20000, int(seconds * SR), dtype=np.int16)


def _audio_source(i: int, data: bytes):
    """Exercise every kind of audio source: bytes, file object, chunk iterable."""
    if i % 3 == 0:
        return data
    if i % 3 == 1:
        return lambda: io.BytesIO(data)
    return lambda: (data[j : j + 1000] for j in range(0, len(data), 1000))


def make_examples(rows=ROWS, features=True) -> list[Example]:
    out = []
    for i, (key, split, fmt, secs, off, text, labels, spk, lang, rec) in enumerate(rows):
        samples = _samples(i, secs)
        feats = {"mfcc": np.random.default_rng(100 + i).random((3 + i, 4), dtype=np.float32)} if features else {}
        out.append(
            Example(
                key=key,
                split=split,
                audio=_audio_source(i, _encode(samples, fmt)),
                audio_format=fmt,
                sample_rate=SR,
                num_samples=len(samples),
                source_offset=off,
                text=text,
                labels=labels,
                speaker=spk,
                language=lang,
                recording_id=rec,
                extra={"b": i, "a": "x"},
                features=feats,
            )
        )
    return out


def expected(rows=ROWS) -> dict:
    return {
        key: {
            "split": split,
            "text": text,
            "labels": list(labels),
            "speaker": spk,
            "language": lang,
            "source_offset": off,
            "samples": _samples(i, secs),
        }
        for i, (key, split, fmt, secs, off, text, labels, spk, lang, rec) in enumerate(rows)
    }


def split_counts(rows=ROWS) -> dict:
    return {s: sum(r[1] == s for r in rows) for s in SPLITS}


def build(root: Path, formats=FORMATS, rows=ROWS, options=None, **kw) -> dict:
    targets = {fmt: LocalDirSink(root / fmt) for fmt in formats}
    stats = {"name": "Test release", "splits": {s: {"items": n} for s, n in split_counts(rows).items()}}
    return write_release(
        make_examples(rows, **kw), targets, split_counts=split_counts(rows), options=options, card_stats=stats
    )


@pytest.fixture(autouse=True)
def _media_storage():
    """No-op stand-in for tests/conftest.py's autouse fixture, which needs pytest-django's
    `settings`: this module touches no Django, so it also runs with `-p no:django`."""


# --- readers, one per format, each using the real consumer library -----------------------------


def read_jsonl(root: Path) -> dict:
    out = {}
    for manifest in sorted((root / "manifests").glob("*.jsonl")):
        for line in manifest.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            samples, sr = sf.read(manifest.parent / row["audio_filepath"], dtype="int16")
            assert sr == SR and row["offset"] == 0
            assert row["duration"] == pytest.approx(len(samples) / SR)
            assert row["label"] == (row["labels"][0] if len(row["labels"]) == 1 else None)
            mfcc = np.load(manifest.parent / row["features"]["mfcc"]) if "features" in row else None
            out[row["key"]] = dict(
                split=row["split"],
                text=row["text"],
                labels=row["labels"],
                speaker=row["speaker"],
                language=row["language"],
                source_offset=row["source_offset"],
                samples=samples,
                mfcc=mfcc,
            )
    return out


def read_csv(root: Path) -> dict:
    df = pd.read_csv(root / "metadata.csv", keep_default_na=False)
    out = {}
    for row in df.to_dict("records"):
        samples, sr = sf.read(root / row["file"], dtype="int16")
        assert sr == row["sample_rate"] == SR
        assert row["duration"] == pytest.approx(len(samples) / SR)
        out[row["key"]] = dict(
            split=row["split"],
            text=row["text"],
            labels=[x for x in row["labels"].split(";") if x],
            speaker=row["speaker"] or None,
            language=row["language"] or None,
            source_offset=row["source_offset"],
            samples=samples,
            mfcc=np.load(root / row["feature_mfcc"]) if "feature_mfcc" in row else None,
        )
    return out


def load_hf(root: Path, tmp_path: Path):
    import datasets

    files = {s: str(root / "data" / f"{s}-*.parquet") for s in SPLITS if list((root / "data").glob(f"{s}-*"))}
    return datasets.load_dataset("parquet", data_files=files, cache_dir=str(tmp_path / "hf-cache"))


def read_hf(root: Path, tmp_path: Path) -> dict:
    import datasets

    dd = load_hf(root, tmp_path)
    out = {}
    for split, ds in dd.items():
        audio = ds.features["audio"]
        assert isinstance(audio, datasets.Audio) and audio.sampling_rate == SR  # recognised without a cast
        names = ds.features["label"].names if "label" in ds.features else None
        for row in ds.cast_column("audio", datasets.Audio(decode=False)):
            samples, sr = sf.read(io.BytesIO(row["audio"]["bytes"]), dtype="int16")
            assert sr == SR and row["audio"]["path"].startswith(row["key"] + ".")
            labels = [names[row["label"]]] if names else row["labels"]
            mfcc = np.asarray(row["mfcc"], dtype=np.float32).reshape(row["mfcc_shape"]) if "mfcc" in row else None
            out[row["key"]] = dict(
                split=split,
                text=row["text"],
                labels=labels,
                speaker=row["speaker"],
                language=row["language"],
                source_offset=row["source_offset"],
                samples=samples,
                mfcc=mfcc,
            )
    return out


def read_lhotse(root: Path) -> dict:
    from lhotse import CutSet, RecordingSet, SupervisionSet

    out = {}
    for split in SPLITS:
        if not (root / f"lhotse/recordings_{split}.jsonl.gz").exists():
            continue  # a split with no examples has no files
        recs = RecordingSet.from_file(root / f"lhotse/recordings_{split}.jsonl.gz").with_path_prefix(root)
        sups = SupervisionSet.from_file(root / f"lhotse/supervisions_{split}.jsonl.gz")
        for cut in CutSet.from_manifests(recordings=recs, supervisions=sups):
            [sup] = cut.supervisions
            audio = cut.load_audio()
            assert cut.sampling_rate == SR and audio.shape[0] == 1
            samples = np.round(audio[0] * 32768).astype(np.int16)
            out[cut.recording_id] = dict(
                split=sup.custom["split"],
                text=sup.text,
                labels=sup.custom["labels"],
                speaker=sup.speaker,
                language=sup.language,
                source_offset=sup.custom["source_offset"],
                samples=samples,
                mfcc=np.load(root / sup.custom["features"]["mfcc"]) if "features" in sup.custom else None,
            )
    return out


def read_webdataset(root: Path) -> dict:
    import webdataset as wds

    out = {}
    for split in SPLITS:
        if not (root / "shards" / f"{split}.txt").exists():
            continue
        pattern = (root / "shards" / f"{split}.txt").read_text().strip()
        for sample in wds.WebDataset(str(root / "shards" / pattern), shardshuffle=False):
            meta = json.loads(sample["json"])
            audio = sample.get("flac", sample.get("wav"))
            samples, sr = sf.read(io.BytesIO(audio), dtype="int16")
            assert sr == SR and sample["__key__"] == meta["key"]
            out[meta["key"]] = dict(
                split=meta["split"],
                text=meta["text"],
                labels=meta["labels"],
                speaker=meta["speaker"],
                language=meta["language"],
                source_offset=meta["source_offset"],
                samples=samples,
                mfcc=np.load(io.BytesIO(sample["mfcc.npy"])) if "mfcc.npy" in sample else None,
            )
    return out


def read_back(fmt: str, root: Path, tmp_path: Path) -> dict:
    if fmt == "hf-parquet":
        return read_hf(root, tmp_path)
    return {"jsonl": read_jsonl, "csv": read_csv, "lhotse": read_lhotse, "webdataset": read_webdataset}[fmt](root)


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    root = tmp_path_factory.mktemp("release")
    results = build(root)
    return root, results


# --- tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_format_loads_with_its_consumer_and_matches_source_audio(release, fmt, tmp_path):
    root, _ = release
    got = read_back(fmt, root / fmt, tmp_path)
    want = expected()
    assert sorted(got) == sorted(want)
    for key, w in want.items():
        np.testing.assert_array_equal(got[key]["samples"], w["samples"], err_msg=f"{fmt} {key}")
        assert got[key]["split"] == w["split"]
        assert got[key]["source_offset"] == pytest.approx(w["source_offset"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_example_keeps_only_its_own_text_labels_and_speaker(release, fmt, tmp_path):
    root, _ = release
    got = read_back(fmt, root / fmt, tmp_path)
    for key, w in expected().items():
        fields = {f: got[key][f] for f in ("text", "labels", "speaker", "language")}
        assert fields == {f: w[f] for f in ("text", "labels", "speaker", "language")}, f"{fmt} {key}"


@pytest.mark.parametrize("fmt", FORMATS)
def test_features_round_trip(release, fmt, tmp_path):
    root, _ = release
    got = read_back(fmt, root / fmt, tmp_path)
    for ex in make_examples():
        np.testing.assert_array_equal(got[ex.key]["mfcc"], ex.features["mfcc"], err_msg=f"{fmt} {ex.key}")


def test_hf_parquet_class_label_column(tmp_path):
    import datasets

    rows = [r for r in ROWS if len(r[6]) == 1]
    build(tmp_path / "out", formats=["hf-parquet"], rows=rows, options={"hf-parquet": {"class_names": ["cat", "dog"]}})
    dd = load_hf(tmp_path / "out" / "hf-parquet", tmp_path)
    assert dd["train"].features["label"] == datasets.ClassLabel(names=["cat", "dog"])
    assert dd["train"]["label"] == [1, 0]
    assert isinstance(dd["validation"].features["audio"], datasets.Audio)


def test_hf_parquet_class_labels_refuse_examples_without_exactly_one_label(tmp_path):
    with pytest.raises(ValueError, match="exactly one of"):
        build(tmp_path / "out", formats=["hf-parquet"], options={"hf-parquet": {"class_names": ["cat", "dog"]}})
    assert list((tmp_path / "out" / "hf-parquet").iterdir()) == []


def test_hf_parquet_shards_by_rows_with_the_count_in_the_name(tmp_path):
    build(tmp_path / "out", formats=["hf-parquet"], options={"hf-parquet": {"max_rows_per_shard": 2}})
    names = sorted(p.name for p in (tmp_path / "out/hf-parquet/data").iterdir())
    assert names == [
        "test-00000-of-00001.parquet",
        "train-00000-of-00002.parquet",
        "train-00001-of-00002.parquet",
        "validation-00000-of-00001.parquet",
    ]
    assert len(read_hf(tmp_path / "out/hf-parquet", tmp_path)) == len(ROWS)


def test_hf_parquet_row_groups_come_in_order_from_the_encoding_thread_with_the_audio_uncompressed(tmp_path):
    import pyarrow.parquet as pq

    build(tmp_path / "out", formats=["hf-parquet"], options={"hf-parquet": {"row_group_rows": 1}})
    train = tmp_path / "out/hf-parquet/data/train-00000-of-00001.parquet"
    meta = pq.ParquetFile(train).metadata
    expected = sorted(r[0] for r in ROWS if r[1] == "train")
    assert meta.num_row_groups == len(expected) > 2  # more row groups than the thread holds pending
    assert pq.read_table(train, columns=["key"])["key"].to_pylist() == expected
    codecs = {meta.row_group(0).column(i).path_in_schema: meta.row_group(0).column(i).compression
              for i in range(meta.num_columns)}  # fmt: skip
    assert codecs.pop("audio.bytes") == "UNCOMPRESSED"
    assert set(codecs.values()) == {"ZSTD"} and "words.list.element.word" in codecs
    assert len(read_hf(tmp_path / "out/hf-parquet", tmp_path)) == len(ROWS)


def test_hf_parquet_a_failure_on_the_encoding_thread_fails_the_release(tmp_path, monkeypatch):
    from apps.datasets.formats import hf_parquet

    def broken(writer, rows, schema):
        raise OSError("disk full")

    monkeypatch.setattr(hf_parquet, "_write_group", broken)
    with pytest.raises(OSError, match="disk full"):
        build(tmp_path / "out", formats=["hf-parquet"], options={"hf-parquet": {"row_group_rows": 1}})
    assert not any(p.is_file() for p in (tmp_path / "out" / "hf-parquet").rglob("*"))


def test_webdataset_shards_roll_over_and_list_their_brace_range(tmp_path):
    build(tmp_path / "out", formats=["webdataset"], options={"webdataset": {"max_shard_samples": 2}})
    shards = tmp_path / "out/webdataset/shards"
    assert (shards / "train.txt").read_text() == "train-{000000..000001}.tar\n"
    assert (shards / "test.txt").read_text() == "test-000000.tar\n"
    with tarfile.open(shards / "train-000000.tar") as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == [
        "r000001.flac",
        "r000001.json",
        "r000001.mfcc.npy",
        "r000002-g0000.flac",
        "r000002-g0000.json",
        "r000002-g0000.mfcc.npy",
    ]
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname, m.mode) for m in members} == {
        (0, 0, 0, "earmark", "earmark", 0o644)
    }
    assert (shards / "train-000000.tar").stat().st_size % 10240 == 0
    assert sorted(read_webdataset(tmp_path / "out/webdataset")) == sorted(expected())


def test_rebuild_is_byte_identical(tmp_path, release):
    build(tmp_path / "b")
    a_root, b_root = release[0], tmp_path / "b"
    files_a = sorted(p.relative_to(a_root) for p in a_root.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b_root) for p in b_root.rglob("*") if p.is_file())
    assert files_a == files_b and len(files_a) > 50
    for rel in files_a:
        assert (a_root / rel).read_bytes() == (b_root / rel).read_bytes(), rel


def test_single_format_build_matches_multi_format_build(tmp_path, release):
    build(tmp_path / "solo", formats=["jsonl"])
    a, b = release[0] / "jsonl", tmp_path / "solo/jsonl"
    for p in a.rglob("*"):
        if p.is_file():
            assert p.read_bytes() == (b / p.relative_to(a)).read_bytes(), p


@pytest.mark.parametrize("fmt", FORMATS)
def test_sha256sums_lists_every_file_with_its_hash(release, fmt):
    root, results = release
    fmt_root = root / fmt
    lines = (fmt_root / "SHA256SUMS").read_text().splitlines()
    listed = {line.split("  ", 1)[1]: line.split("  ", 1)[0] for line in lines}
    on_disk = {str(p.relative_to(fmt_root)) for p in fmt_root.rglob("*") if p.is_file()} - {"SHA256SUMS"}
    assert set(listed) == on_disk and "README.md" in listed
    assert [line.split("  ", 1)[1] for line in lines] == sorted(listed)
    for path, digest in listed.items():
        assert hashlib.sha256((fmt_root / path).read_bytes()).hexdigest() == digest, path
    data_lines = "".join(line + "\n" for line in lines if not line.endswith("  README.md"))
    checksum = hashlib.sha256(data_lines.encode()).hexdigest()
    assert checksum == results[fmt].checksum
    assert checksum in (fmt_root / "README.md").read_text()
    assert {e.path for e in results[fmt].entries} == on_disk | {"SHA256SUMS"}


def test_lhotse_manifests_are_gzip_without_name_or_time(release):
    for path in (release[0] / "lhotse/lhotse").iterdir():
        head = path.read_bytes()[:10]
        assert head[:2] == b"\x1f\x8b" and head[4:8] == b"\0\0\0\0" and not head[3] & 0x08  # mtime 0, no FNAME
        assert gzip.decompress(path.read_bytes()).decode().count("\n") == split_counts()[path.name.split("_")[1][:-9]]


def test_failure_midway_leaves_nothing_behind(tmp_path):
    def examples():
        yield from make_examples()[:3]
        raise RuntimeError("storage went away")

    targets = {fmt: LocalDirSink(tmp_path / fmt) for fmt in FORMATS}
    with pytest.raises(RuntimeError, match="storage went away"):
        write_release(examples(), targets, split_counts=split_counts())
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_unsorted_or_duplicate_keys_are_refused(tmp_path):
    exs = make_examples()
    for bad in ([exs[1], exs[0]], [exs[0], exs[0]]):
        with pytest.raises(ValueError, match="sorted by key"):
            write_release(bad, {"jsonl": LocalDirSink(tmp_path / "j")})
        assert not any((tmp_path / "j").rglob("*.flac"))


def test_split_counts_must_match(tmp_path):
    with pytest.raises(ValueError, match="split_counts says 3 examples in 'train' but 2 arrived"):
        write_release(make_examples()[:2], {"hf-parquet": LocalDirSink(tmp_path / "p")}, split_counts={"train": 3})
    with pytest.raises(ValueError, match="More examples arrived in 'train'"):
        write_release(make_examples()[:2], {"hf-parquet": LocalDirSink(tmp_path / "q")}, split_counts={"train": 1})


def test_mixed_feature_sets_are_refused(tmp_path):
    exs = make_examples()[:1] + make_examples(features=False)[1:2]
    with pytest.raises(ValueError, match="same features"):
        write_release(exs, {"csv": LocalDirSink(tmp_path / "c")})


def test_csv_refuses_labels_containing_the_separator(tmp_path):
    ex = make_examples()[0]
    bad = Example(**{**ex.__dict__, "labels": ("a;b",)})
    with pytest.raises(ValueError, match="contains ';'"):
        write_release([bad], {"csv": LocalDirSink(tmp_path / "c")})


@pytest.mark.parametrize("key", ["r1.flac", "a/b", "", "-x", "x" * 81])
def test_unsafe_keys_are_refused(key):
    with pytest.raises(ValueError, match="key"):
        Example(key=key, split="train", audio=b"", sample_rate=SR, num_samples=0)


def test_local_dir_sink_refuses_a_non_empty_dir_and_escaping_paths(tmp_path):
    (tmp_path / "x").write_text("old")
    with pytest.raises(ValueError, match="not empty"):
        LocalDirSink(tmp_path)
    sink = LocalDirSink(tmp_path / "new")
    for bad in ("../x", "/abs", "a//b", "a/./b"):
        with pytest.raises(ValueError, match="plain relative path"):
            sink.open(bad)
    with sink.open("a/b.txt") as f:  # written unbuffered through the file descriptor
        assert f.write(bytearray(b"abc")) == 3 and f.write(memoryview(b"de")) == 2
    assert f.closed and (tmp_path / "new" / "a" / "b.txt").read_bytes() == b"abcde"
    with pytest.raises(ValueError, match="already written"):
        sink.open("a/b.txt")
    sink.abort()
    assert not (tmp_path / "new" / "a").exists()


def test_data_card_reports_counts_hours_labels_consent_and_checksum():
    stats = {
        "name": "Barks",
        "version": 3,
        "format": "jsonl",
        "checksum": "ab" * 32,
        "splits": {
            "test": {"items": 5, "hours": 0.25, "speakers": 1, "labels": {"dog": 5}, "languages": {"en": 5}},
            "train": {
                "items": 40,
                "hours": 2.5,
                "speakers": 8,
                "labels": {"dog": 30, "cat": 10},
                "languages": {"en": 40},
            },
        },
        "speakers": {"count": 9, "demographics": {"gender": {"female": 5, "male": 4}}},
        "consent_purposes": ["train_models", "public_release"],
        "agreement": {"krippendorff_alpha": 0.81},
        "limitations": ["Only adult speakers."],
    }
    card = render_data_card(stats)
    assert card == render_data_card(dict(reversed(list(stats.items()))))
    assert "# Barks (version 3)" in card
    assert card.index("| train | 40 | 2.50 | 8 |") < card.index("| test | 5 | 0.25 | 1 |")
    assert "| total | 45 | 2.75 |" in card
    assert "| dog | 35 |" in card and "| cat | 10 |" in card and "| female | 5 |" in card
    assert "`public_release`, `train_models`" in card and "krippendorff_alpha | 0.81" in card
    assert "Only adult speakers." in card and "ab" * 32 in card


@pytest.mark.parametrize("formats", [("jsonl",), ("webdataset",), ("hf-parquet",), FORMATS])
def test_each_example_audio_hash_is_reported_once(tmp_path, formats):
    heard = []
    targets = {fmt: LocalDirSink(tmp_path / fmt) for fmt in formats}
    write_release(make_examples(), targets, split_counts=split_counts(), on_audio=lambda k, h: heard.append((k, h)))
    want = sorted((ex.key, hashlib.sha256(ex.audio_bytes()).hexdigest()) for ex in make_examples())
    assert sorted(heard) == want


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_audio_hash_the_caller_already_took_is_reported_not_taken_again(tmp_path, fmt):
    """A build hashes a short clip where it reads it (Example.audio_sha256): the writers pass that digest on
    (on_audio; a clip file's SHA256SUMS line) instead of hashing the bytes a second time."""
    import dataclasses

    given = {ex.key: f"{i:064x}" for i, ex in enumerate(make_examples())}
    examples = [dataclasses.replace(ex, audio=ex.audio_bytes(), audio_sha256=given[ex.key]) for ex in make_examples()]
    heard = []
    write_release(
        examples, {fmt: LocalDirSink(tmp_path)}, split_counts=split_counts(), on_audio=lambda k, h: heard.append((k, h))
    )
    assert sorted(heard) == sorted(given.items())
    if fmt in ("jsonl", "csv", "lhotse"):  # a file per clip: its SHA256SUMS line is the digest given
        sums = (tmp_path / "SHA256SUMS").read_text()
        assert all(f"{digest}  audio/" in sums for digest in given.values())
    with pytest.raises(ValueError, match="audio_sha256 is for audio held as bytes"):
        dataclasses.replace(make_examples()[0], audio=lambda: b"", audio_sha256="0" * 64)


def test_a_file_that_cannot_be_created_fails_the_release_and_leaves_nothing(tmp_path):
    """File creation runs on the background lanes; its failure still reaches the caller and aborts all."""

    class Sink(LocalDirSink):
        def open(self, relpath):
            if relpath.endswith(f"{ROWS[2][0]}.flac"):
                raise OSError("disk full")
            return super().open(relpath)

    targets = {"jsonl": Sink(tmp_path / "jsonl"), "webdataset": LocalDirSink(tmp_path / "wds")}
    with pytest.raises(OSError, match="disk full"):
        write_release(make_examples(), targets, split_counts=split_counts())
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize(
    "value",
    [
        {"key": "r1", "text": 'é "quoted" \\ \n\t\u2028', "n": 3, "x": 0.1, "big": 1e300, "neg": -0.0, "none": None},
        {"labels": ["a", "b"], "extra": {"nested": [1, 2.5, True, False, {}]}, 1: "int key"},
        "plain",
        [],
        2.5,
    ],
)
def test_dumps_gives_the_text_json_dumps_gives(value):
    from apps.datasets.formats.base import dumps

    assert dumps(value) == json.dumps(value, ensure_ascii=False, allow_nan=False)


def test_dumps_refuses_nan_and_unknown_types():
    from apps.datasets.formats.base import dumps

    with pytest.raises(ValueError, match="JSON compliant"):
        dumps({"x": float("nan")})
    with pytest.raises(TypeError, match="not JSON serializable"):
        dumps({"x": object()})
