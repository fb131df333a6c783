"""Bulk imports: a zip archive, a server folder, an S3 prefix — per-file results, never all-or-nothing."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.catalog.models import ImportBatch, ImportSource, ImportSourceKind, ImportStatus, Project, Recording
from apps.catalog.services.import_sources import (
    import_source_client,
    import_source_resolve,
    is_platform_bucket,
)
from apps.catalog.services.ingest import (
    IngestResult,
    is_unsafe_path,
    recording_ingest_with_sidecar,
    sanitize_name,
    shown_path,
)
from apps.core.errors import DomainError
from apps.core.hooks import IMPORT_FINISHED, hook_call
from apps.core.leases import lease_heartbeat, work_claim, work_expired, work_renew

log = logging.getLogger(__name__)
SIDECAR_NAMES = ("metadata.csv", "metadata.json", "sidecar.csv", "sidecar.json")
_ARCHIVE_EXT = (".zip", ".tar", ".gz", ".tgz", ".7z", ".rar")


def sidecar_parse(data: bytes, name: str) -> dict[str, dict]:
    """Map file name → {speaker, language, ...} from a CSV (needs a 'file' column) or JSON sidecar."""
    try:
        text = data.decode("utf-8-sig", errors="strict") if data else ""
    except UnicodeDecodeError:
        raise DomainError(
            f"the sidecar {sanitize_name(name)} is not UTF-8 text; save it as UTF-8 "
            "(e.g. 'CSV UTF-8' in a spreadsheet) and upload it again"
        ) from None
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
    except (json.JSONDecodeError, csv.Error) as exc:
        raise DomainError(f"the sidecar {sanitize_name(name)} could not be read: {exc}") from None
    mapping = {}
    for i, row in enumerate(rows, 1):
        if not isinstance(row, dict) or not (row.get("file") or "").strip():
            raise DomainError(f"sidecar row {i} has no 'file' value")
        mapping[row["file"].strip()] = {k: v for k, v in row.items() if k != "file" and v not in (None, "")}
    return mapping


def _ingest_one(project, name, fileobj, created_by, sidecar) -> IngestResult:
    return recording_ingest_with_sidecar(
        project=project, name=name, fileobj=fileobj, created_by=created_by, sidecar=sidecar
    )


def import_zip(
    *, project: Project, fileobj, created_by=None, sidecar: dict | None = None, progress=None
) -> list[IngestResult]:
    """Import every audio entry of a zip; unsafe, nested or oversized entries are rejected one by one.

    Raises DomainError before writing anything when the archive itself is not
    acceptable (not a zip, too many entries, too large uncompressed).
    """
    if refused := getattr(fileobj, "refused", None):
        raise DomainError(f"the archive: {refused}")
    try:
        archive = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, OSError):
        raise DomainError("the archive is not a readable zip file") from None
    with archive:
        entries = [i for i in archive.infolist() if not i.is_dir()]
        if len(entries) > settings.EARMARK_ZIP_MAX_ENTRIES:
            raise DomainError(
                f"the zip has {len(entries):,} entries; the limit is {settings.EARMARK_ZIP_MAX_ENTRIES:,}"
            )
        declared = sum(i.file_size for i in entries)
        if declared > settings.EARMARK_ZIP_MAX_UNCOMPRESSED_BYTES:
            raise DomainError(
                f"the zip expands to {declared:,} bytes, "
                f"over the limit of {settings.EARMARK_ZIP_MAX_UNCOMPRESSED_BYTES:,} (a zip bomb is refused whole)"
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
            refusal = _name_refusal(name, info.file_size) or zip_member_refusal(info)
            if refusal:
                result = _refused(name, refusal)
            else:
                with _Capped(archive.open(info), info.file_size) as member:
                    try:
                        result = _ingest_one(project, name, member, created_by, sidecar)
                    except (zipfile.BadZipFile, OSError, EOFError, zlib.error):
                        result = _refused(
                            name, "damaged zip entry (its compressed data does not unpack to the size it declares)"
                        )
            results.append(result)
            if progress:
                progress(result)
    return results


def _refused(name: str, reason: str) -> IngestResult:
    shown = shown_path(name) or "unnamed"
    return IngestResult(sanitize_name(name), "rejected", f"{shown}: {reason}", extra={"path": shown})


def _name_refusal(path: str, size: int | None = None) -> str | None:
    """Why an archive entry or folder file is not imported because of its name or place, or None."""
    base = path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    if is_unsafe_path(path):
        return (
            "its path points outside the archive (path traversal: an absolute path or a '..' part), "
            "so it was not imported"
        )
    parts = path.replace("\\", "/").split("/")
    if parts[0] == "__MACOSX":
        return "it is macOS Finder metadata (__MACOSX), not audio"
    if base.startswith("."):
        return "its name starts with a dot (a hidden file), so it was not imported"
    if any(p.startswith(".") for p in parts[:-1]):
        return "it sits in a hidden folder (a name starting with a dot), so it was not imported"
    if base.lower().endswith(_ARCHIVE_EXT):
        return "archives inside the archive are not imported"
    return None


def zip_member_refusal(info: zipfile.ZipInfo) -> str | None:
    """Why a zip member is refused from its declared sizes alone (before a byte is inflated), or None."""
    limit = settings.EARMARK_MAX_FILE_BYTES
    if info.file_size > limit:
        return (
            f"it expands to {info.file_size:,} bytes, over the limit of {limit:,} per file (refused before inflating)"
        )
    ratio = info.file_size / max(info.compress_size, 1)
    if info.compress_type != zipfile.ZIP_STORED and ratio > settings.EARMARK_ZIP_MAX_RATIO:
        return (
            f"it compresses {ratio:,.0f} to 1, more than audio does (the limit is "
            f"{settings.EARMARK_ZIP_MAX_RATIO:,.0f} to 1): refused as a likely zip bomb before inflating"
        )
    return None


class _Capped(io.RawIOBase):
    """A zip member read no further than it declared: inflation stops at the cap whatever the data says."""

    def __init__(self, member, cap: int):
        self.member, self.left = member, cap

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        want = self.left + 1 if size is None or size < 0 else min(size, self.left + 1)
        data = self.member.read(want)
        self.left -= len(data)
        if self.left < 0:
            raise OSError("the entry inflates past the size it declares")
        return data

    def close(self) -> None:
        self.member.close()
        super().close()


def folder_files(path: str) -> list[tuple[Path, str | None]]:
    """Every file below a folder, sorted, each with the reason it is refused (hidden, a link out of the tree)."""
    root = Path(path).resolve()
    if not root.is_dir():
        raise DomainError(f"{path} is not a folder on the server")
    found: list[tuple[Path, str | None]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for filename in sorted(filenames):
            candidate = Path(dirpath, filename)
            rel = candidate.relative_to(root).as_posix()
            if rel.lower() in SIDECAR_NAMES:
                continue
            refusal = _name_refusal(rel)
            if refusal is None and not candidate.resolve().is_relative_to(root):
                refusal = "it is a link to a file outside the import folder, so it was not imported"
            found.append((candidate, refusal))
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
    for file, refusal in files:
        rel = file.relative_to(root).as_posix()
        if refusal:
            results.append(_refused(rel, refusal))
        else:
            try:
                with open(file, "rb") as fh:
                    results.append(_ingest_one(project, rel, fh, created_by, sidecar))
            except OSError as exc:
                results.append(_refused(rel, f"the file could not be read ({exc.strerror or 'input/output error'})"))
        if progress:
            progress(results[-1])
    return results


def _s3_client():
    import boto3

    opts: dict = settings.STORAGES["default"].get("OPTIONS", {})  # type: ignore[attr-defined]
    return boto3.client(
        "s3",
        endpoint_url=os.environ.get("EARMARK_IMPORT_S3_ENDPOINT_URL")
        or opts.get("endpoint_url")
        or os.environ.get("AWS_S3_ENDPOINT_URL"),
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


def import_s3_prefix(
    *,
    project: Project,
    uri: str | None = None,
    bucket: str | None = None,
    prefix: str = "",
    client=None,
    created_by=None,
    progress=None,
    total=None,
) -> list[IngestResult]:
    """Import every object under an S3 prefix, streamed (boto3 listing + get_object).

    The API passes a registered source's bucket, prefix and client (its own keys); the CLI passes an
    ``s3://`` URI read with the server's keys. Neither may read the platform's own storage bucket.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    if uri is not None:
        bucket, prefix = parse_s3_uri(uri)
    if is_platform_bucket(bucket or ""):
        raise DomainError(f"the bucket {bucket} is the platform's own storage and can never be imported from")
    uri = f"s3://{bucket}/{prefix}"
    client = client or _s3_client()
    try:
        keys = [
            obj["Key"]
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for obj in page.get("Contents", [])
            if not obj["Key"].endswith("/")
        ]
    except (BotoCoreError, ClientError) as exc:
        log.info("S3 listing of %s failed: %s", uri, exc)
        raise DomainError(
            f"could not list {uri}: the bucket does not exist, cannot be reached, or access to it is denied"
        ) from None
    sidecar = {}
    for key in keys:
        if key.rsplit("/", 1)[-1].lower() in SIDECAR_NAMES:
            sidecar.update(sidecar_parse(client.get_object(Bucket=bucket, Key=key)["Body"].read(), key))
    keys = sorted(k for k in keys if k.rsplit("/", 1)[-1].lower() not in SIDECAR_NAMES)
    if total:
        total(len(keys))
    results = []
    for key in keys:
        name = key[len(prefix) :].lstrip("/") or key
        try:
            body = client.get_object(Bucket=bucket, Key=key)["Body"]
            results.append(_ingest_one(project, name, body, created_by, sidecar))
            body.close()
        except (BotoCoreError, ClientError) as exc:
            log.info("S3 read of %s failed: %s", key, exc)
            results.append(
                _refused(
                    name, "the object could not be read from S3 (it may have been deleted, or access to it is denied)"
                )
            )
        if progress:
            progress(results[-1])
    return results


def _s3_reason(exc) -> str:
    """botocore's error as a short sentence (its code and message, no request ids)."""
    error = getattr(exc, "response", {}).get("Error", {}) if hasattr(exc, "response") else {}
    return error.get("Message") or error.get("Code") or type(exc).__name__


def result_counts(results: list[IngestResult]) -> dict[str, int]:
    """How many files were accepted, quarantined, duplicates or rejected (and any other status a result carries)."""
    counts = {"accepted": 0, "quarantined": 0, "duplicate": 0, "rejected": 0}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    return counts


def import_zip_recorded(
    *, project: Project, fileobj, name: str, created_by=None, sidecar: dict | None = None
) -> ImportBatch:
    """Import an uploaded zip at once (``import_zip``) and keep the outcome as a finished ImportBatch."""
    results = import_zip(project=project, fileobj=fileobj, created_by=created_by, sidecar=sidecar)
    counts = result_counts(results)
    with transaction.atomic():
        batch = ImportBatch.objects.create(
            project=project,
            source="zip",
            location=sanitize_name(name),
            status=ImportStatus.DONE,
            total=len(results),
            processed=len(results),
            results=[r.as_dict() for r in results],
            created_by=created_by,
            accepted=counts["accepted"],
            quarantined=counts["quarantined"],
            duplicates=counts["duplicate"],
            rejected=counts["rejected"],
        )
        hook_call(IMPORT_FINISHED, import_id=batch.id, project_id=project.id, status=batch.status, counts=counts)
    return batch


@transaction.atomic
def import_batch_create(*, project: Project, source: ImportSource, created_by, path: str = "") -> ImportBatch:
    """Record an import from a registered source (``path``: a sub-folder inside it) and queue it after commit."""
    import_source_resolve(source=source, project=project, subpath=path)  # refuse now, not on the worker
    batch = ImportBatch.objects.create(
        project=project,
        source=source.kind,
        import_source=source,
        location=path.strip().strip("/"),
        created_by=created_by,
    )
    from apps.catalog.tasks import import_batch_run_task  # tasks import these services: module level would cycle

    transaction.on_commit(lambda: import_batch_run_task.delay(batch.id))
    return batch


class ImportLost(Exception):
    """This run no longer holds the import (its lease ran out and another run took it over)."""


def _batch_record(batch_id: int, token: str, result: IngestResult) -> None:
    counter = {"accepted": "accepted", "quarantined": "quarantined", "duplicate": "duplicates", "rejected": "rejected"}[
        result.status
    ]
    if not ImportBatch.objects.filter(id=batch_id, claim_token=token, status=ImportStatus.RUNNING).update(
        processed=F("processed") + 1, **{counter: F(counter) + 1}
    ):
        raise ImportLost(f"import {batch_id} is no longer held by this run")


def _resumed(batch: ImportBatch, result: IngestResult) -> IngestResult:
    """On a resumed import, a "duplicate" of a recording an earlier run of this import stored is an acceptance."""
    if result.status != "duplicate" or batch.attempts < 2 or result.recording_id is None:
        return result
    if not Recording.objects.filter(
        id=result.recording_id, project_id=batch.project_id, created_at__gte=batch.started_at
    ).exists():
        return result
    return IngestResult(result.name, "accepted", "", result.recording_id, {"resumed": True})


def import_batch_fail(*, batch_id: int, error: str, token: str | None = None) -> bool:
    """Mark an unfinished import failed with a sentence (with ``token``: only while that run holds it).

    Writes ImportBatch. The failure hook of the task and the sweeper call it, so no import stays "running".
    """
    qs = ImportBatch.objects.filter(id=batch_id, status__in=(ImportStatus.QUEUED, ImportStatus.RUNNING))
    if token is not None:
        qs = qs.filter(claim_token=token)
    with transaction.atomic():
        if not qs.update(
            status=ImportStatus.FAILED, error=error[:2000], finished_at=timezone.now(), lease_expires_at=None
        ):
            return False
        batch = ImportBatch.objects.get(id=batch_id)
        hook_call(
            IMPORT_FINISHED,
            import_id=batch_id,
            project_id=batch.project_id,
            status=ImportStatus.FAILED,
            counts={
                "accepted": batch.accepted,
                "quarantined": batch.quarantined,
                "duplicate": batch.duplicates,
                "rejected": batch.rejected,
            },
        )
    return True


def import_batch_run(*, batch_id: int) -> ImportBatch | None:
    """Run a queued import, or resume one whose worker died (lease expired), recording progress per file.

    Claims the batch with a lease (renewed by a heartbeat) so one run at a time holds it. Any error ends
    it as failed with a sentence; a DomainError's own sentence is shown as is.
    """
    token = work_claim(
        ImportBatch,
        pk=batch_id,
        queued=ImportStatus.QUEUED,
        running=ImportStatus.RUNNING,
        started_at=Coalesce("started_at", Value(timezone.now())),
        error="",
        processed=0,
        accepted=0,
        quarantined=0,
        duplicates=0,
        rejected=0,
    )
    if token is None:
        return None
    batch = ImportBatch.objects.select_related("project", "created_by", "import_source").get(id=batch_id)
    results: list[IngestResult] = []

    def progress(result):
        result = _resumed(batch, result)
        _batch_record(batch_id, token, result)
        results.append(result)

    def total(n):
        ImportBatch.objects.filter(id=batch_id, claim_token=token).update(total=n)

    try:
        if batch.import_source is None:
            raise DomainError("this import names no registered source; imports read only from registered sources")
        # Checked again at use: the source may have lost this project, or settings may have changed.
        where = import_source_resolve(source=batch.import_source, project=batch.project, subpath=batch.location)
        runner: Callable[..., list[IngestResult]]
        if batch.import_source.kind == ImportSourceKind.FOLDER:
            runner, kwargs = import_folder, {"path": where["path"]}
        else:
            runner, kwargs = (
                import_s3_prefix,
                {
                    "bucket": where["bucket"],
                    "prefix": where["prefix"],
                    "client": import_source_client(batch.import_source),
                },
            )
        with lease_heartbeat(lambda: work_renew(ImportBatch, pk=batch_id, token=token, running=ImportStatus.RUNNING)):
            runner(project=batch.project, created_by=batch.created_by, progress=progress, total=total, **kwargs)
        status, error = ImportStatus.DONE, ""
    except ImportLost:
        log.warning("import %s: lost its claim to another run; stopping", batch_id)
        return None
    except DomainError as exc:
        status, error = ImportStatus.FAILED, exc.message
    except Exception as exc:
        import_batch_fail(
            batch_id=batch_id,
            token=token,
            error=(
                f"The import stopped on an unexpected error ({type(exc).__name__}) after {len(results)} file(s); "
                "the details are in the worker's log. Start the import again to bring in the rest: files "
                "already imported are recognised as duplicates."
            ),
        )
        raise
    with transaction.atomic():
        if ImportBatch.objects.filter(id=batch_id, claim_token=token).update(
            status=status,
            error=error,
            finished_at=timezone.now(),
            results=[r.as_dict() for r in results],
            lease_expires_at=None,
        ):
            hook_call(
                IMPORT_FINISHED,
                import_id=batch_id,
                project_id=batch.project_id,
                status=status,
                counts=result_counts(results),
            )
    batch.refresh_from_db()
    return batch


def _enqueue_run(batch_id: int) -> None:
    from apps.catalog.tasks import import_batch_run_task

    import_batch_run_task.delay(batch_id)


def imports_requeue_stale() -> int:
    """Sweeper: re-send imports whose worker died (lease expired); fail those interrupted too often.

    Returns how many were re-sent. The next run resumes the import where the files stand.
    """
    resent = 0
    for batch_id, attempts in work_expired(ImportBatch, running=ImportStatus.RUNNING):
        if attempts >= settings.EARMARK_MAX_ATTEMPTS:
            import_batch_fail(
                batch_id=batch_id,
                error=(
                    f"The import was interrupted {attempts} times (its worker died or hit its time limit) and was "
                    "stopped. Files imported so far are kept; start it again to bring in the rest."
                ),
            )
            continue
        _enqueue_run(batch_id)
        resent += 1
    return resent
