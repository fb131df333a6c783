"""A release sink on Django's default storage: streamed local files, or S3 multipart uploads."""

from __future__ import annotations

import os

from django.core.files.storage import default_storage

from apps.datasets.formats.base import check_relpath


def _is_local(storage) -> bool:
    try:
        storage.path("x")
        return True
    except NotImplementedError:
        return False


class StorageSink:
    """Writes files under ``prefix`` in default storage.

    Locally each file is opened and written in place; on S3 ``storage.open(key, "wb")``
    returns django-storages' S3File, which uploads in multipart parts as it is written,
    so neither holds a whole file in memory.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix.rstrip("/") + "/"
        self.storage = default_storage
        self.local = _is_local(self.storage)
        self.written: list[str] = []

    def open(self, relpath: str):
        key = self.prefix + check_relpath(relpath)
        self.written.append(key)
        if self.local:
            path = self.storage.path(key)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            return open(path, "wb")
        return self.storage.open(key, "wb")

    def finish(self) -> None:
        self.written = []

    def abort(self) -> None:
        for key in self.written:
            storage_delete_quietly(key)
        self.written = []


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
