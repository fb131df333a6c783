"""Serve a storage object with HTTP range requests (206, Content-Range, 416)."""

import re

from django.core.files.storage import default_storage
from django.http import HttpResponse, HttpResponseRedirect, StreamingHttpResponse

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_CHUNK = 1 << 16

CONTENT_TYPES = {
    "wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg", "opus": "audio/ogg",
    "mp3": "audio/mpeg", "aiff": "audio/aiff", "m4a": "audio/mp4", "npy": "application/octet-stream",
    "png": "image/png", "json": "application/json",
}


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
    header = request.headers.get("Range", "").strip()
    status, start, end = 200, 0, size - 1
    if header:
        match = _RANGE.match(header)
        if not match or (not match[1] and not match[2]):
            return _unsatisfiable(size)
        if match[1]:
            start = int(match[1])
            end = min(int(match[2]), size - 1) if match[2] else size - 1
        else:  # suffix range: the last N bytes
            start = max(size - int(match[2]), 0)
        if start >= size or start > end:
            return _unsatisfiable(size)
        status = 206
    length = end - start + 1
    response = StreamingHttpResponse(_iter(default_storage.open(key, "rb"), start, length), status=status,
                                     content_type=content_type)
    response["Accept-Ranges"] = "bytes"
    response["Content-Length"] = str(length)
    response["Cache-Control"] = "private, no-store"  # withdrawn audio must never replay from a browser cache
    if status == 206:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    if filename:
        response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _unsatisfiable(size: int) -> HttpResponse:
    response = HttpResponse(status=416, content_type="application/json",
                            content=b'{"detail": "The requested byte range is outside the file."}')
    response["Content-Range"] = f"bytes */{size}"
    response["Accept-Ranges"] = "bytes"
    return response
