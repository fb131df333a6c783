"""Default storage's S3 side: the backend settings name, and an object's boto3 calls for callers that must bypass
django-storages' file wrapper.

django-storages' ``S3File`` buffers a whole object in memory (or a spooled file) and asks for it with a HEAD
first; streaming a download to disk, reading a byte range or one small object whole need boto3's own calls
(``s3_object``). This is the one place that knows how django-storages names an object in its bucket.
"""

import os
import threading

from django.core.files.storage import default_storage
from storages.backends import s3


class S3Storage(s3.S3Storage):
    """django-storages' S3 storage, with one boto3 session per process instead of one per thread.

    django-storages makes a new boto3 session for each thread's first use, and every new session loads and parses
    botocore's S3 model again: 120-190 ms of CPU per thread (measured), paid by the first requests of each of a
    web node's gunicorn threads (12 by default) after every start and every max_requests replacement. Here each
    thread still gets its own resource (boto3's advice for threads), made from the process's one session, whose
    loader keeps the parsed model: 7-17 ms for each thread after the first. Resources are made under a lock
    (a session is not documented safe to use from several threads at once); a forked child makes its own session.
    """

    _lock = threading.Lock()

    def __init__(self, **settings):
        super().__init__(**settings)
        self._session: tuple[int, object] | None = None

    def _create_session(self):
        pid = os.getpid()
        if self._session is None or self._session[0] != pid:
            self._session = (pid, super()._create_session())
        return self._session[1]

    @property
    def connection(self):
        connection = getattr(self._connections, "connection", None)
        if connection is None:
            with self._lock:
                connection = super().connection
        return connection

    @property
    def unsigned_connection(self):
        connection = getattr(self._unsigned_connections, "connection", None)
        if connection is None:
            with self._lock:
                connection = super().unsigned_connection
        return connection

    def _save(self, name, content):
        """django-storages' save, but an object up to the multipart threshold (8 MiB) goes up in one PutObject.

        django-storages hands every object to s3transfer's ``upload_fileobj`` through a new ``Object`` resource:
        a transfer manager with its futures and worker threads, and a resource class built for each call, to send
        what is one request for a small object. Measured against moto, 40 KB objects: 7-8 ms of CPU a save that
        way, 3 ms with PutObject; a recording's processing stores ~14 such artifacts. Larger, unseekable or
        gzipped content takes django-storages' way (multipart above the threshold)."""
        limit = self.transfer_config.multipart_threshold
        if self.gzip or not s3.is_seekable(content):
            return super()._save(name, content)
        content.seek(0, os.SEEK_SET)
        data = content.read(limit + 1)
        if len(data) > limit:
            return super()._save(name, content)  # it reads from the start again
        if isinstance(data, str):  # a file opened in text mode: encoded as django-storages' wrapper does
            data = data.encode(getattr(content, "encoding", None) or "utf-8")
        cleaned = s3.clean_name(name)
        key = self._normalize_name(cleaned)
        params = self._get_write_parameters(key, content)
        self.connection.meta.client.put_object(Bucket=self.bucket_name, Key=key, Body=data, **params)
        return cleaned

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_session", None)
        return state

    def __setstate__(self, state):
        super().__setstate__({**state, "_session": None})


class S3Object:
    """The object behind a key, with the calls of boto3's ``Object`` resource that Earmark uses (``get``,
    ``download_file``, ``download_fileobj``) made on the client: the resource builds a class for every object
    and runs each call through its action machinery, 6-7 ms of CPU a small GET against moto where the client
    takes 3-4 (measured); a peaks read is one such GET on the annotator's path."""

    def __init__(self, client, bucket: str, key: str) -> None:
        self._client, self.bucket_name, self.key = client, bucket, key

    def get(self, **params) -> dict:
        return self._client.get_object(Bucket=self.bucket_name, Key=self.key, **params)

    def download_file(self, path: str) -> None:
        self._client.download_file(self.bucket_name, self.key, path)

    def download_fileobj(self, fileobj) -> None:
        self._client.download_fileobj(self.bucket_name, self.key, fileobj)


def s3_object(key: str) -> S3Object | None:
    """The S3 object behind ``key`` when default storage is S3, else None (local storage)."""
    if not hasattr(default_storage, "bucket"):
        return None
    storage = default_storage
    return S3Object(storage.connection.meta.client, storage.bucket_name, storage._normalize_name(key))  # type: ignore[attr-defined]
