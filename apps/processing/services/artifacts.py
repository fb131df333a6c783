"""Artifacts in storage: content-addressed keys, idempotent writes, and their removal."""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, cast

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, connections, models, router, transaction
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery

from apps.consent.purposes import Purpose
from apps.consent.selectors import recordings_usable
from apps.processing.models import Artifact

log = logging.getLogger(__name__)

ARTIFACT_PREFIX = "artifacts/"


def artifact_key(*, source_sha256: str, recipe_hash: str, kind: str, ext: str) -> str:
    """Where an artifact lives: the same (source bytes, recipe, kind) always maps to the same key."""
    return f"{ARTIFACT_PREFIX}{source_sha256[:2]}/{source_sha256}/{recipe_hash[:16]}/{kind}.{ext}"


class ArtifactWriter:
    """Writes one recording's artifacts for one recipe; kinds that already have a row are skipped.

    Order per artifact: object first, row second. A run killed in between leaves an object without
    a row; the next run finds no row, deletes the partial object and writes it again, so once a job
    completes every object has a row and every row an object. Inside :meth:`batched` the order holds too: each
    object is stored when it comes, and the rows follow together.
    """

    def __init__(self, *, recording, recipe_hash: str):
        self.recording = recording
        self.sha = recording.sha256
        self.recipe_hash = recipe_hash
        self.existing = set(
            Artifact.objects.filter(source_sha256=self.sha, recipe_hash=recipe_hash).values_list("kind", flat=True)
        )
        self.written: list[str] = []
        self._rows: list[Artifact] | None = None  # inside batched(): rows whose objects are stored, not yet inserted
        self._present: set[str] | None = None  # inside batched(): this recipe's object keys that existed at its start

    @contextmanager
    def batched(self) -> Iterator[None]:
        """Store many small artifacts (a recording's hundreds of tiles): one listing of this recipe's objects instead
        of a lookup per key, and the rows inserted together at the end instead of one statement and transaction
        each. A run that dies inside leaves stored objects without rows, which the next run replaces."""
        if self._rows is not None:
            yield
            return
        self._rows = []
        overwrite = getattr(default_storage, "file_overwrite", False)  # S3: no lookup at all (see _store)
        folder = f"{artifact_source_prefix(self.sha)}{self.recipe_hash[:16]}/"
        self._present = set() if overwrite else set(_walk(folder))
        try:
            yield
        except BaseException:
            try:  # the objects stored so far are whole: keep their rows, but never hide the error itself
                self._insert(self._batch_end())
            except Exception:
                log.exception("artifact rows of an interrupted batch not inserted")
            raise
        self._insert(self._batch_end())

    def _batch_end(self) -> list[Artifact]:
        rows, self._rows, self._present = self._rows or [], None, None
        return rows

    def _insert(self, rows: list[Artifact]) -> int:
        """Insert ``rows``, skipping those another run of the same job inserted first (same keys, same bytes);
        returns how many this call inserted, and adds only their kinds to ``written``."""
        if not rows:
            return 0
        inserted = _rows_insert_new(rows)
        self.written.extend(inserted)
        return len(inserted)

    def has(self, kind: str) -> bool:
        return kind in self.existing

    def has_all(self, kinds) -> bool:
        return all(k in self.existing for k in kinds)

    def put_bytes(self, kind: str, data: bytes, ext: str, meta: dict | None = None) -> bool:
        """Store ``data`` as ``kind`` unless it exists; True when this call wrote it."""
        return self.put_file(kind, io.BytesIO(data), ext, meta, size=len(data))

    def put_path(self, kind: str, path: str | os.PathLike, ext: str, meta: dict | None = None) -> bool:
        """Store a local file's bytes as ``kind`` unless it exists (streamed, not read into memory)."""
        with open(path, "rb") as fh:
            return self.put_file(kind, fh, ext, meta, size=os.path.getsize(path))

    def put_file(self, kind: str, fh: IO[bytes], ext: str, meta: dict | None = None, *, size: int) -> bool:
        if kind in self.existing:
            return False
        key = artifact_key(source_sha256=self.sha, recipe_hash=self.recipe_hash, kind=kind, ext=ext)
        _store(key, fh, present=None if self._present is None else key in self._present)
        row = Artifact(
            recording=self.recording,
            source_sha256=self.sha,
            recipe_hash=self.recipe_hash,
            kind=kind,
            key=key,
            bytes=size,
            meta=meta or {},
        )
        self.existing.add(kind)
        if self._rows is not None:
            self._rows.append(row)
            return True
        try:
            with transaction.atomic():
                row.save(force_insert=True)
        except IntegrityError:
            # Another run of the same job wrote the row first; its object is at the same key with the same bytes.
            return False
        self.written.append(kind)
        return True


def _rows_insert_new(rows: list[Artifact], batch: int = 500) -> list[str]:
    """INSERT the artifact rows, ignoring those whose (source, recipe, kind) already has a row; the kinds of the
    rows actually inserted.

    ``bulk_create(ignore_conflicts=True)`` cannot say which rows the conflict clause dropped: this compiles the
    same INSERT (``ON CONFLICT DO NOTHING``, or SQLite's ``INSERT OR IGNORE``) with ``RETURNING kind``, which
    lists only the rows inserted.
    """
    alias = router.db_for_write(Artifact)
    opts = Artifact._meta
    fields = [f for f in opts.concrete_fields if not f.primary_key]  # what bulk_create writes for new rows
    kinds: list[str] = []
    with transaction.atomic(using=alias, savepoint=False), connections[alias].cursor() as cursor:
        for start in range(0, len(rows), batch):
            query = InsertQuery(Artifact, on_conflict=OnConflict.IGNORE)
            query.insert_values(fields, cast("list[models.Model]", rows[start : start + batch]))
            compiler = query.get_compiler(using=alias)
            compiler.returning_fields = [opts.get_field("kind")]
            for sql, params in compiler.as_sql():
                cursor.execute(sql, params)
                kinds += [kind for (kind,) in cursor.fetchall()]
    return kinds


def _store(key: str, fh: IO[bytes], *, present: bool | None = None) -> None:
    """Write ``fh`` at exactly ``key``, replacing a leftover object (a killed run's partial write). ``present`` says
    whether an object was there (from a listing made earlier); None: ask the storage."""
    # S3 (file_overwrite=True) replaces atomically; FileSystemStorage would pick another name instead.
    if getattr(default_storage, "file_overwrite", False):
        present = False
    elif present is None:
        present = default_storage.exists(key)
    if present:
        default_storage.delete(key)
    saved = default_storage.save(key, File(fh, name=os.path.basename(key)))
    if saved != key:
        # A concurrent run stored the same key between our delete and save: same inputs, same bytes.
        default_storage.delete(saved)


def artifact_source_prefix(source_sha256: str) -> str:
    return f"{ARTIFACT_PREFIX}{source_sha256[:2]}/{source_sha256}/"


def _walk(prefix: str) -> list[str]:
    """Every object key under ``prefix`` (directories on local storage, key prefixes on S3)."""
    try:
        dirs, files = default_storage.listdir(prefix)
    except (FileNotFoundError, NotADirectoryError):
        return []
    keys = [prefix + f for f in files]
    for d in dirs:
        keys += _walk(f"{prefix}{d}/")
    return keys


def artifacts_delete_for_source(*, source_sha256: str) -> list[str]:
    """Delete every artifact object derived from these bytes (rows' keys and leftovers under the prefix),
    verify each is gone, then delete the rows. Returns the deleted keys; a second call finds nothing.
    """
    rows = list(Artifact.objects.filter(source_sha256=source_sha256).values_list("id", "key"))
    keys = sorted({k for _, k in rows} | set(_walk(artifact_source_prefix(source_sha256))))
    for key in keys:
        try:
            default_storage.delete(key)
        except FileNotFoundError:
            pass
    still = [k for k in keys if default_storage.exists(k)]
    if still:
        # Rows stay so a later purge finds the objects again; nothing is half-forgotten.
        raise OSError(f"{len(still)} artifact object(s) still exist after deletion, e.g. {still[0]}")
    Artifact.objects.filter(id__in=[i for i, _ in rows]).delete()
    return keys


def artifacts_purge_for_recording(*, recording) -> list[str]:
    """Delete the recording's artifacts (objects, verified gone, then rows) unless another live recording
    shares its bytes; returns the deleted keys. Idempotent.
    """
    if recordings_usable(None, Purpose.STORE).filter(sha256=recording.sha256).exclude(id=recording.id).exists():
        log.info("artifacts of %s kept: another live recording has the same bytes", recording.sha256[:12])
        return []
    return artifacts_delete_for_source(source_sha256=recording.sha256)
