"""Erasure at rest: after a purge batch, make the database files forget what was deleted.

SQLite (the embedded default) runs with ``PRAGMA secure_delete=ON`` (config/settings/base.py), so deleted and
replaced row content is overwritten with zeros in the main file; but in WAL mode the old page images stay in
the ``-wal`` file until a checkpoint copies the pages back and the WAL is truncated: we run
``PRAGMA wal_checkpoint(TRUNCATE)`` after each purge batch.

PostgreSQL never overwrites in place: an UPDATE or DELETE leaves the old row version in the table file until
VACUUM marks its space free and a later write reuses it; WAL segments and base backups keep it until they
rotate. After each purge batch we VACUUM the tables that held the purged data (space becomes reusable at
once); ``VACUUM FULL`` on those tables in a maintenance window rewrites them and removes the old versions
from disk for certain (docs/consent.md says so).
"""

from django.db import connection

# Tables that hold direct identifiers, free text or transcripts that a purge wipes or blanks.
PURGED_TABLES = [
    "catalog_speakeridentity",
    "catalog_speaker",
    "catalog_recording",
    "consent_consentrecord",
    "consent_recordingwithdrawal",
    "annotation_region",
    "annotation_annotationversion",
    "datasets_releaseitem",
]


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
            tables = [t for t in PURGED_TABLES if t in existing]
            for table in tables:
                cursor.execute(f'VACUUM (ANALYZE) "{table}"')  # names from the list above, not from input
            return "postgresql:vacuum"
    return ""
