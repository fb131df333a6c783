"""Bulk imports: a zip archive, a server folder, an S3 prefix — per-file results, never all-or-nothing."""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.catalog.models import ImportBatch, ImportStatus, Project
from apps.catalog.services.ingest import (
    IngestResult,
    is_unsafe_path,
    recording_ingest_with_sidecar,
    sanitize_name,
)
from apps.core.errors import DomainError
from apps.core.hooks import IMPORT_FINISHED, hook_call

SIDECAR_NAMES = ("metadata.csv", "metadata.json", "sidecar.csv", "sidecar.json")
_ARCHIVE_EXT = (".zip", ".tar", ".gz", ".tgz", ".7z", ".rar")


def sidecar_parse(data: bytes, name: str) -> dict[str, dict]:
    """Map file name → {speaker, language, ...} from a CSV (needs a 'file' column) or JSON sidecar."""
    text = data.decode("utf-8-sig", errors="strict") if data else ""
    try:
        if name.lower().endswith(".json"):
            raw = json.loads(text)
            if isinstance(raw, dict):
                rows = [{"file": key, **(value or {})} for key, value in raw.items()]
            elif isinstance(raw, list):
                rows = raw
            else:
                raise DomainError("the JSON sidecar must be an object keyed by file name or a list of rows")
        else:
            rows = list(csv.DictReader(io.StringIO(text)))
    except (json.JSONDecodeError, csv.Error, UnicodeDecodeError) as exc:
        raise DomainError(f"the sidecar {sanitize_name(name)} could not be read: {exc}") from None
    mapping = {}
    for i, row in enumerate(rows, 1):
        if not isinstance(row, dict) or not (row.get("file") or "").strip():
            raise DomainError(f"sidecar row {i} has no 'file' value")
        mapping[row["file"].strip()] = {k: v for k, v in row.items() if k != "file" and v not in (None, "")}
    return mapping


def _ingest_one(project, name, fileobj, created_by, sidecar) -> IngestResult:
    return recording_ingest_with_sidecar(project=project, name=name, fileobj=fileobj, created_by=created_by, sidecar=sidecar)


def import_zip(*, project: Project, fileobj, created_by=None, sidecar: dict | None = None, progress=None) -> list[IngestResult]:
    """Import every audio entry of a zip; unsafe, nested or oversized entries are rejected one by one.

    Raises DomainError before writing anything when the archive itself is not
    acceptable (not a zip, too many entries, too large uncompressed).
    """
    try:
        archive = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, OSError):
        raise DomainError("the archive is not a readable zip file") from None
    with archive:
        entries = [i for i in archive.infolist() if not i.is_dir()]
        if len(entries) > settings.EARMARK_ZIP_MAX_ENTRIES:
            raise DomainError(f"the zip has {len(entries):,} entries; the limit is {settings.EARMARK_ZIP_MAX_ENTRIES:,}")
        declared = sum(i.file_size for i in entries)
        if declared > settings.EARMARK_ZIP_MAX_UNCOMPRESSED_BYTES:
            raise DomainError(
                f"the zip expands to {declared:,} bytes, over the limit of {settings.EARMARK_ZIP_MAX_UNCOMPRESSED_BYTES:,} "
                "(a zip bomb is refused whole)"
            )
        sidecar = dict(sidecar or {})
        for info in entries:
            if info.filename.rsplit("/", 1)[-1].lower() in SIDECAR_NAMES and info.filename.count("/") == 0:
                sidecar.update(sidecar_parse(archive.read(info), info.filename))
        results = []
        for info in entries:
            name = info.filename
            base = name.rsplit("/", 1)[-1]
            if base.lower() in SIDECAR_NAMES and name.count("/") == 0:
                continue
            if is_unsafe_path(name):
                result = IngestResult(sanitize_name(name), "rejected", f"{sanitize_name(name)}: the entry's path "
                                      f"{name!r} points outside the archive (path traversal) and was skipped")
            elif base.lower().endswith(_ARCHIVE_EXT):
                result = IngestResult(sanitize_name(name), "rejected",
                                      f"{sanitize_name(name)}: archives inside the archive are not imported")
            elif base.startswith(".") or name.startswith("__MACOSX/"):
                continue
            else:
                with archive.open(info) as member:
                    try:
                        result = _ingest_one(project, name, member, created_by, sidecar)
                    except (zipfile.BadZipFile, OSError, EOFError) as exc:
                        result = IngestResult(sanitize_name(name), "rejected", f"{sanitize_name(name)}: damaged zip entry ({exc})")
            results.append(result)
            if progress:
                progress(result)
    return results


def folder_files(path: str) -> list[Path]:
    """Audio candidates below a folder, sorted, skipping hidden files and links out of the tree."""
    root = Path(path).resolve()
    if not root.is_dir():
        raise DomainError(f"{path} is not a folder on the server")
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for filename in sorted(filenames):
            if filename.startswith(".") or filename.lower() in SIDECAR_NAMES:
                continue
            candidate = Path(dirpath, filename)
            if candidate.resolve().is_relative_to(root):
                found.append(candidate)
    return found


def folder_sidecar(path: str) -> dict:
    sidecar = {}
    for name in SIDECAR_NAMES:
        candidate = Path(path, name)
        if candidate.is_file():
            sidecar.update(sidecar_parse(candidate.read_bytes(), name))
    return sidecar


def import_folder(*, project: Project, path: str, created_by=None, progress=None, total=None) -> list[IngestResult]:
    """Import every file below a server folder (with its metadata.csv/json sidecar when present)."""
    files = folder_files(path)
    if total:
        total(len(files))
    sidecar = folder_sidecar(path)
    root = Path(path).resolve()
    results = []
    for file in files:
        rel = str(file.relative_to(root))
        with open(file, "rb") as fh:
            results.append(_ingest_one(project, rel, fh, created_by, sidecar))
        if progress:
            progress(results[-1])
    return results


def _s3_client():
    import boto3

    opts = settings.STORAGES["default"].get("OPTIONS", {})
    return boto3.client(
        "s3",
        endpoint_url=os.environ.get("EARMARK_IMPORT_S3_ENDPOINT_URL") or opts.get("endpoint_url") or os.environ.get("AWS_S3_ENDPOINT_URL"),
        aws_access_key_id=opts.get("access_key") or os.environ.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=opts.get("secret_key") or os.environ.get("AWS_SECRET_ACCESS_KEY"),
        region_name=opts.get("region_name") or os.environ.get("AWS_S3_REGION_NAME") or "us-east-1",
    )


def parse_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:] and not uri[5:]:
        raise DomainError(f"{uri!r} is not an s3://bucket/prefix address")
    bucket, _, prefix = uri[5:].partition("/")
    if not bucket:
        raise DomainError(f"{uri!r} names no bucket")
    return bucket, prefix


def import_s3_prefix(*, project: Project, uri: str, created_by=None, progress=None, total=None) -> list[IngestResult]:
    """Import every object under an S3 prefix, streamed (boto3 listing + get_object)."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, prefix = parse_s3_uri(uri)
    client = _s3_client()
    try:
        keys = [
            obj["Key"]
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for obj in page.get("Contents", [])
            if not obj["Key"].endswith("/")
        ]
    except (BotoCoreError, ClientError) as exc:
        raise DomainError(f"could not list {uri}: {exc}") from None
    sidecar = {}
    for key in keys:
        if key.rsplit("/", 1)[-1].lower() in SIDECAR_NAMES:
            sidecar.update(sidecar_parse(client.get_object(Bucket=bucket, Key=key)["Body"].read(), key))
    keys = sorted(k for k in keys if k.rsplit("/", 1)[-1].lower() not in SIDECAR_NAMES)
    if total:
        total(len(keys))
    results = []
    for key in keys:
        name = key[len(prefix):].lstrip("/") or key
        try:
            body = client.get_object(Bucket=bucket, Key=key)["Body"]
            results.append(_ingest_one(project, name, body, created_by, sidecar))
            body.close()
        except (BotoCoreError, ClientError) as exc:
            results.append(IngestResult(sanitize_name(name), "rejected", f"{sanitize_name(name)}: could not be read from S3 ({exc})"))
        if progress:
            progress(results[-1])
    return results


def import_folder_allowed(path: str) -> str:
    """The API may only import from configured roots (the CLI may read any path)."""
    real = Path(path).resolve()
    for root in settings.EARMARK_IMPORT_ROOTS:
        if real.is_relative_to(Path(root).resolve()):
            return str(real)
    raise DomainError(f"{path} is outside the folders the server may import from (EARMARK_IMPORT_ROOTS)", status_code=400)


def result_counts(results: list[IngestResult]) -> dict[str, int]:
    """How many files were accepted, duplicates or rejected."""
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
    for r in results:
        counts[r.status] += 1
    return counts


def import_zip_recorded(*, project: Project, fileobj, name: str, created_by=None, sidecar: dict | None = None) -> ImportBatch:
    """Import an uploaded zip at once (``import_zip``) and keep the outcome as a finished ImportBatch."""
    results = import_zip(project=project, fileobj=fileobj, created_by=created_by, sidecar=sidecar)
    counts = result_counts(results)
    with transaction.atomic():
        batch = ImportBatch.objects.create(
            project=project, source="zip", location=sanitize_name(name), status=ImportStatus.DONE, total=len(results),
            processed=len(results), results=[r.as_dict() for r in results], created_by=created_by,
            accepted=counts["accepted"], duplicates=counts["duplicate"], rejected=counts["rejected"],
        )
        hook_call(IMPORT_FINISHED, import_id=batch.id, project_id=project.id, status=batch.status, counts=counts)
    return batch


@transaction.atomic
def import_batch_create(*, project: Project, source: str, location: str, created_by) -> ImportBatch:
    """Record a folder or S3 import and queue it on a worker after commit."""
    if source == "folder":
        location = import_folder_allowed(location)
    elif source == "s3":
        parse_s3_uri(location)
    else:
        raise DomainError(f"unknown import source {source!r}; use 'zip', 'folder' or 's3'")
    batch = ImportBatch.objects.create(project=project, source=source, location=location, created_by=created_by)
    from apps.catalog.tasks import import_batch_run_task  # tasks import these services: module level would cycle

    transaction.on_commit(lambda: import_batch_run_task.delay(batch.id))
    return batch


def _batch_record(batch_id: int, result: IngestResult) -> None:
    counter = {"accepted": "accepted", "duplicate": "duplicates", "rejected": "rejected"}[result.status]
    ImportBatch.objects.filter(id=batch_id).update(processed=F("processed") + 1, **{counter: F(counter) + 1})


def import_batch_run(*, batch_id: int) -> ImportBatch | None:
    """Run a queued import, recording progress per file; claims the batch so it runs once."""
    if not ImportBatch.objects.filter(id=batch_id, status=ImportStatus.QUEUED).update(status=ImportStatus.RUNNING):
        return None
    batch = ImportBatch.objects.select_related("project", "created_by").get(id=batch_id)
    results: list[IngestResult] = []

    def progress(result):
        results.append(result)
        _batch_record(batch_id, result)

    def total(n):
        ImportBatch.objects.filter(id=batch_id).update(total=n)

    runner = import_folder if batch.source == "folder" else import_s3_prefix
    kwargs = {"path": batch.location} if batch.source == "folder" else {"uri": batch.location}
    try:
        runner(project=batch.project, created_by=batch.created_by, progress=progress, total=total, **kwargs)
        status, error = ImportStatus.DONE, ""
    except DomainError as exc:
        status, error = ImportStatus.FAILED, exc.message
    with transaction.atomic():
        ImportBatch.objects.filter(id=batch_id).update(
            status=status, error=error, finished_at=timezone.now(), results=[r.as_dict() for r in results]
        )
        hook_call(IMPORT_FINISHED, import_id=batch_id, project_id=batch.project_id, status=status,
                  counts=result_counts(results))
    batch.refresh_from_db()
    return batch
