"""`pull`: copy one format of a release into a folder, resumably, in parallel, checked against SHA256SUMS.

The folder holds the format's files exactly as the server built them (so `datasets.load_dataset(folder)`,
lhotse's manifests and webdataset's shards open it directly) plus `.earmark/state.json`, which names the
server, release and format for `sync`. A file is written as `NAME.part` and renamed once its sha256 matches
SHA256SUMS; an interrupted pull, run again, continues each `.part` with an HTTP range request, keeps files
that verify and fetches again any that do not.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests
from tqdm import tqdm

from earmark_client.api import Client, EarmarkError

STATE_DIR = ".earmark"
CHUNK = 64 << 10


@dataclass
class PullResult:
    """What a pull did: files fetched whole, resumed from a `.part`, kept (already verified), and refetched."""

    root: Path
    fetched: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    bytes_downloaded: int = 0


def sha256_file(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            sha.update(chunk)
    return sha.hexdigest()


def parse_sums(text: str) -> dict[str, str]:
    """SHA256SUMS (GNU format) → {relative path: sha256}."""
    out = {}
    for line in text.splitlines():
        digest, sep, path = line.partition("  ")
        if sep:
            out[path] = digest
    return out


def safe_path(root: Path, relpath: str) -> Path:
    """``root / relpath`` for a plain relative path; refuses absolute paths and `..` (a hostile listing)."""
    parts = relpath.split("/")
    if not relpath or relpath.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\\" in relpath:
        raise EarmarkError(f"The server listed a file path {relpath!r} that is not a plain relative path.")
    return root.joinpath(*parts)


def state_read(root: Path) -> dict:
    path = Path(root) / STATE_DIR / "state.json"
    if not path.exists():
        raise EarmarkError(f"{root} is not a pulled Earmark release (no {STATE_DIR}/state.json); run `earmark pull`.")
    return json.loads(path.read_text())


def state_write(root: Path, state: dict) -> None:
    folder = Path(root) / STATE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "state.json.part"
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
    os.replace(tmp, folder / "state.json")


def verify(root: Path) -> list[str]:
    """Paths whose bytes do not match the local SHA256SUMS, or that are missing ([] means all verify)."""
    root = Path(root)
    sums = parse_sums((root / "SHA256SUMS").read_text())
    bad = []
    for relpath, digest in sorted(sums.items()):
        path = safe_path(root, relpath)
        if not path.exists() or sha256_file(path) != digest:
            bad.append(relpath)
    return bad


class _Downloader:
    def __init__(self, client: Client, on_bytes: Callable[[int], None]) -> None:
        self.client, self.on_bytes = client, on_bytes
        self.local = threading.local()
        self.lock = threading.Lock()

    def session(self) -> requests.Session:
        # requests.Session is not documented as thread-safe: one per thread, same headers.
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
            self.local.session.headers.update(self.client.session.headers)
        return self.local.session

    def fetch(self, url: str, target: Path, digest: str, result: PullResult, relpath: str) -> None:
        part = target.with_name(target.name + ".part")
        for _attempt in range(2):
            start = part.stat().st_size if part.exists() else 0
            sha = hashlib.sha256()
            if start:
                with open(part, "rb") as fh:
                    while chunk := fh.read(1 << 20):
                        sha.update(chunk)
            headers = {"Range": f"bytes={start}-"} if start else {}
            with self.session().get(url, headers=headers, stream=True, timeout=self.client.timeout) as response:
                if response.status_code == 416:  # the .part is already whole (or longer): check it below
                    pass
                elif response.status_code >= 400:
                    raise EarmarkError(
                        f"{relpath}: {response.status_code} from the server: {response.text[:300]}",
                        response.status_code,
                    )
                else:
                    if start and response.status_code != 206:  # range ignored: start over
                        start, sha = 0, hashlib.sha256()
                    with open(part, "r+b" if start else "wb") as out:
                        out.seek(start)
                        out.truncate()
                        for chunk in response.iter_content(CHUNK):
                            out.write(chunk)
                            sha.update(chunk)
                            with self.lock:
                                result.bytes_downloaded += len(chunk)
                            self.on_bytes(len(chunk))
            if not digest or sha.hexdigest() == digest:
                os.replace(part, target)
                with self.lock:
                    (result.resumed if start else result.fetched).append(relpath)
                return
            part.unlink()  # a bad copy: fetch it whole once more
            with self.lock:
                result.corrupt.append(relpath)
        raise EarmarkError(f"{relpath} does not match its SHA256SUMS entry after two downloads; try again later.")


def pull(
    client: Client,
    release_id: int,
    fmt: str,
    dest: str | os.PathLike,
    *,
    workers: int = 4,
    progress: bool = True,
    on_bytes: Callable[[int], None] | None = None,
) -> PullResult:
    """Download (or complete, or repair) one format of a release into ``dest``; returns what was done.

    ``on_bytes(n)`` hears every chunk written (raise from it to stop the pull, as Ctrl-C would).
    """
    root = Path(dest)
    root.mkdir(parents=True, exist_ok=True)
    if (root / STATE_DIR / "state.json").exists():
        old = json.loads((root / STATE_DIR / "state.json").read_text())
        if (old.get("release_id"), old.get("format")) != (int(release_id), fmt):
            raise EarmarkError(
                f"{root} holds release {old.get('release_id')} ({old.get('format')}); pull into an empty folder."
            )
    release = client.release(release_id)
    listing = client.files(release_id, fmt)
    result = PullResult(root)
    # SHA256SUMS first (small, fetched whole every time): every other file is checked against it.
    sums_text = client.session.get(client.file_url(release_id, fmt, "SHA256SUMS"), timeout=client.timeout)
    if sums_text.status_code >= 400:
        raise EarmarkError(f"SHA256SUMS: {sums_text.status_code} from the server.", sums_text.status_code)
    sums = parse_sums(sums_text.text)
    listed = {f.path for f in listing if f.path != "SHA256SUMS"}
    if listed != set(sums):
        raise EarmarkError("The server's file list and its SHA256SUMS disagree; the release may be changing.")
    todo = []
    for relpath in sorted(sums):
        target = safe_path(root, relpath)
        if target.exists():
            if sha256_file(target) == sums[relpath]:
                result.kept.append(relpath)
                continue
            target.unlink()  # corrupted or stale: fetch it again
            result.corrupt.append(relpath)
        target.parent.mkdir(parents=True, exist_ok=True)
        todo.append(relpath)
    total = int((release.get("files") or {}).get(fmt, {}).get("bytes") or 0)
    bar = tqdm(total=total or None, unit="B", unit_scale=True, desc=f"release {release_id} {fmt}", disable=not progress)

    def heard(n: int) -> None:
        bar.update(n)
        if on_bytes is not None:
            on_bytes(n)

    loader = _Downloader(client, heard)
    try:
        with ThreadPoolExecutor(max(1, workers)) as pool:
            futures = [
                pool.submit(loader.fetch, client.file_url(release_id, fmt, p), safe_path(root, p), sums[p], result, p)
                for p in todo
            ]
            try:
                for future in as_completed(futures):
                    future.result()
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    finally:
        bar.close()
    (root / "SHA256SUMS").write_text(sums_text.text)
    state_write(
        root,
        {
            "server": client.base_url,
            "release_id": int(release_id),
            "version": release.get("version"),
            "project_id": release.get("project"),
            "format": fmt,
            "checksum": (release.get("files") or {}).get(fmt, {}).get("checksum"),
            "pulled_at": datetime.now(UTC).isoformat(),
            "synced_through": None,
        },
    )
    return result
