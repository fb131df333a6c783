"""Serve a storage object with HTTP range requests (206, Content-Range, 416)."""

import re
from typing import NamedTuple

from django.core.files.storage import default_storage
from django.http import HttpResponse, HttpResponseRedirect, StreamingHttpResponse

# One byte-range-spec (RFC 9110 §14.1.2): "first-last", "first-" or "-suffix".
_SPEC = re.compile(r"^(\d*)-(\d*)$")
_CHUNK = 1 << 16

CONTENT_TYPES = {
    "wav": "audio/wav",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "opus": "audio/ogg",
    "mp3": "audio/mpeg",
    "aiff": "audio/aiff",
    "m4a": "audio/mp4",
    "mp4": "audio/mp4",
    "aac": "audio/aac",
    "adts": "audio/aac",
    "npy": "application/octet-stream",
    "png": "image/png",
    "json": "application/json",
}


class ByteRange(NamedTuple):
    """An inclusive byte range of a representation: bytes ``start`` to ``end``."""

    start: int
    end: int


class RangeNotSatisfiable(Exception):
    """The Range header is valid but selects no byte of the representation (answer 416)."""


def _number(digits: str, cap: int) -> int:
    # Thousands of digits must not reach int() (Python refuses > 4300 digits with ValueError, a 500 before);
    # anything past 19 digits is larger than any file, so it is the cap.
    return cap if len(digits) > 19 else min(int(digits), cap)


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The byte range a ``Range`` header asks of a ``size``-byte file, per RFC 9110 §14.

    None means "ignore the header and send the whole file (200)": no header, a unit other than bytes,
    several ranges (allowed to be ignored rather than answered as multipart/byteranges), or a
    malformed spec. A suffix longer than the file selects the whole file. Raises RangeNotSatisfiable
    when the range starts past the end (or asks for the last 0 bytes, or the file is empty): 416.
    """
    if not header:
        return None
    unit, sep, spec = header.strip().partition("=")
    if not sep or unit.strip().lower() != "bytes" or "," in spec:
        return None
    match = _SPEC.match(spec.strip())
    if not match or not (match[1] or match[2]):
        return None
    first, last = match[1], match[2]
    big = size + 1  # larger than any position in the file
    if first:
        start = _number(first, big)
        end = _number(last, big) if last else big
        if last and end < start:
            return None  # last-pos before first-pos: an invalid spec, ignored
        if start >= size:
            raise RangeNotSatisfiable
        return ByteRange(start, min(end, size - 1))
    suffix = _number(last, big)
    if suffix == 0 or size == 0:
        raise RangeNotSatisfiable
    return ByteRange(max(size - suffix, 0), size - 1)


def _iter(fh, start: int, length: int):
    try:
        fh.seek(start)
        remaining = length
        while remaining > 0:
            chunk = fh.read(min(_CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        fh.close()


def storage_is_remote() -> bool:
    return not hasattr(default_storage, "path") or default_storage.__class__.__name__ == "S3Storage"


def ranged_response(request, key: str, content_type: str, *, filename: str | None = None):
    """Stream ``key`` honouring one ``Range`` header; on S3, redirect to a short-lived presigned URL."""
    if storage_is_remote():
        return HttpResponseRedirect(default_storage.url(key))
    size = default_storage.size(key)
    try:
        byte_range = parse_range(request.headers.get("Range"), size)
    except RangeNotSatisfiable:
        return _unsatisfiable(size)
    status, (start, end) = (200, (0, size - 1)) if byte_range is None else (206, byte_range)
    length = end - start + 1
    response = StreamingHttpResponse(
        _iter(default_storage.open(key, "rb"), start, length), status=status, content_type=content_type
    )
    response["Accept-Ranges"] = "bytes"
    response["Content-Length"] = str(length)
    response["Cache-Control"] = "private, no-store"  # withdrawn audio must never replay from a browser cache
    if status == 206:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    if filename:
        response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _unsatisfiable(size: int) -> HttpResponse:
    response = HttpResponse(
        status=416,
        content_type="application/json",
        content=b'{"detail": "The requested byte range is outside the file."}',
    )
    response["Content-Range"] = f"bytes */{size}"
    response["Accept-Ranges"] = "bytes"
    return response
