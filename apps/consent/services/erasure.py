"""Erasure at rest: after a purge batch, make the database files forget what was deleted.

SQLite (the embedded default) runs with ``PRAGMA secure_delete=ON`` (config/settings/base.py), so deleted and
replaced row content is overwritten with zeros in the main file; but in WAL mode the old page images stay in
the ``-wal`` file until a checkpoint copies the pages back and the WAL is truncated: we run
``PRAGMA wal_checkpoint(TRUNCATE)`` after each purge batch.

PostgreSQL never overwrites in place: an UPDATE or DELETE leaves the old row version in the table file; plain
VACUUM marks its space free (and truncates empty pages at the end of the file) but the bytes stay in the page
until a later write reuses them; WAL segments and base backups keep them until they rotate. After each purge
batch we rewrite the small identity tables with ``VACUUM FULL`` (their old versions leave the database files at
once) and VACUUM the large ones; ``EARMARK_PURGE_VACUUM_FULL`` rewrites those too (a lock on each table while
it is copied), otherwise a purged recording's old file name or transcript can stay in free space until reused
(docs/consent.md says so).
"""

from django.conf import settings
from django.db import connection

# Tables that hold direct identifiers and free text about a person: one row per speaker or consent, small, so
# rewriting them after each purge batch is cheap.
IDENTITY_TABLES = [
    "catalog_speakeridentity",
    "catalog_speaker",
    "consent_consentrecord",
    "consent_recordingwithdrawal",
]
# Tables whose rows a purge blanks (file names, transcripts): large; rewritten only with EARMARK_PURGE_VACUUM_FULL.
CONTENT_TABLES = [
    "catalog_recording",
    "annotation_region",
    "annotation_annotationversion",
    "datasets_releaseitem",
]
PURGED_TABLES = IDENTITY_TABLES + CONTENT_TABLES


def database_forget_deleted() -> str:
    """Checkpoint SQLite's WAL (TRUNCATE) or VACUUM PostgreSQL's purged tables; returns what ran ('' inside a
    transaction, where neither may run: the next batch outside one does it)."""
    if connection.in_atomic_block:
        return ""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return "sqlite:wal_checkpoint"
        if connection.vendor == "postgresql":
            existing = set(connection.introspection.table_names(cursor))
            full = set(IDENTITY_TABLES) | (set(CONTENT_TABLES) if settings.EARMARK_PURGE_VACUUM_FULL else set())
            for table in (t for t in PURGED_TABLES if t in existing):
                # names from the lists above, never from input
                cursor.execute(f'VACUUM ({"FULL, " if table in full else ""}ANALYZE) "{table}"')
            return "postgresql:vacuum_full" if settings.EARMARK_PURGE_VACUUM_FULL else "postgresql:vacuum"
    return ""
