"""Limits while a request streams in (issue 13), measured on a live HTTP server.

On main before issue 13, a 400 MB upload against a 20 MB file limit put 371 MB in the temp folder before
the 400, and a zip bomb was inflated to disk (2.1 GB) before its member was refused.
"""

import http.client
import io
import os
import struct
import threading
import time
import uuid
import zipfile
from pathlib import Path

import pytest

from apps.accounts.services import token_create
from apps.catalog.models import Recording
from tests.conftest import make_audio

LIMIT = 20 * 1000 * 1000  # 20 MB per file


class PeakBytes:
    """Samples the bytes held under a folder (every file, recursively) on a thread and keeps the peak."""

    def __init__(self, *folders: Path):
        self.folders, self.peak, self._stop = folders, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def now(self) -> int:
        total = 0
        for folder in self.folders:
            for dirpath, _, files in os.walk(folder):
                for name in files:
                    try:
                        total += os.stat(os.path.join(dirpath, name)).st_size
                    except FileNotFoundError:
                        pass
        return total

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.now())
            time.sleep(0.002)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.now())


@pytest.fixture
def upload_env(settings, tmp_path, transactional_db, make_user):
    from apps.catalog.services import project_create

    temp = tmp_path / "upload-tmp"
    temp.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(temp)
    settings.EARMARK_MAX_FILE_BYTES = LIMIT
    manager = make_user("streamer", is_staff=True)
    project = project_create(name="Streaming", created_by=manager)
    return {"temp": temp, "project": project, "token": token_create(user=manager).key}


def _multipart_head(field: str, name: str, boundary: str, content_type: str = "audio/wav") -> bytes:
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()


def _post_stream(live_server, path, token, parts, *, declared_length=None, send_body=True, timeout=120):
    """POST a multipart body made of (head bytes, payload iterator) parts, streamed, with a Content-Length."""
    boundary = uuid.uuid4().hex
    tail = f"\r\n--{boundary}--\r\n".encode()
    built = [(_multipart_head(*head, boundary=boundary), size, chunks) for head, size, chunks in parts]
    length = sum(len(h) + size + 2 for h, size, _ in built) - 2 + len(tail)
    host = live_server.url.split("//", 1)[1]
    conn = http.client.HTTPConnection(host, timeout=timeout)
    conn.putrequest("POST", path)
    conn.putheader("Authorization", f"Token {token}")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(declared_length or length))
    conn.endheaders()
    if send_body:
        for i, (head, _, chunks) in enumerate(built):
            conn.send((b"\r\n" if i else b"") + head)
            for chunk in chunks:
                conn.send(chunk)
        conn.send(tail)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


def _zeros(total: int, chunk: int = 1 << 20):
    block = bytes(chunk)
    left = total
    while left > 0:
        yield block[: min(chunk, left)]
        left -= chunk


def test_400_mb_upload_against_20_mb_limit_keeps_temp_folder_small(live_server, upload_env):
    """A real HTTP upload: the handler stops writing at the limit and deletes what it wrote, while the other
    file of the same request is still ingested."""
    big = 400 * 1000 * 1000
    small = make_audio(seed=5)
    wav_header = make_audio(seconds=0.01)[:44]  # looks like audio at first: the limit, not the sniffing, stops it
    parts = [
        (("files", "huge.wav"), big, [wav_header, *_zeros(big - 44)]),
        (("files", "fine.wav"), len(small), [small]),
    ]
    started = time.perf_counter()
    with PeakBytes(upload_env["temp"]) as peak:
        status, body = _post_stream(
            live_server, f"/api/v1/projects/{upload_env['project'].id}/recordings/", upload_env["token"], parts
        )
    print(
        f"\n400 MB upload, 20 MB limit: temp folder peak {peak.peak / 1e6:.1f} MB, "
        f"{time.perf_counter() - started:.1f} s"
    )
    assert status == 201, body
    assert b"huge.wav: the file is larger than the limit of 20.0 MB; nothing of it was kept" in body
    assert peak.peak < 25 * 1000 * 1000
    assert peak.now() == 0  # nothing left behind
    assert list(Recording.objects.values_list("original_name", flat=True)) == ["fine.wav"]


def test_request_over_the_limit_is_refused_before_its_body_is_read(live_server, upload_env, settings):
    """Content-Length alone decides: the server answers 413 without waiting for a body that never comes."""
    settings.EARMARK_MAX_REQUEST_BYTES = 100 * 1000 * 1000
    parts = [(("files", "huge.wav"), 400 * 1000 * 1000, [])]
    with PeakBytes(upload_env["temp"]) as peak:
        status, body = _post_stream(
            live_server,
            f"/api/v1/projects/{upload_env['project'].id}/recordings/",
            upload_env["token"],
            parts,
            send_body=False,
            timeout=20,
        )
    assert status == 413
    assert b"over the limit of 100.0 MB per request" in body
    assert peak.peak == 0


def _bomb(total: int) -> bytes:
    """One deflated member of ``total`` zero bytes named like audio: ~1000:1, as zip bombs are."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("bomb.wav", "w") as member:
            for chunk in _zeros(total):
                member.write(chunk)
    return buf.getvalue()


def _lie_about_size(archive: bytes, declared: int) -> bytes:
    """Rewrite the member's uncompressed size (local header and central directory) to ``declared``."""
    data = bytearray(archive)
    assert data[:4] == b"PK\x03\x04"
    struct.pack_into("<I", data, 22, declared)
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, declared)
    return bytes(data)


def _import_zip(live_server, env, archive: bytes):
    """POST /imports/ with source=zip and the archive, over real HTTP."""
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="source"\r\n\r\nzip\r\n'.encode()
        + _multipart_head("file", "batch.zip", boundary, "application/zip")
        + archive
        + f"\r\n--{boundary}--\r\n".encode()
    )
    conn = http.client.HTTPConnection(live_server.url.split("//", 1)[1], timeout=120)
    conn.request(
        "POST",
        f"/api/v1/projects/{env['project'].id}/imports/",
        body=body,
        headers={"Authorization": f"Token {env['token']}", "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    response = conn.getresponse()
    status, data = response.status, response.read()
    conn.close()
    return status, data


def test_zip_bomb_is_refused_before_inflating(live_server, upload_env, _media_storage):
    """The report's bomb: a 2.1 GB member in a few MB. Refused from its declared size and ratio, so nothing
    is inflated: no more than the archive itself is ever written."""
    archive = _bomb(2000 * (1 << 20))
    print(f"\nzip bomb: {len(archive) / 1e6:.1f} MB on the wire, declares {2000 * (1 << 20) / 1e9:.2f} GB")
    started = time.perf_counter()
    with PeakBytes(upload_env["temp"], _media_storage) as peak:
        status, body = _import_zip(live_server, upload_env, archive)
    print(f"zip bomb refused in {time.perf_counter() - started:.2f} s; temp + media peak {peak.peak / 1e6:.1f} MB")
    assert status == 201, body
    assert b"refused before inflating" in body and b'"rejected":1' in body.replace(b" ", b"")
    assert peak.peak <= len(archive) <= LIMIT  # the archive's own upload at most; not a byte inflated
    assert peak.now() == 0 and Recording.objects.count() == 0


def test_zip_member_lying_about_its_size_stops_inflating_at_the_cap(live_server, upload_env, _media_storage, settings):
    """Declared 1 MB (so the declared checks pass) but inflating to 200 MB: the stream stops at the cap."""
    settings.EARMARK_ZIP_MAX_RATIO = 1e9  # let the lie through the ratio check: this is about the streaming cap
    archive = _lie_about_size(_bomb(200 * 1000 * 1000), 1_000_000)
    with PeakBytes(upload_env["temp"], _media_storage) as peak:
        status, body = _import_zip(live_server, upload_env, archive)
    assert status == 201, body
    # zipfile stops at the declared size (then fails its CRC); _Capped would stop it if it did not.
    assert b"bomb.wav: damaged zip entry" in body and b'"rejected":1' in body
    assert peak.peak <= len(archive) + 1_000_000 + (1 << 20)
    assert peak.now() == 0 and Recording.objects.count() == 0


def test_capped_reader_stops_past_the_declared_size():
    from apps.catalog.services.imports import _Capped

    capped = _Capped(io.BytesIO(b"x" * 100), 10)
    with pytest.raises(OSError, match="inflates past the size it declares"):
        while capped.read(4):
            pass
    assert _Capped(io.BytesIO(b"x" * 10), 10).read() == b"x" * 10
