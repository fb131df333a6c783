"""Read WebDataset shards straight from the server, without a local copy.

`iter_shard` reads one shard as a stream of samples (``{"__key__": key, "flac": bytes, "json": bytes, …}``,
the shape `webdataset` gives); if the connection drops it reconnects with an HTTP range request from the
byte it had reached, so a long shard survives a flaky network. For `webdataset.WebDataset` itself use
``Client.webdataset_urls`` (curl with the auth header).
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from typing import Any

import requests
import urllib3

from earmark_client.api import Client, EarmarkError

# What a dropped connection looks like while reading a streamed body (urllib3 raises its own types there).
_DROPPED = (requests.RequestException, urllib3.exceptions.HTTPError, ConnectionError)


class RangeReader(io.RawIOBase):
    """A readable over one URL that resumes with ``Range: bytes=N-`` after a dropped connection."""

    def __init__(self, client: Client, url: str, *, start: int = 0, retries: int = 3) -> None:
        self.client, self.url, self.pos, self.retries = client, url, start, retries
        self.reconnects = 0
        self._open()

    def _open(self) -> None:
        self._response = self.client.open_shard(self.url, self.pos)
        whole = self._response.headers.get("Content-Range", "").rpartition("/")[2]
        length = self._response.headers.get("Content-Length")
        self.size = int(whole) if whole.isdigit() else (self.pos + int(length) if length else None)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while True:
            try:
                data = self._response.raw.read(len(buffer))
                if data or self.size is None or self.pos >= self.size:
                    break
                problem: Exception = ConnectionError("the body ended early")  # closed without an error
            except _DROPPED as exc:
                problem = exc
            if self.reconnects >= self.retries:
                raise EarmarkError(f"Lost the connection to {self.url} {self.retries} times: {problem}") from None
            self.reconnects += 1
            self._response.close()
            self._open()
        n = len(data)
        buffer[:n] = data
        self.pos += n
        return n

    def close(self) -> None:
        self._response.close()
        super().close()


def iter_shard(client: Client, url: str) -> Iterator[dict[str, Any]]:
    """The samples of one shard, in order: members that share a key (up to the first dot) form a sample."""
    reader = RangeReader(client, url)
    try:
        with tarfile.open(fileobj=io.BufferedReader(reader, 1 << 16), mode="r|") as tar:
            sample: dict[str, Any] = {}
            for member in tar:
                if not member.isfile():
                    continue
                name = member.name.rsplit("/", 1)[-1]
                key, _, field = name.partition(".")
                if sample and sample["__key__"] != key:
                    yield sample
                    sample = {}
                sample.setdefault("__key__", key)
                sample["__url__"] = url
                sample[field] = tar.extractfile(member).read()  # type: ignore[union-attr]
            if sample:
                yield sample
    finally:
        reader.close()


def stream(client: Client, release_id: int, split: str) -> Iterator[dict[str, Any]]:
    """Every sample of a split, shard after shard."""
    for url in client.shard_urls(release_id, split):
        yield from iter_shard(client, url)
