"""Every format's files, byte for byte, as the writers made them before their speed-ups (pinned digests).

The digests were computed with the writers as they were before the speed-ups (one JSON encoder per call,
three tar writes per member, one gzip call per lhotse line); a change that alters any byte of any file of
any format fails here. hf-parquet's footer names the pyarrow version, so its digest holds for the pinned one.

hf-parquet's audio bytes are stored uncompressed since session 6 (zstd could not shrink FLAC; it only cost CPU):
its digest changed then, and the old one still holds when the writer is told to compress them as before.
"""

import hashlib

import pytest

from apps.datasets.formats import FORMATS
from apps.datasets.formats import hf_parquet as hf_parquet_format
from apps.datasets.formats import lhotse as lhotse_format
from tests.datasets.test_formats import ROWS, build

# 60 more examples, in every split, so the manifests hold more than a few lines.
MORE_ROWS = ROWS + [
    (f"r{100 + i:06d}", ("train", "validation", "test")[i % 3], "flac", 0.05 + 0.01 * (i % 7), 0.0,
     f"example {i} " * (i % 5), (("dog",), ("cat",), ())[i % 3], f"spk{i % 4:02d}", "en", str(100 + i))
    for i in range(60)
]  # fmt: skip

PINNED = {
    "csv": "44d6eeddd8cd3bda2516377013b6b4ed5dabc54559327cda11688e0f93fe2784",
    "hf-parquet": "20b2b98a64aae9e07de88d9e3dd4b8aca040f5def69208924ae7695ec4f8f14d",
    "jsonl": "4bfb8106c79cb9052c5ceb0a29bfb34dd5fe910cc339f870f73eaf9bea7fc51b",
    "lhotse": "0104402ea92c3562fd9ecbc6b6dff89ceb6afacd12efc80fe22381976c7aec67",
    "webdataset": "fb9571bb3eced64a8185cd7762587eca8e5b264e70122fa83ea7926137b4b9ac",
}


def digests(root, rows) -> dict[str, str]:
    results = build(root, rows=rows)
    return {
        fmt: hashlib.sha256("".join(f"{e.path} {e.sha256} {e.size}\n" for e in r.entries).encode()).hexdigest()
        for fmt, r in results.items()
    }


def test_every_format_is_byte_for_byte_as_before(tmp_path):
    assert set(PINNED) == set(FORMATS)
    assert digests(tmp_path / "out", MORE_ROWS) == PINNED


@pytest.mark.parametrize("batch", [1, 700])
def test_lhotse_gzip_bytes_do_not_depend_on_how_lines_are_batched(tmp_path, monkeypatch, batch):
    monkeypatch.setattr(lhotse_format._GzipLines, "BATCH", batch)
    assert digests(tmp_path / "out", MORE_ROWS)["lhotse"] == PINNED["lhotse"]


def test_hf_parquet_differs_from_before_only_in_the_audio_column_compression(tmp_path, monkeypatch):
    """The column-wise table and the encoding thread write the same bytes as before: with the audio bytes
    compressed by zstd again, every file matches the digest of the writer before session 6."""
    as_before = "86e9f5b857e01bead594dcda60f70c00e4a99cac0afef90044b637630439700e"
    uncompressed = hf_parquet_format.HFParquetWriter.compression_of

    def zstd_everywhere(self):
        codecs, levels = uncompressed(self)
        assert codecs["audio.bytes"] == "none" and set(codecs.values()) == {"zstd", "none"}
        return {path: "zstd" for path in codecs}, {path: 3 for path in codecs}

    monkeypatch.setattr(hf_parquet_format.HFParquetWriter, "compression_of", zstd_everywhere)
    assert digests(tmp_path / "out", MORE_ROWS)["hf-parquet"] == as_before
