"""A release sink on Django's default storage: streamed local files (the many small ones of a large release
created by a helper process, formats.filemaker), or S3 multipart uploads."""

from __future__ import annotations

import io
import logging
import os
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage

from apps.datasets.formats.base import CREATE, FdFile, check_relpath
from apps.datasets.formats.filemaker import FileMaker

log = logging.getLogger(__name__)

# Small files a local release sink writes itself before it hands the rest to a file-creating process: a small
# release never starts one (starting a child Python takes ~20 ms).
FILES_INLINE = 256


class StorageSink:
    """Writes files under ``prefix`` in default storage.

    Locally each file is opened and written in place; on S3 ``storage.open(key, "wb")``
    returns django-storages' S3File, which uploads in multipart parts as it is written,
    so neither holds a whole file in memory.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix.rstrip("/") + "/"
        self.storage = default_storage
        self.local = isinstance(self.storage, FileSystemStorage)
        self.written: list[str] = []
        # Local: the folder's path once, and a cache of made folders (open runs once per file, 10,000s of times).
        self._root = self.storage.path(self.prefix) if self.local else ""
        self._dirs: set[str] = set()
        self._inline = 0  # small files written in this process so far
        self._maker: FileMaker | None = None

    def open(self, relpath: str):
        key = self.prefix + check_relpath(relpath)
        self.written.append(key)
        if self.local:
            path = os.path.join(self._root, relpath)
            folder = os.path.dirname(path)
            if folder not in self._dirs:
                os.makedirs(folder, exist_ok=True)
                self._dirs.add(folder)
            return FdFile(os.open(path, CREATE, 0o666))  # not open(): see formats.base.FdFile
        return _RemoteFile(self.storage, key)

    def write_file(self, relpath: str, data: bytes) -> None:
        """A whole small file (a clip, its features). Locally, past the first FILES_INLINE files, a child process
        creates them (formats.filemaker: their system calls run on another core); ``finish`` waits for it."""
        if self._maker is None:
            if self.local and self._inline == FILES_INLINE:
                try:
                    self._maker = FileMaker(self._root, CREATE)
                except OSError:  # no child process here (no interpreter to start): go on writing in this one
                    log.warning("release files: could not start the file-creating process", exc_info=True)
            if self._maker is None:
                self._inline += 1
                with self.open(relpath) as f:
                    f.write(data)
                return
        self.written.append(self.prefix + check_relpath(relpath))
        self._maker.write(relpath, data)

    def finish(self) -> None:
        if self._maker is not None:
            self._maker.close()  # every file created, or an OSError saying why not
        self.written = []

    def abort(self) -> None:
        if self._maker is not None:
            self._maker.kill()  # before deleting: nothing is created after
        for key in self.written:
            storage_delete_quietly(key)
        self.written = []


class _RemoteFile:
    """Small files go up in one PUT; past ``SMALL`` bytes the file becomes an S3 multipart upload.

    (django-storages' S3File starts a multipart upload for every file, three requests each:
    too many for tens of thousands of clips.)
    """

    SMALL = 8 << 20

    def __init__(self, storage, key: str) -> None:
        self.storage, self.key = storage, key
        self.buffer: io.BytesIO | None = io.BytesIO()
        self.remote: Any = None  # the storage's open file once the object outgrows SMALL

    def write(self, data) -> int:
        if self.remote is not None:
            return self.remote.write(data)
        assert self.buffer is not None  # set until the first spill or close
        n = self.buffer.write(data)
        if self.buffer.tell() > self.SMALL:
            self.remote = self.storage.open(self.key, "wb")
            self.remote.write(self.buffer.getvalue())
            self.buffer = None
        return n

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        # The failure path (HashedFile.discard) asks before closing; the release's cleanup removes what was sent.
        return self.buffer is None and (self.remote is None or self.remote.closed)

    def close(self) -> None:
        if self.remote is not None:
            self.remote.close()
        elif self.buffer is not None:
            saved = self.storage.save(self.key, ContentFile(self.buffer.getvalue()))
            self.buffer = None
            if saved != self.key:
                raise RuntimeError(f"Storage saved {self.key} as {saved}; release files must keep their names.")


def storage_local_root() -> str | None:
    """The folder of default storage when it is local, else None (a build resolves it once, not per source)."""
    return str(default_storage.location) if isinstance(default_storage, FileSystemStorage) else None


def storage_open_read(key: str, *, whole_below: int = 0, local_root: str | None = None):
    """Open a stored object for reading; locally a plain buffered file (no storage wrapper: this runs per example).

    A local file of at most ``whole_below`` bytes is read whole at once and handed back in memory (BytesIO):
    open, fstat, read, close. Python's ``open`` adds an ioctl (isatty), another fstat and a seek, and every
    system call lets another thread of the build take the interpreter lock. ``local_root``: default storage's
    folder as `storage_local_root` gave it (skips looking the storage up again).
    """
    if local_root is None:
        local_root = storage_local_root()
        if local_root is None:
            return default_storage.open(key, "rb")
    path = os.path.join(local_root, check_relpath(key))  # keys are relative, no ".."
    if whole_below <= 0:
        return open(path, "rb")
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        size = os.fstat(fd).st_size
        if size > whole_below:
            return open(fd, "rb")  # the file owns fd from here
        parts = [os.read(fd, size)]
        while (got := sum(map(len, parts))) < size and parts[-1]:  # a short read (rare on local files)
            parts.append(os.read(fd, size - got))
    except BaseException:
        os.close(fd)
        raise
    os.close(fd)
    return io.BytesIO(b"".join(parts) if len(parts) > 1 else parts[0])


def storage_delete_quietly(key: str) -> None:
    try:
        default_storage.delete(key)
    except FileNotFoundError:
        pass


def storage_delete_prefix(prefix: str) -> int:
    """Delete every object under ``prefix`` (a release's folder); returns how many."""
    count = 0
    try:
        dirs, files = default_storage.listdir(prefix)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    for name in files:
        storage_delete_quietly(prefix.rstrip("/") + "/" + name)
        count += 1
    for d in dirs:
        count += storage_delete_prefix(prefix.rstrip("/") + "/" + d)
    return count
