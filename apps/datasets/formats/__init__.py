"""Release writers: turn a stream of `Example`s into files in the five formats.

This package imports no Django (nor anything from `apps.*` outside it) so it can
be unit-tested on its own; the Django side turns release rows into `Example`s,
provides a storage-backed `ReleaseSink`, and calls `write_release`.

Every writer streams: it holds one example (or, for Parquet, one row group per
split) at a time, records (path, sha256, size) of each file while writing it,
and produces byte-identical output for the same input.

Typical use::

    results = write_release(examples, {"jsonl": LocalDirSink(root / "jsonl")},
                            split_counts={"train": 800, ...}, card_stats=stats)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .base import (
    Example,
    FileEntry,
    FormatWriter,
    IOLanes,
    LocalDirSink,
    ReleaseSink,
    sha256sums_text,
    write_sha256sums,
)
from .card import render_data_card
from .csv import CsvWriter
from .hf_parquet import HFParquetWriter
from .jsonl import JsonlWriter
from .lhotse import LhotseWriter
from .webdataset import WebDatasetWriter

WRITERS: dict[str, type[FormatWriter]] = {
    w.name: w for w in (JsonlWriter, CsvWriter, HFParquetWriter, LhotseWriter, WebDatasetWriter)
}
FORMATS = tuple(WRITERS)

__all__ = [
    "FORMATS",
    "WRITERS",
    "Example",
    "FileEntry",
    "FormatWriter",
    "LocalDirSink",
    "ReleaseResult",
    "ReleaseSink",
    "make_writer",
    "render_data_card",
    "sha256sums_text",
    "write_release",
    "write_sha256sums",
]


@dataclass(frozen=True)
class ReleaseResult:
    entries: list[FileEntry]  # every file written, SHA256SUMS included, sorted by path
    checksum: str  # sha256 of the SHA256SUMS lines of the data files (README.md excluded)
    count: int


def make_writer(fmt: str, sink: ReleaseSink, *, split_counts: Mapping[str, int] | None = None, **options: Any):
    if fmt not in WRITERS:
        raise ValueError(f"Unknown release format {fmt!r}; choose from {', '.join(FORMATS)}.")
    if fmt == "hf-parquet":
        options["split_counts"] = split_counts
    return WRITERS[fmt](sink, **options)


def write_release(
    examples: Iterable[Example],
    targets: Mapping[str, ReleaseSink],
    *,
    split_counts: Mapping[str, int] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    card_stats: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None = None,
    progress: Callable[[int], None] | None = None,
    on_audio: Callable[[str, str], None] | None = None,
    extra_files: Mapping[str, bytes] | None = None,
) -> dict[str, ReleaseResult]:
    """Write one pass of `examples` into every format in `targets` (format -> sink).

    Each sink gets the format's files, a README.md data card (when `card_stats`
    is given) and SHA256SUMS. With several formats, each example's audio is
    fetched once and shared. Large files are written and hashed in blocks on
    background lanes (`IOLanes`) while the next example is prepared. `on_audio(key, sha256)`
    hears the hash of each example's audio bytes (from whichever writer hashes it
    anyway; possibly from another thread). `card_stats` may be a callable, called
    once every example is written: the caller can compute the card meanwhile. `extra_files` (relative
    path -> bytes, e.g. a collection campaign's validated.tsv) go into every format beside its data, inside
    its checksum. On any error every sink is aborted and the error re-raised, so nothing half-written stays
    behind.
    """
    options = options or {}
    lanes = IOLanes()
    writers = {
        fmt: make_writer(fmt, sink, split_counts=split_counts, **options.get(fmt, {})) for fmt, sink in targets.items()
    }
    for writer in writers.values():
        writer.lanes = lanes
    if on_audio is not None and writers:
        reporter = next((w for w in writers.values() if w.audio_files), next(iter(writers.values())))
        reporter.on_audio = on_audio
    try:
        n = 0
        for ex in examples:
            if len(writers) > 1:
                ex = ex.with_audio_loaded()
            for writer in writers.values():
                writer.add(ex)
            n += 1
            if progress is not None:
                progress(n)
        if callable(card_stats):
            card_stats = card_stats()
        results = {}
        for fmt, writer in writers.items():
            entries = writer.close()
            for relpath, data in (extra_files or {}).items():
                with writer.open(relpath) as f:
                    f.write(data)
            if extra_files:
                lanes.drain()
                entries = sorted(writer.entries)
            checksum = hashlib.sha256(sha256sums_text(entries).encode()).hexdigest()
            if card_stats is not None:
                readme = render_data_card({**card_stats, "format": fmt, "checksum": checksum}).encode()
                with writer.open("README.md") as f:
                    f.write(readme)
                lanes.drain()
                entries = sorted(writer.entries)
            entries = sorted([*entries, write_sha256sums(targets[fmt], entries)])
            results[fmt] = ReleaseResult(entries, checksum, n)
        for sink in targets.values():
            sink.finish()
        return results
    except BaseException:
        for fmt, writer in writers.items():
            writer.discard()
            targets[fmt].abort()
        raise
    finally:
        lanes.shutdown()
