"""Stream storage objects as one POSIX tar (fixed headers, so the same files give the same bytes)."""

from apps.datasets.formats.webdataset import BLOCK, RECORD, tar_header

CHUNK = 1 << 20


def tar_stream(storage, members):
    """Yield a tar of ``members`` — (name in the tar, storage key) pairs — one chunk at a time."""
    total = 0
    for name, key in members:
        size = storage.size(key)
        header = tar_header(name, size)
        total += len(header)
        yield header
        with storage.open(key, "rb") as fh:
            while chunk := fh.read(CHUNK):
                total += len(chunk)
                yield chunk
        pad = b"\0" * (-size % BLOCK)
        total += len(pad)
        yield pad
    end = b"\0" * (2 * BLOCK)
    total += len(end)
    yield end + b"\0" * (-total % RECORD)
