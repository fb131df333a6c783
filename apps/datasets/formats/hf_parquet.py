"""Hugging Face style Parquet shards with the audio bytes inside.

Layout::

    data/{split}-{i:05d}-of-{n:05d}.parquet

Load with ``datasets.load_dataset("parquet", data_files={"train":
"data/train-*.parquet", ...})``: the schema metadata key `huggingface` carries
the `datasets` features, so `audio` comes back as `Audio(sampling_rate=SR)`
(a struct of the encoded file's `bytes` and its `path`, from whose extension
the decoder picks the format) with no cast. With `class_names`, the `label`
column is a `ClassLabel` (ints) and every example must have exactly one label
from that list; otherwise `labels` is a list of strings. Features become a
flattened `list<float32>` column `{name}` plus `{name}_shape`. Word timings are a `words` column: a list of
`{word, start, end}` (seconds in the example's audio; empty when not aligned).

Shard file names include the shard count, which must be known before the first
shard is opened (a sink cannot rename), so the writer needs each split's
example count up front and shards by rows: `ceil(count / max_rows_per_shard)`
shards of even size. Memory stays bounded by one row group per split, flushed
at `row_group_rows` rows or `row_group_bytes` of audio, whichever comes first.
All examples must share one sample rate (the `Audio` feature states one).

Determinism: fixed writer settings below; pyarrow's `created_by` footer is
"parquet-cpp-arrow version X", constant for a given pyarrow version.

Speed: the encoded audio (FLAC/WAV, which zstd cannot shrink: it only cost CPU) is stored uncompressed, every
other column with zstd. Rows are kept as tuples in schema order; each row group is turned into a table column by
column, encoded and written on a thread of its own (pyarrow encodes without the interpreter lock) while the
next rows are gathered, at most two row groups behind, so memory stays bounded.
"""

from __future__ import annotations

import ctypes
import json
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pyarrow (~40 MB a process) loads when a Parquet release is written, not at start
    import pyarrow as pa

from .base import Example, FormatWriter, IOLanes, dumps, sorted_extra
from .words import words_json

_STRING = {"dtype": "string", "_type": "Value"}


def _value(dtype: str) -> dict:
    return {"dtype": dtype, "_type": "Value"}


def _sequence(dtype: str) -> dict:
    # "Sequence" rather than datasets>=4's "List": both old and new releases read it.
    return {"feature": _value(dtype), "_type": "Sequence"}


def _words_field() -> tuple:
    """The ``words`` column (word timings, words.py): a list of {word, start, end}. A JSON list in the features
    (not "Sequence", which `datasets` would turn into a dict of lists) reads back as a list of dicts."""
    import pyarrow as pa

    struct = pa.struct([("word", pa.string()), ("start", pa.float64()), ("end", pa.float64())])
    feature = {"word": _STRING, "start": _value("float64"), "end": _value("float64")}
    return ("words", pa.list_(struct), [feature])


class HFParquetWriter(FormatWriter):
    name = "hf-parquet"

    def __init__(
        self,
        sink,
        *,
        split_counts: Mapping[str, int],
        class_names: Sequence[str] | None = None,
        max_rows_per_shard: int = 5000,
        row_group_rows: int = 100,  # what `datasets` itself writes for audio
        row_group_bytes: int = 8 << 20,
        compression: str = "zstd",
    ) -> None:
        super().__init__(sink)
        if split_counts is None:
            raise ValueError("The hf-parquet format needs split_counts to name its shards.")
        self.split_counts = dict(split_counts)
        self.class_names = list(class_names) if class_names is not None else None
        self._class_index = {n: i for i, n in enumerate(self.class_names or ())}
        self.max_rows_per_shard = max_rows_per_shard
        self.row_group_rows, self.row_group_bytes = row_group_rows, row_group_bytes
        self.compression = compression
        self.sample_rate: int | None = None
        self.schema: pa.Schema | None = None
        self._state: dict[str, _SplitState] = {}
        self._encoder: IOLanes | None = None

    def _build_schema(self, ex: Example) -> pa.Schema:
        import pyarrow as pa

        fields = [
            ("key", pa.string(), _STRING),
            (
                "audio",
                pa.struct([("bytes", pa.binary()), ("path", pa.string())]),
                {"sampling_rate": ex.sample_rate, "_type": "Audio"},
            ),
            ("text", pa.string(), _STRING),
        ]
        if self.class_names is not None:
            fields.append(("label", pa.int64(), {"names": self.class_names, "_type": "ClassLabel"}))
        else:
            fields.append(("labels", pa.list_(pa.string()), _sequence("string")))
        fields += [
            ("speaker", pa.string(), _STRING),
            ("language", pa.string(), _STRING),
            ("duration", pa.float64(), _value("float64")),
            ("num_samples", pa.int64(), _value("int64")),
            ("recording_id", pa.string(), _STRING),
            ("source_offset", pa.float64(), _value("float64")),
            ("extra", pa.string(), _STRING),
            _words_field(),
        ]
        for name in self.feature_names:
            fields.append((name, pa.list_(pa.float32()), _sequence("float32")))
            fields.append((f"{name}_shape", pa.list_(pa.int64()), _sequence("int64")))
        features = {n: f for n, _, f in fields}
        meta = {"huggingface": json.dumps({"info": {"features": features}}, sort_keys=True)}
        return pa.schema([(n, t) for n, t, _ in fields], metadata=meta)

    def _row(self, ex: Example) -> tuple:
        """The example's values in schema order (``audio`` as its (bytes, path) pair; see ``_SplitState.flush``)."""
        if self.class_names is not None:
            if len(ex.labels) != 1 or ex.labels[0] not in self._class_index:
                raise ValueError(
                    f"Example {ex.key} has labels {list(ex.labels)}; the class-label column needs "
                    f"exactly one of {self.class_names}."
                )
            labels: int | list[str] = self._class_index[ex.labels[0]]
        else:
            labels = list(ex.labels)
        row = (
            ex.key,
            (ex.audio_bytes(), ex.audio_name),
            ex.text,
            labels,
            ex.speaker,
            ex.language,
            ex.duration,
            ex.num_samples,
            ex.recording_id,
            ex.source_offset,
            dumps(sorted_extra(ex)) if ex.extra else None,
            words_json(ex.words),
        )
        if not self.feature_names:
            return row
        features: list = []
        for name in self.feature_names:
            arr = ex.features[name]
            features += (np.asarray(arr, dtype=np.float32).ravel(), list(arr.shape))
        return row + tuple(features)

    def _write(self, ex: Example) -> None:
        if self.schema is None:
            self.schema, self.sample_rate = self._build_schema(ex), ex.sample_rate
        if ex.sample_rate != self.sample_rate:
            raise ValueError(
                f"Example {ex.key} is at {ex.sample_rate} Hz but the release is at {self.sample_rate} Hz; "
                "the hf-parquet format needs one sample rate."
            )
        if ex.split not in self.split_counts:
            raise ValueError(f"Example {ex.key} is in split {ex.split!r}, which split_counts does not list.")
        state = self._state.get(ex.split)
        if state is None:
            state = self._state[ex.split] = _SplitState(self, ex.split)
        row = self._row(ex)
        self.report_audio(ex.key, row[1][0], ex.audio_sha256)
        state.add(row)

    def _submit(self, fn) -> None:
        """Run ``fn`` (a row group's encoding and writing, a shard's closing) on the encoding thread, in order; at
        most two pending (each holds a row group); the first failure is raised here."""
        if self._encoder is None:
            self._encoder = IOLanes(lanes=1, depth=2, name="release-parquet")
        self._encoder.submit(0, fn)

    def _wait(self, *, quiet: bool = False) -> None:
        encoder, self._encoder = self._encoder, None
        if encoder is None:
            return
        try:
            if not quiet:
                encoder.drain()
        finally:
            encoder.shutdown()

    def _finish(self) -> None:
        try:
            for split in sorted(self._state):
                self._state[split].close()
        finally:
            self._wait()
        seen = {s: st.total for s, st in self._state.items()}
        for split, expected in sorted(self.split_counts.items()):
            if seen.get(split, 0) != expected:
                raise ValueError(
                    f"split_counts says {expected} examples in {split!r} but {seen.get(split, 0)} arrived."
                )

    def discard(self) -> None:
        self._wait(quiet=True)
        super().discard()

    def compression_of(self) -> tuple[dict[str, str], dict[str, int]]:
        """(codec, level) per Parquet column path: every column with the writer's codec but the audio bytes."""
        codecs = {path: self.compression for path in _leaf_paths(self.schema)}
        codecs["audio.bytes"] = "none"
        levels = {path: 3 for path, codec in codecs.items() if codec == "zstd"}
        return codecs, levels


def _leaf_paths(schema) -> list[str]:
    """The Parquet column paths of an Arrow schema, as pyarrow writes them (lists as ``name.list.element``)."""
    import pyarrow as pa

    def walk(prefix: str, t) -> list[str]:
        if pa.types.is_struct(t):
            return [p for f in t for p in walk(f"{prefix}.{f.name}", f.type)]
        if pa.types.is_list(t) or pa.types.is_large_list(t):
            return walk(f"{prefix}.list.element", t.value_type)
        return [prefix]

    return [p for f in schema for p in walk(f.name, f.type)]


def _table(rows: list[tuple], schema: pa.Schema) -> pa.Table:
    """Rows (``HFParquetWriter._row``) as a table, column by column (``Table.from_pylist`` looked up every
    value of every row by name)."""
    import pyarrow as pa

    columns = list(zip(*rows, strict=True))
    arrays = []
    for i, field in enumerate(schema):
        if field.name == "audio":
            data, names = zip(*columns[i], strict=True)
            arrays.append(
                pa.StructArray.from_arrays(
                    [pa.array(data, pa.binary()), pa.array(names, pa.string())], fields=list(field.type)
                )
            )
        else:
            arrays.append(pa.array(columns[i], type=field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _write_group(writer, rows: list, schema) -> None:
    """On the encoding thread: the rows as a table (pyarrow copies the audio into it) and written as one row
    group (pyarrow encodes it without the interpreter lock); then freed."""
    table = _table(rows.pop(), schema)
    writer.write_table(table, row_group_size=table.num_rows)
    del table
    _malloc_trim()


def _load_malloc_trim():
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


_TRIM = _load_malloc_trim()


def _malloc_trim() -> None:
    """Hand freed heap pages back to the OS after each row group.

    Each row group allocates and frees thousands of audio-sized (tens of KB) blocks;
    glibc keeps the freed heap, and measured peak RSS then grew with the clip count
    (benchmarks/export.py: 214 MB at 1,000 clips, 346 MB at 10,000). Trimming keeps it flat.
    """
    if _TRIM is not None:
        _TRIM(0)


class _SplitState:
    """The open shard and pending row group of one split."""

    def __init__(self, owner: HFParquetWriter, split: str) -> None:
        self.owner, self.split = owner, split
        count = owner.split_counts[split]
        self.num_shards = max(1, math.ceil(count / owner.max_rows_per_shard))
        self.rows_per_shard = math.ceil(count / self.num_shards)
        self.shard_index, self.in_shard, self.total = 0, 0, 0
        self.rows: list[tuple] = []
        self.pending_bytes = 0
        self.file = self.writer = None

    def add(self, row: tuple) -> None:
        if self.total >= self.owner.split_counts[self.split]:
            raise ValueError(f"More examples arrived in {self.split!r} than split_counts says.")
        self.rows.append(row)
        self.pending_bytes += len(row[1][0])
        self.total += 1
        self.in_shard += 1
        shard_full = self.in_shard >= self.rows_per_shard
        if (
            shard_full
            or len(self.rows) >= self.owner.row_group_rows
            or self.pending_bytes >= self.owner.row_group_bytes
        ):
            self.flush()
        if shard_full:
            self.close_shard()

    def flush(self) -> None:
        import pyarrow.parquet as pq

        if not self.rows:
            return
        if self.writer is None:
            name = f"data/{self.split}-{self.shard_index:05d}-of-{self.num_shards:05d}.parquet"
            # Written and hashed on the encoding thread as pyarrow hands over its bytes, not on the lanes.
            self.file = self.owner.open(name, on_lanes=False)
            codecs, levels = self.owner.compression_of()
            self.writer = pq.ParquetWriter(
                self.file,
                self.owner.schema,
                compression=codecs,
                compression_level=levels,
                use_dictionary=["speaker", "language"],
                write_statistics=["key", "duration", "num_samples"],
                version="2.6",
                data_page_version="1.0",
                write_page_index=False,
                store_schema=True,
            )
        writer, rows, schema = self.writer, [self.rows], self.owner.schema
        self.rows, self.pending_bytes = [], 0
        self.owner._submit(lambda: _write_group(writer, rows, schema))

    def close_shard(self) -> None:
        if self.writer is not None:
            writer, file = self.writer, self.file

            def close() -> None:
                writer.close()
                file.close()

            self.owner._submit(close)
        self.writer = self.file = None
        self.shard_index += 1
        self.in_shard = 0

    def close(self) -> None:
        self.flush()
        self.close_shard()
