"""Periodic clean-up after crashes: stored objects no row points at, and stale temp files.

A web server or worker killed between writing an object and committing its row leaves an object nobody
owns; one killed mid-upload or mid-job leaves spool files and work folders. Both are removed here once
older than ``EARMARK_SWEEP_MIN_AGE_SECONDS`` (6 h by default: longer than any request or job can take
between writing an object and committing its row), so nothing in use is ever touched. Which keys are
whose is asked of the apps through the ``storage_owners`` hook; keys under no app's prefix are left alone.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage

from apps.core.hooks import STORAGE_OWNERS, hook_call

log = logging.getLogger(__name__)
BATCH = 500


def _min_age(min_age_seconds: float | None) -> float:
    return float(settings.EARMARK_SWEEP_MIN_AGE_SECONDS if min_age_seconds is None else min_age_seconds)


def storage_walk(prefix: str) -> Iterator[tuple[str, float]]:
    """(key, modified time as a Unix timestamp) of every object under ``prefix``, on local storage or S3."""
    storage = default_storage
    bucket = getattr(storage, "bucket", None)
    if bucket is not None:  # S3: one paginated listing, not a listdir per folder
        location = (getattr(storage, "location", "") or "").strip("/")
        base = f"{location}/" if location else ""
        for obj in bucket.objects.filter(Prefix=base + prefix):
            yield obj.key[len(base) :], obj.last_modified.timestamp()
        return
    root = Path(storage.path(prefix))
    if not root.is_dir():
        return
    base = Path(storage.path(""))
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath, name)
            try:
                mtime = path.stat().st_mtime
            except FileNotFoundError:  # deleted meanwhile
                continue
            yield path.relative_to(base).as_posix(), mtime


def storage_orphans_sweep(*, min_age_seconds: float | None = None) -> dict[str, int]:
    """Delete objects older than the safe age under each app's prefix that no row points at.

    Returns {prefix: objects deleted}. Storage only: no row is written.
    """
    cutoff = time.time() - _min_age(min_age_seconds)
    deleted: dict[str, int] = {}
    for owners in hook_call(STORAGE_OWNERS):
        for prefix, owned in owners:
            deleted[prefix] = 0
            batch: list[str] = []
            for key, mtime in storage_walk(prefix):
                if mtime < cutoff:
                    batch.append(key)
                if len(batch) >= BATCH:
                    deleted[prefix] += _delete_unowned(batch, owned)
                    batch = []
            if batch:
                deleted[prefix] += _delete_unowned(batch, owned)
    if any(deleted.values()):
        log.warning("storage sweep removed objects no row points at: %s", deleted)
    return deleted


def _delete_unowned(keys: list[str], owned) -> int:
    keep = owned(keys)
    orphans = [k for k in keys if k not in keep]
    for key in orphans:
        default_storage.delete(key)
    return len(orphans)


def temp_files_sweep(*, min_age_seconds: float | None = None) -> int:
    """Delete files and folders in EARMARK_TEMP_DIR (upload spools, job work folders) older than the safe age.

    Returns how many entries were removed. Only Earmark's own temp folder is read.
    """
    cutoff = time.time() - _min_age(min_age_seconds)
    root = Path(settings.EARMARK_TEMP_DIR)
    removed = 0
    for path in root.iterdir() if root.is_dir() else ():
        try:
            if path.lstat().st_mtime >= cutoff:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed += 1
        except OSError:
            continue
    return removed
