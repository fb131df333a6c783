"""Erasure tombstones: what a purge erased, kept where a database or bucket restore cannot undo it.

A tombstone is an empty-ish object in storage under ``tombstones/`` named by a hash — a recording's content hash
(sha256 of its original's bytes) or a speaker's digest (sha256 of project id and pseudonymous code) — with the
date it was written: no name, no e-mail, no audio, nothing personal. The purge writes it *before* it deletes
(apps/consent/services/purge.py), so a purge cut short is finished on restore too.

Tombstones are outside the restorable data: backups copy them, but a restore only adds objects, never removes
the tombstones written since; restoring elsewhere loads the newest tombstone set beside the old backup
(scripts/restore.sh). ``tombstones_reapply`` (``manage.py tombstones_apply``, run by the restore) then erases
whatever the restored database and bucket still hold of them. No app owns the prefix, so the storage sweep
never deletes it.
"""

from __future__ import annotations

import hashlib
import json
import re

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

TOMBSTONE_PREFIX = "tombstones/"
KINDS = ("recordings", "speakers")
_DIGEST = re.compile(r"^[0-9a-f]{64}")


def speaker_digest(*, project_id: int, code: str) -> str:
    """The speaker's tombstone name: a hash of project and pseudonymous code (no identifier of the person)."""
    return hashlib.sha256(f"earmark-speaker:{project_id}:{code}".encode()).hexdigest()


def tombstone_write(*, kind: str, digest: str) -> None:
    """Record that ``digest`` (a recording's sha256, or speaker_digest) was erased; writes one small object."""
    if kind not in KINDS or not _DIGEST.match(digest):
        raise ValueError(f"bad tombstone {kind}/{digest}")
    key = f"{TOMBSTONE_PREFIX}{kind}/{digest}"
    if not default_storage.exists(key):
        default_storage.save(key, ContentFile(json.dumps({"at": timezone.now().isoformat()}).encode()))


def tombstones_read(kind: str) -> set[str]:
    """Every digest of ``kind`` with a tombstone."""
    try:
        _dirs, files = default_storage.listdir(f"{TOMBSTONE_PREFIX}{kind}/")
    except FileNotFoundError:
        return set()
    return {m.group(0) for name in files if (m := _DIGEST.match(name))}
