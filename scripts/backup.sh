#!/usr/bin/env bash
# Back up Earmark: the PostgreSQL database (pg_dump custom format) and every object of the bucket, into FOLDER.
#   scripts/backup.sh FOLDER
# Reads DATABASE_URL and the storage variables (EARMARK_STORAGE, AWS_*, MEDIA_ROOT) like Earmark itself.
# The bucket's tombstones/ (hashes of erased recordings and speakers, nothing personal) are copied too: keep the
# newest backup's tombstones whatever backup you restore (scripts/restore.sh --tombstones). README "Backup and restore".
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${EARMARK_PYTHON:-$ROOT/.venv/bin/python}"
out="${1:?usage: $0 FOLDER}"
mkdir -p "$out/bucket"
pg_dump --format=custom --no-owner --file="$out/db.dump" "${DATABASE_URL:?set DATABASE_URL}"
"$PY" "$ROOT/scripts/bucket_copy.py" dump "$out/bucket"
date -u +%Y-%m-%dT%H:%M:%SZ >"$out/taken_at"
echo "backup written to $out"
