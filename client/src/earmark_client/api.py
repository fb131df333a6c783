"""The HTTP side: token login, projects, releases, their files and the withdrawal feed."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urljoin

import requests

USER_AGENT = "earmark-client/0.1"


class EarmarkError(Exception):
    """A request the server refused, with its sentence (``detail``) and status code."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RemoteFile:
    """One file of a release format: its path relative to the format's root and its sha256 ('' for SHA256SUMS)."""

    path: str
    sha256: str


def _detail(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"The server answered {response.status_code} to {response.request.method} {response.url}."
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    return str(body)


class Client:
    """An Earmark server seen from downstream. ``Client(url, token)`` or ``Client.login(url, user, password)``."""

    def __init__(
        self, base_url: str, token: str | None = None, *, timeout: float = 60.0, session: requests.Session | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.token = token
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        if token:
            self.session.headers.update(self.auth_headers())

    # --- auth -------------------------------------------------------------------------------------------
    @classmethod
    def login(cls, base_url: str, username: str, password: str, **kwargs: Any) -> Client:
        """Exchange a username and password for an API token (POST /api/v1/auth/token/)."""
        client = cls(base_url, **kwargs)
        data = client._request("POST", "api/v1/auth/token/", json={"username": username, "password": password})
        return cls(base_url, data["token"], **kwargs)

    def auth_headers(self) -> dict[str, str]:
        """The header every request carries (also what `webdataset` or curl need to read shards)."""
        return {"Authorization": f"Token {self.token}"} if self.token else {}

    # --- plumbing ---------------------------------------------------------------------------------------
    def url(self, path: str) -> str:
        return urljoin(self.base_url, path.lstrip("/"))

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.session.request(method, self.url(path), timeout=self.timeout, **kwargs)
        if response.status_code >= 400:
            raise EarmarkError(_detail(response), response.status_code)
        return response.json()

    def _pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Follow cursor pagination (`next`) to the end."""
        url: str | None = self.url(path)
        while url:
            response = self.session.get(url, params=params, timeout=self.timeout)
            if response.status_code >= 400:
                raise EarmarkError(_detail(response), response.status_code)
            body = response.json()
            yield from body["results"]
            url, params = body.get("next"), None

    # --- listing ----------------------------------------------------------------------------------------
    def projects(self) -> list[dict[str, Any]]:
        return list(self._pages("api/v1/projects/"))

    def releases(self, project_id: int) -> list[dict[str, Any]]:
        """A project's releases, newest first (id, version, status, formats in `files`, needs_rebuild…)."""
        return list(self._pages(f"api/v1/projects/{int(project_id)}/releases/"))

    def release(self, release_id: int) -> dict[str, Any]:
        return self._request("GET", f"api/v1/releases/{int(release_id)}/")

    def formats(self, release_id: int) -> dict[str, dict[str, Any]]:
        """Format name → {checksum, files, bytes} for a built release."""
        return dict(self.release(release_id).get("files") or {})

    def files(self, release_id: int, fmt: str) -> list[RemoteFile]:
        """Every file of one format with its sha256 (SHA256SUMS last, with no sha256 of its own)."""
        body = self._request("GET", f"api/v1/releases/{int(release_id)}/download/{quote(fmt)}", params={"list": 1})
        return [RemoteFile(f["path"], f["sha256"] or "") for f in body["files"]]

    def file_url(self, release_id: int, fmt: str, path: str) -> str:
        """The URL of one file (answers range requests; on S3 it redirects to a short-lived presigned URL)."""
        return self.url(f"api/v1/releases/{int(release_id)}/download/{quote(fmt)}?file={quote(path)}")

    def withdrawals(self, release_id: int, since: str | None = None) -> list[dict[str, Any]]:
        """Examples withdrawn since the release was built (key, split, example_sha256, withdrawn_at), oldest first."""
        params = {"page_size": 1000, **({"since": since} if since else {})}
        return list(self._pages(f"api/v1/releases/{int(release_id)}/withdrawals", params))

    def diff(self, release_id: int, other_id: int) -> dict[str, Any]:
        """What changed from release ``other_id`` to ``release_id`` (added, removed and why, relabelled…)."""
        return self._request("GET", f"api/v1/releases/{int(release_id)}/diff/{int(other_id)}")

    # --- streaming ----------------------------------------------------------------------------------------
    def shard_urls(self, release_id: int, split: str) -> list[str]:
        """The HTTP URLs of a split's WebDataset shards, in order (send `auth_headers()` with each)."""
        names = [f.path for f in self.files(release_id, "webdataset")]
        shards = sorted(p for p in names if p.startswith(f"shards/{split}-") and p.endswith(".tar"))
        if not shards:
            raise EarmarkError(f"Release {release_id} has no WebDataset shards for split {split!r}.")
        return [self.file_url(release_id, "webdataset", p) for p in shards]

    def webdataset_urls(self, release_id: int, split: str) -> list[str]:
        """Shard URLs `webdataset.WebDataset` opens as they are: `pipe:curl` with the auth header.

        (webdataset opens http URLs with curl and no way to add a header; a `pipe:` URL is its documented
        way to pass one. The token then shows in the process list of this machine.)
        """
        header = shlex.quote(f"Authorization: Token {self.token}") if self.token else ""
        return [
            f"pipe:curl -fsSL --retry 5 {'-H ' + header + ' ' if header else ''}{shlex.quote(u)}"
            for u in self.shard_urls(release_id, split)
        ]

    def open_shard(self, url: str, start: int = 0) -> requests.Response:
        """A streamed GET of one shard from byte ``start`` (a range request when ``start`` > 0)."""
        headers = {"Range": f"bytes={start}-"} if start else {}
        response = self.session.get(url, headers=headers, stream=True, timeout=self.timeout)
        if response.status_code >= 400:
            raise EarmarkError(_detail(response), response.status_code)
        if start and response.status_code != 206:
            response.close()
            raise EarmarkError(f"The server ignored the range request for {url}.")
        return response
