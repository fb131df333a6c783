"""Shared pieces of the release writers: Example, sinks, hashing, the writer base.

Determinism rules every writer follows: output order is input order (which
`FormatWriter.add` forces to be strictly increasing by key), JSON is dumped with
a fixed key order, and nothing records a time, a host or a user.
"""

from __future__ import annotations

import abc
import dataclasses
import hashlib
import io
import itertools
import json
import math
import os
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, Protocol

import numpy as np

from .words import words_check

# bytes, or a callable returning bytes, a readable binary file (closed after use)
# or an iterable of byte chunks. A callable rather than an iterator so that each
# reader (one per format) can fetch the audio again without holding it.
AudioSource = bytes | Callable[[], bytes | BinaryIO | Iterable[bytes]]

AUDIO_FORMATS = ("flac", "wav")
CHUNK_SIZE = 1 << 20
# No dots (WebDataset splits member names at the first dot), no slashes, and
# short enough for a plain ustar header.
_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,79}\Z")
_SPLIT_RE = re.compile(r"[A-Za-z0-9_]{1,40}\Z")


def bytes_left(f) -> int | None:
    """Bytes from the position to the end of a plain local file (fstat), else None."""
    try:
        return max(0, os.fstat(f.fileno()).st_size - f.tell())
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None


@dataclass(frozen=True)
class Example:
    """One unit of a release: a whole recording or one region cut from it.

    `audio` is the already-encoded file of this unit (the cut, for regions), so
    every manifest says offset 0 and carries `source_offset` (seconds into the
    source recording) for information only.
    """

    key: str  # "r000123" (whole recording) or "r000123-g0002" (region)
    split: str
    audio: AudioSource
    sample_rate: int
    num_samples: int
    audio_format: str = "flac"
    channels: int = 1
    source_offset: float = 0.0
    text: str = ""
    labels: tuple[str, ...] = ()
    speaker: str | None = None  # pseudonymous code, never a name
    language: str | None = None
    recording_id: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    features: Mapping[str, np.ndarray] = field(default_factory=dict)
    # (word, start, end, score) in seconds of this example's audio, from forced alignment (see words.py)
    words: tuple[tuple[str, float, float, float | None], ...] = ()
    # sha256 (hex) of ``audio`` when it is bytes and the caller hashed them already: the writers report it (on_audio,
    # a clip file's entry) instead of hashing the bytes again.
    audio_sha256: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", tuple(self.labels))
        if not _KEY_RE.match(self.key):
            raise ValueError(
                f"Example key {self.key!r} must be 1-80 letters, digits, '-' or '_' and start with a letter or digit."
            )
        if not _SPLIT_RE.match(self.split):
            raise ValueError(f"Split name {self.split!r} of {self.key} must be letters, digits or '_'.")
        if self.audio_format not in AUDIO_FORMATS:
            raise ValueError(f"Audio format {self.audio_format!r} of {self.key} is not one of {AUDIO_FORMATS}.")
        if self.sample_rate <= 0 or self.num_samples < 0 or self.channels < 1:
            raise ValueError(f"Example {self.key} needs a positive sample rate and channel count.")
        if not isinstance(self.text, str) or not all(isinstance(x, str) for x in self.labels):
            raise ValueError(f"Example {self.key}: text must be a string and labels a list of strings.")
        if not math.isfinite(self.source_offset) or self.source_offset < 0:
            raise ValueError(f"Example {self.key}: source_offset must be a finite number >= 0.")
        for name, arr in self.features.items():
            if not _KEY_RE.match(name) or "-" in name:
                raise ValueError(f"Feature name {name!r} of {self.key} must be letters, digits or '_'.")
            if not isinstance(arr, np.ndarray) or arr.dtype.hasobject:
                raise ValueError(f"Feature {name!r} of {self.key} must be a numeric numpy array.")
        object.__setattr__(self, "words", words_check(self.key, self.words, self.duration) if self.words else ())
        if self.audio_sha256 is not None and type(self.audio) is not bytes:
            raise ValueError(f"Example {self.key}: audio_sha256 is for audio held as bytes.")

    @property
    def duration(self) -> float:
        return self.num_samples / self.sample_rate

    @property
    def audio_name(self) -> str:
        return f"{self.key}.{self.audio_format}"

    def audio_chunks(self) -> Iterator[bytes]:
        """Yield the encoded audio in chunks, fetching it afresh on each call."""
        src = self.audio() if callable(self.audio) else self.audio
        if isinstance(src, (bytes, bytearray, memoryview)):
            yield bytes(src)
        elif hasattr(src, "read"):
            try:
                left = bytes_left(src)
                if left is not None and left <= CHUNK_SIZE:
                    # A short local file in one read of its size: read(CHUNK_SIZE) allocates 1 MiB first (above
                    # glibc's mmap threshold: a fresh mapping, faults and munmap per clip), and a second read to
                    # find the end would allocate it again.
                    yield src.read(left)
                    return
                while chunk := src.read(CHUNK_SIZE):
                    yield chunk
            finally:
                src.close()
        else:
            for chunk in src:
                yield bytes(chunk)

    def audio_bytes(self) -> bytes:
        if type(self.audio) is bytes:  # a short clip the build read whole (most of a large release)
            return self.audio
        return b"".join(self.audio_chunks())

    def with_audio_loaded(self) -> Example:
        return dataclasses.replace(self, audio=self.audio_bytes())


class FileEntry(NamedTuple):
    path: str  # relative to the release root, "/"-separated
    sha256: str
    size: int


class SinkFile(Protocol):
    """What writers use of a file a sink opens."""

    @property
    def closed(self) -> bool: ...

    def write(self, data: bytes | bytearray, /) -> int | None: ...

    def close(self) -> None: ...


class ReleaseSink(Protocol):
    """Where a release's files go.

    `open(relpath)` returns a writable binary file (only `write` and `close`
    are used; `close` makes the file final). `finish()` is called once after
    every file is closed; `abort()` after a failure, to remove what was written.
    `LocalDirSink` writes to a folder; the Django side provides a storage-backed
    sink (`default_storage.open(prefix + relpath, "wb")`, which django-storages
    turns into an S3 multipart upload, or boto3 `upload_fileobj` fed by a pipe).
    """

    def open(self, relpath: str) -> SinkFile: ...

    # Optional: ``write_file(relpath, data)`` writes a whole small file (writers use it when a sink has it).

    def finish(self) -> None: ...

    def abort(self) -> None: ...


# Release files are opened with os.open, not open(): Python's open() adds an fstat, an ioctl (isatty) and a seek
# to every file, and each system call lets another thread of the build take the interpreter lock (a release
# writes 10,000s of small files). Writers hand a sink whole blocks (HashedFile) or whole small files, so the
# files need no buffer of their own.
CREATE_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
CREATE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC


class FdFile:
    """A file opened with ``os.open``, written unbuffered: ``write`` (all of it), ``close``, a context manager."""

    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd = fd

    @property
    def closed(self) -> bool:
        return self.fd < 0

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        n = len(view)
        while view:
            view = view[os.write(self.fd, view) :]
        return n

    def close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)

    def __enter__(self) -> FdFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# Paths the writers make (audio/train/r00000001.flac): every part starts with a letter, digit or '_', so none is
# empty, "." or "..", and none holds a backslash, newline or NUL. One match accepts them; anything else is checked
# part by part below (this runs for every file a release writes and every source it reads).
_PLAIN_RELPATH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_][A-Za-z0-9_.-]*)*\Z")


def check_relpath(relpath: str) -> str:
    if _PLAIN_RELPATH.match(relpath):
        return relpath
    parts = relpath.split("/")
    if (
        not relpath
        or relpath.startswith("/")
        or any(p in ("", ".", "..") for p in parts)
        or any(c in relpath for c in "\\\n\r\0")
    ):
        raise ValueError(f"Release file path {relpath!r} must be a plain relative path.")
    return relpath


class LocalDirSink:
    """Writes a release into an empty (or new) local directory."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        if self.root.exists() and any(self.root.iterdir()):
            raise ValueError(f"Release directory {self.root} is not empty.")
        self.root.mkdir(parents=True, exist_ok=True)
        self._root = str(self.root)
        self._dirs: set[str] = {self._root}
        self._written: list[str] = []

    def open(self, relpath: str) -> FdFile:
        # Plain strings and a cache of made folders: this runs once per file, tens of thousands of times.
        path = os.path.join(self._root, check_relpath(relpath))
        folder = os.path.dirname(path)
        if folder not in self._dirs:
            os.makedirs(folder, exist_ok=True)
            self._dirs.add(folder)
        try:
            f = FdFile(os.open(path, CREATE_NEW, 0o666))
        except FileExistsError:
            raise ValueError(f"Release file {relpath} was already written.") from None
        self._written.append(path)
        return f

    def write_file(self, relpath: str, data: bytes) -> None:
        """A whole small file at once (``open``, write, close)."""
        with self.open(relpath) as f:
            f.write(data)

    def finish(self) -> None:
        self._written = []

    def abort(self) -> None:
        dirs = set()
        for path in map(Path, self._written):
            path.unlink(missing_ok=True)
            dirs.update(p for p in path.parents if self.root in p.parents)
        for d in sorted(dirs, key=lambda p: len(p.parts), reverse=True):
            if d.exists() and not any(d.iterdir()):
                d.rmdir()
        self._written = []


IO_BLOCK = 1 << 20


class IOLanes:
    """Background threads that write and hash the release's large files (and hash example audio in batches)
    while the caller reads the next example.

    File writes and sha256 of blocks over 2 KiB release the GIL, so on a multi-core worker they run beside
    the Python that reads sources and builds headers and manifest rows. Each file belongs to one lane and a
    lane is one thread, so a file's blocks are written and hashed in order. At most ``depth`` tasks wait per
    lane (each holds about one block), which bounds memory; the first failure is raised in the caller's
    thread at its next ``submit`` or at ``drain``.
    """

    def __init__(self, lanes: int = 2, depth: int = 4, name: str = "release-io") -> None:
        self._lanes = [ThreadPoolExecutor(1, thread_name_prefix=f"{name}-{i}") for i in range(lanes)]
        self._pending: deque[Future] = deque()
        self._limit, self._next = lanes * depth, 0

    def lane(self) -> int:
        self._next = (self._next + 1) % len(self._lanes)
        return self._next

    def submit(self, lane: int, fn: Callable[[], None]) -> None:
        self._pending.append(self._lanes[lane].submit(fn))
        while self._pending and (self._pending[0].done() or len(self._pending) > self._limit):
            self._pending.popleft().result()

    def drain(self, *, quiet: bool = False) -> None:
        """Wait for every task; re-raise the first failure (unless ``quiet``, on the failure path)."""
        while self._pending:
            try:
                self._pending.popleft().result()
            except BaseException:
                if not quiet:
                    self.drain(quiet=True)
                    raise

    def shutdown(self) -> None:
        self.drain(quiet=True)
        for lane in self._lanes:
            lane.shutdown()


class HashedFile(io.RawIOBase):
    """A release file that hashes and counts its bytes as they stream by.

    Writes gather in a block of ``IO_BLOCK`` bytes; full blocks (and, at close, the rest) are written
    and hashed on an ``IOLanes`` lane when one is given, else at once. The underlying file is opened
    with the first block; a file smaller than one block is written and hashed at close, in this thread.
    """

    def __init__(
        self,
        opener: Callable[[], SinkFile],
        path: str,
        on_close: Callable[[FileEntry], None],
        lanes: IOLanes | None = None,
    ) -> None:
        self._opener, self.path, self._on_close = opener, path, on_close
        self._raw: SinkFile | None = None
        self._sha, self._size = hashlib.sha256(), 0
        # Writes gather as a list of bytes joined once per block: appending each to a bytearray copied it and
        # grew (reallocated) the buffer as it went, the larger part of a webdataset writer's own time.
        self._parts: list[bytes] = []
        self._held = 0
        self._lanes = lanes
        self._lane = lanes.lane() if lanes is not None else 0

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        if type(b) is not bytes:  # a caller may reuse its buffer once write returns: keep a copy
            b = bytes(b)
        n = len(b)
        self._parts.append(b)
        self._held += n
        self._size += n
        if self._held >= IO_BLOCK:
            self._run(self._write_block, self._take())
        return n

    def write_parts(self, parts: list[bytes], size: int) -> None:
        """``write`` of each of ``parts`` (bytes objects, ``size`` bytes in all), handed over at once."""
        self._parts += parts
        self._held += size
        self._size += size
        if self._held >= IO_BLOCK:
            self._run(self._write_block, self._take())

    def _take(self) -> bytes:
        parts, self._parts, self._held = self._parts, [], 0
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def tell(self) -> int:
        return self._size

    def close(self) -> None:
        if not self.closed:
            super().close()
            block = self._take()
            if self._raw is None and self._size < IO_BLOCK:
                self._finish(block)  # a small file: at once (see _run)
            else:
                self._run(self._finish, block)

    def _run(self, fn, block: bytes) -> None:
        # Only files of a block or more use a lane. A small file's few syscalls are cheaper here than the hand-off:
        # a lane thread would wait for the GIL after each one (up to the 5 ms switch interval), which made
        # 10,000 one-second clips three times slower than writing them in this thread.
        if self._lanes is None:
            fn(block)
        else:
            self._lanes.submit(self._lane, lambda: fn(block))

    def _write_block(self, block: bytes) -> None:
        if self._raw is None:
            self._raw = self._opener()
        if block:
            self._sha.update(block)
            self._raw.write(block)

    def _finish(self, block: bytes) -> None:
        self._write_block(block)
        self._raw.close()
        self._on_close(FileEntry(self.path, self._sha.hexdigest(), self._size))

    def discard(self) -> None:
        """Close without recording the file (failure path; call after the lanes are drained)."""
        if not self.closed:
            io.RawIOBase.close(self)
        if self._raw is not None and not self._raw.closed:
            self._raw.close()


def sha256sums_text(entries: Iterable[FileEntry]) -> str:
    """GNU coreutils `sha256sum` format, sorted by path."""
    return "".join(f"{e.sha256}  {e.path}\n" for e in sorted(entries, key=lambda e: e.path))


def write_sha256sums(sink: ReleaseSink, entries: Iterable[FileEntry]) -> FileEntry:
    data = sha256sums_text(entries).encode()
    with sink.open("SHA256SUMS") as f:
        f.write(data)
    return FileEntry("SHA256SUMS", hashlib.sha256(data).hexdigest(), len(data))


# json.dumps with any option builds a new JSONEncoder on every call; one encoder, built once, gives the same text.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
_ENCODE = _ENCODER.encode
# JSONEncoder.encode also builds its C encoder (and a float formatter, and a dict for spotting cycles) on every
# call: built once here, without the cycle check (a manifest line is never circular), the same text ~20% faster
# (tested against _ENCODE). Lines are encoded 10,000s of times a release (lhotse: three per example).
_C_ENCODE = (
    json.encoder.c_make_encoder(
        None, _ENCODER.default, json.encoder.encode_basestring, None, ": ", ", ", False, False, False
    )
    if json.encoder.c_make_encoder is not None
    else None
)


def dumps(obj: Any) -> str:
    """One JSON line: fixed key order (the caller's), UTF-8, no NaN."""
    if _C_ENCODE is None:
        return _ENCODE(obj)
    return "".join(_C_ENCODE(obj, 0))


def sorted_extra(ex: Example) -> dict[str, Any]:
    return {k: ex.extra[k] for k in sorted(ex.extra)}


def npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
    return buf.getvalue()


class FormatWriter(abc.ABC):
    """Streams examples, one at a time, into one format's files on a sink.

    Examples must arrive strictly increasing by key (string order) across the
    whole release: this fixes the output order and catches duplicate keys
    without keeping a set of every key seen.
    """

    name: str = ""

    # True for the formats that write each example's audio as its own file (its hash comes free).
    audio_files = False

    def __init__(self, sink: ReleaseSink) -> None:
        self.sink = sink
        self.entries: list[FileEntry] = []
        self._open_files: set[HashedFile] = set()
        self._last_key: str | None = None
        self.feature_names: tuple[str, ...] | None = None  # fixed by the first example
        self.count = 0
        self.lanes: IOLanes | None = None  # write_release lends its lanes
        # on_audio(key, sha256 of the example's audio bytes), once per example, from any thread.
        self.on_audio: Callable[[str, str], None] | None = None
        self._to_hash: list[tuple[bytes, Callable[[str], None]]] = []
        self._to_hash_bytes = 0

    def open(
        self, relpath: str, on_entry: Callable[[FileEntry], None] | None = None, *, on_lanes: bool = True
    ) -> HashedFile:
        """A release file; ``on_lanes=False``: written and hashed in the thread that writes it (a writer that
        writes a file from a thread of its own: the lanes take work from one thread only)."""
        check_relpath(relpath)

        def done(entry: FileEntry) -> None:
            self.entries.append(entry)
            self._open_files.discard(f)
            if on_entry is not None:
                on_entry(entry)

        f = HashedFile(lambda: self.sink.open(relpath), relpath, done, self.lanes if on_lanes else None)
        self._open_files.add(f)
        return f

    def report_audio(self, key: str, data: bytes, known: str | None = None) -> None:
        """Tell ``on_audio`` the hash of an example's audio held in memory: ``known`` (Example.audio_sha256) when
        given, else hashed (see ``hash_later``)."""
        if self.on_audio is not None:
            on_audio = self.on_audio
            if known is not None:
                on_audio(key, known)
            else:
                self.hash_later(data, lambda digest: on_audio(key, digest))

    def hash_later(self, data: bytes, then: Callable[[str], None]) -> None:
        """Hash ``data`` and pass the hex digest to ``then``.

        With lanes, hashes run there in batches of about a block (one hand-off per batch, not per call:
        sha256 releases the GIL, so a batch hashes on the other core while this thread goes on); ``close``
        sends the last batch. Without lanes, at once.
        """
        self._to_hash.append((data, then))
        self._to_hash_bytes += len(data)
        if self.lanes is None or self._to_hash_bytes >= IO_BLOCK:
            self._hash_batch()

    def _hash_batch(self) -> None:
        batch = self._to_hash
        self._to_hash, self._to_hash_bytes = [], 0
        if not batch:
            return

        def run() -> None:
            for data, then in batch:
                then(hashlib.sha256(data).hexdigest())

        if self.lanes is None:
            run()
        else:
            self.lanes.submit(self.lanes.lane(), run)

    def add(self, ex: Example) -> None:
        if self._last_key is not None and ex.key <= self._last_key:
            raise ValueError(
                f"Example {ex.key} arrived after {self._last_key}: examples must be sorted by key, with no duplicates."
            )
        names = tuple(sorted(ex.features))
        if self.feature_names is None:
            self.feature_names = names
        elif names != self.feature_names:
            raise ValueError(
                f"Example {ex.key} has features {list(names)} but earlier examples have "
                f"{list(self.feature_names)}; every example must carry the same features."
            )
        self._last_key = ex.key
        self._write(ex)
        self.count += 1

    def close(self) -> list[FileEntry]:
        self._finish()
        self._hash_batch()
        if self.lanes is not None:
            self.lanes.drain()
        return sorted(self.entries)

    def discard(self) -> None:
        if self.lanes is not None:
            self.lanes.drain(quiet=True)
        for f in list(self._open_files):
            f.discard()

    @abc.abstractmethod
    def _write(self, ex: Example) -> None: ...

    def _finish(self) -> None:  # noqa: B027 (optional: a writer with something left to close overrides it)
        pass

    # helpers for the file-per-example formats (jsonl, csv, lhotse)
    def write_audio_file(self, ex: Example) -> str:
        relpath = f"audio/{ex.split}/{ex.audio_name}"
        on_audio, key = self.on_audio, ex.key
        if type(ex.audio) is bytes:  # held whole already (see audio_chunks)
            self._write_whole(
                relpath,
                ex.audio,
                None if on_audio is None else lambda digest: on_audio(key, digest),
                known=ex.audio_sha256,
            )
            return relpath
        chunks = ex.audio_chunks()
        first = next(chunks, b"")
        second = next(chunks, None)
        if second is None:  # the whole file in one chunk, as most clips are: no HashedFile (15% of a jsonl build)
            self._write_whole(relpath, first, None if on_audio is None else lambda digest: on_audio(key, digest))
            return relpath
        with self.open(relpath, None if on_audio is None else lambda entry: on_audio(key, entry.sha256)) as f:
            for chunk in itertools.chain((first, second), chunks):
                f.write(chunk)
        return relpath

    def _write_whole(
        self, relpath: str, data: bytes, on_hash: Callable[[str], None] | None = None, known: str | None = None
    ) -> None:
        """Write a small file held in memory at once (see HashedFile._run); record it once hashed (``known``: its
        sha256, already computed). A sink with ``write_file`` takes the whole file (a storage sink may hand it to
        a process that creates files)."""
        write_file = getattr(self.sink, "write_file", None)
        if write_file is not None:
            write_file(check_relpath(relpath), data)
        else:
            raw = self.sink.open(check_relpath(relpath))
            try:
                raw.write(data)
            finally:
                raw.close()

        def done(digest: str) -> None:
            self.entries.append(FileEntry(relpath, digest, len(data)))
            if on_hash is not None:
                on_hash(digest)

        if known is not None:
            done(known)
        else:
            self.hash_later(data, done)

    def write_feature_files(self, ex: Example) -> dict[str, str]:
        if not ex.features:
            return {}
        paths = {}
        for name in sorted(ex.features):
            relpath = paths[name] = f"features/{ex.split}/{ex.key}.{name}.npy"
            self._write_whole(relpath, npy_bytes(ex.features[name]))
        return paths
