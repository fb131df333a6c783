"""Limits applied while a request streams in, before anything reaches a view (issue 13).

- ``RequestSizeLimitMiddleware`` refuses a request whose Content-Length is over EARMARK_MAX_REQUEST_BYTES
  with 413 before a byte of the body is read.
- ``LimitedTemporaryFileUploadHandler`` writes each uploaded file to a temp file but stops at the per-file
  limit: the partial temp file is deleted at once, the rest of that file is read and dropped (never
  written), and the view receives an ``OversizeUpload`` placeholder that ingest rejects with a sentence.
  The other files of the request carry on, so the per-file results stay per file.

Temp files: Django deletes every ``TemporaryUploadedFile`` when the request's files are closed (at the end
of the response, also when the view raised), and the placeholder never had one.
"""

from __future__ import annotations

import hashlib
import io

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http import JsonResponse

_ARCHIVE_TYPES = ("application/zip", "application/x-zip-compressed")


def human_bytes(n: int) -> str:
    """1234567 → '1.2 MB' (decimal units, as people read file sizes)."""
    size = float(n)
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{n:,} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n:,} bytes"


class RequestSizeLimitMiddleware:
    """413 from the Content-Length header alone when a request is over EARMARK_MAX_REQUEST_BYTES."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse({"detail": "The Content-Length header is not a number."}, status=400)
        limit = settings.EARMARK_MAX_REQUEST_BYTES
        if length > limit:
            response = JsonResponse(
                {
                    "detail": f"This request is {human_bytes(length)}, over the limit of "
                    f"{human_bytes(limit)} per request; send fewer or smaller files "
                    "per request."
                },
                status=413,
            )
            # A length lets the client read the answer while it is still sending (or never sends) the body.
            response["Content-Length"] = str(len(response.content))
            return response
        return self.get_response(request)


class OversizeUpload(UploadedFile):
    """What the view gets instead of a file that passed the per-file limit: no bytes, and the reason."""

    def __init__(self, name: str, content_type: str, limit: int):
        super().__init__(io.BytesIO(b""), name=name, content_type=content_type, size=limit + 1)
        self.refused = f"the file is larger than the limit of {human_bytes(limit)}; nothing of it was kept"


def upload_limit(name: str, content_type: str) -> int:
    """Bytes one uploaded file may have: an archive is bounded by the request limit, audio by the file limit."""
    if content_type in _ARCHIVE_TYPES or (name or "").lower().endswith(".zip"):
        return settings.EARMARK_MAX_REQUEST_BYTES
    return settings.EARMARK_MAX_FILE_BYTES


class LimitedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    """TemporaryFileUploadHandler that stops writing a file at its limit and deletes what it wrote.

    It also hashes each file as it writes it (``upload.earmark_sha256``), so ingest need not read the temp
    file again to hash it: the bytes pass through once, from the request into the temp file (issue 21).
    """

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0
        self.over = False
        self.limit = upload_limit(self.file_name, self.content_type)
        self.digest = hashlib.sha256()

    def receive_data_chunk(self, raw_data, start):
        if self.over:
            return None  # read from the socket and dropped: nothing more is written
        self.received += len(raw_data)
        if self.received > self.limit:
            self.over = True
            self.file.close()  # a NamedTemporaryFile: closing deletes it now, not at the end of the request
            return None
        self.digest.update(raw_data)
        return super().receive_data_chunk(raw_data, start)

    def file_complete(self, file_size):
        if self.over:
            return OversizeUpload(self.file_name, self.content_type, self.limit)
        upload = super().file_complete(file_size)
        upload.earmark_sha256 = self.digest.hexdigest()  # of exactly the bytes written to its temp file
        return upload
