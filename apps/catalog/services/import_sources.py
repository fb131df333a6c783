"""Import sources: the only places folder and S3 imports may read from (issue 13).

A site administrator registers each source with its own credentials and the projects allowed to use it.
An import names a source id (plus, optionally, a sub-folder or sub-prefix inside it), never a raw bucket
or path. Checked at registration and again on the worker at use:

- the platform's own storage bucket (and its access key) is never a source;
- a folder source lies inside ``EARMARK_IMPORT_ROOTS`` and outside the platform's media folder;
- two sources never overlap (same bucket with nested prefixes, or nested folders), so a project allowed
  one drop folder cannot read another project's through a wider source;
- the project starting (or running) the import is one of the source's projects.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.db import transaction

from apps.catalog.models import ImportSource, ImportSourceKind, Project
from apps.core.errors import DomainError

_S3_FIELDS = ("bucket", "prefix", "endpoint_url", "region_name", "access_key_id", "secret_access_key")
SOURCE_FIELDS = ("name", "kind", "path", "enabled", *_S3_FIELDS)


def platform_storage() -> dict:
    """The platform's own bucket, endpoint and key (empty strings on local storage)."""
    storage = cast(dict[str, Any], settings.STORAGES["default"])  # the settings plugin infers object
    opts = storage.get("OPTIONS", {}) if "s3" in storage.get("BACKEND", "").lower() else {}
    return {
        "bucket": (opts.get("bucket_name") or getattr(settings, "AWS_STORAGE_BUCKET_NAME", "") or "").lower(),
        "access_key_id": opts.get("access_key") or "",
    }


def is_platform_bucket(bucket: str) -> bool:
    """Whether ``bucket`` is the platform's own storage bucket (by name, whatever the endpoint)."""
    own = platform_storage()["bucket"]
    return bool(own) and bucket.strip().lower() == own


def _norm_prefix(prefix: str) -> str:
    prefix = (prefix or "").strip().lstrip("/")
    if ".." in prefix.split("/"):
        raise DomainError("an S3 prefix may not contain '..'")
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


def _media_root() -> Path:
    return Path(settings.MEDIA_ROOT).resolve()


def _overlaps(a: Path, b: Path) -> bool:
    return a == b or a.is_relative_to(b) or b.is_relative_to(a)


def import_source_validate(source: ImportSource) -> None:
    """Raise DomainError (a sentence) when ``source`` may not be a source; normalises its prefix and path."""
    if source.kind == ImportSourceKind.S3:
        if not source.bucket.strip():
            raise DomainError("an S3 source needs a bucket")
        if is_platform_bucket(source.bucket):
            raise DomainError(
                f"the bucket {source.bucket} is the platform's own storage and can never be an import source"
            )
        if not (source.access_key_id and source.secret_access_key):
            raise DomainError("an S3 source needs its own access key id and secret access key")
        own_key = platform_storage()["access_key_id"]
        if own_key and source.access_key_id == own_key:
            raise DomainError("an S3 source must use its own keys, not the platform's storage keys")
        source.bucket = source.bucket.strip()
        source.prefix = _norm_prefix(source.prefix)
        source.path = ""
        others = ImportSource.objects.filter(
            kind=ImportSourceKind.S3, bucket__iexact=source.bucket, endpoint_url=source.endpoint_url
        ).exclude(pk=source.pk)
        for other in others:
            if other.prefix.startswith(source.prefix) or source.prefix.startswith(other.prefix):
                raise DomainError(f"this prefix overlaps the source {other.name}: sources may not overlap")
    elif source.kind == ImportSourceKind.FOLDER:
        if not source.path or not Path(source.path).is_absolute():
            raise DomainError("a folder source needs an absolute path on the server")
        real = Path(source.path).resolve()
        roots = [Path(root).resolve() for root in settings.EARMARK_IMPORT_ROOTS]
        if not any(real.is_relative_to(root) for root in roots):
            raise DomainError(f"{source.path} is outside the folders the server may import from (EARMARK_IMPORT_ROOTS)")
        if _overlaps(real, _media_root()):
            raise DomainError(f"{source.path} overlaps the platform's own media storage and can never be a source")
        source.path = str(real)
        for s3_field in _S3_FIELDS:
            setattr(source, s3_field, "")
        for other in ImportSource.objects.filter(kind=ImportSourceKind.FOLDER).exclude(pk=source.pk):
            if _overlaps(real, Path(other.path)):
                raise DomainError(f"this folder overlaps the source {other.name}: sources may not overlap")
    else:
        raise DomainError(f"unknown source kind {source.kind!r}; use 's3' or 'folder'")


@transaction.atomic
def import_source_create(*, name: str, kind: str, projects: list[Project] | tuple = (), **fields) -> ImportSource:
    """Register an import source (site administrators only; the caller checks) and allow ``projects``."""
    unknown = set(fields) - set(SOURCE_FIELDS)
    if unknown:
        raise DomainError(f"unknown field(s): {', '.join(sorted(unknown))}")
    source = ImportSource(name=name, kind=kind, **fields)
    import_source_validate(source)
    source.save()
    source.projects.set(projects)
    return source


@transaction.atomic
def import_source_update(*, source: ImportSource, projects: list[Project] | None = None, **fields) -> ImportSource:
    """Change a source's fields and/or its projects, re-checking every rule."""
    for key, value in fields.items():
        if key not in SOURCE_FIELDS:
            raise DomainError(f"unknown field {key}")
        setattr(source, key, value)
    import_source_validate(source)
    source.save()
    if projects is not None:
        source.projects.set(projects)
    return source


@transaction.atomic
def import_source_delete(*, source: ImportSource) -> None:
    """Remove a source; one that imports already used is disabled instead (they keep pointing at it)."""
    if source.imports.exists():
        source.enabled = False
        source.save(update_fields=["enabled"])
    else:
        source.delete()


def import_source_for_project(*, source_id, project: Project) -> ImportSource:
    """The enabled source ``source_id`` if ``project`` may use it, else DomainError 404 (missing = forbidden)."""
    try:
        source = ImportSource.objects.filter(pk=int(source_id), enabled=True, projects=project).first()
    except (TypeError, ValueError, OverflowError):
        source = None
    if source is None:
        raise DomainError("No such import source for this project.", status_code=404)
    return source


def import_source_resolve(*, source: ImportSource, project: Project, subpath: str = "") -> dict:
    """Check ``source`` for ``project`` again (at use) and return where to read: {"path"} or {"bucket", "prefix"}.

    ``subpath`` is a sub-folder / sub-prefix inside the source; it cannot climb out of it.
    """
    source = import_source_for_project(source_id=source.pk, project=project)
    import_source_validate(source)  # rules may have changed since registration (storage settings, roots, others)
    sub = (subpath or "").replace("\\", "/").strip()
    if sub.startswith("/") or ".." in sub.split("/"):
        raise DomainError("the path inside a source may not start with '/' or contain '..'")
    sub = sub.strip("/")
    if source.kind == ImportSourceKind.FOLDER:
        root = Path(source.path)
        target = (root / sub).resolve() if sub else root
        if not target.is_relative_to(root):
            raise DomainError("the path inside the source leads outside it")
        return {"path": str(target)}
    prefix = posixpath.join(source.prefix, sub) + "/" if sub else source.prefix
    return {"bucket": source.bucket, "prefix": prefix}


def import_source_client(source: ImportSource):
    """A boto3 S3 client with the source's own credentials (never the platform's)."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=source.endpoint_url or None,
        region_name=source.region_name or "us-east-1",
        aws_access_key_id=source.access_key_id,
        aws_secret_access_key=source.secret_access_key,
    )
