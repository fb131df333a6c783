#!/usr/bin/env bash
# Restore an Earmark backup (scripts/backup.sh) into DATABASE_URL and the bucket, then erase again whatever was
# erased since it was taken.
#   scripts/restore.sh FOLDER [--tombstones NEWER_FOLDER]...
# 1. the database: created when missing, else its tables replaced (pg_restore --clean);
# 2. the bucket: the backup's objects added (nothing deleted, so tombstones written since stay);
# 3. tombstones: those of NEWER_FOLDER(s) (e.g. the newest backup's bucket/tombstones, when restoring elsewhere);
# 4. `manage.py migrate`, then `manage.py tombstones_apply`: a speaker or recording purged after the backup is
#    purged again before anyone uses the restored site. Stop web and workers first.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${EARMARK_PYTHON:-$ROOT/.venv/bin/python}"
backup="${1:?usage: $0 FOLDER [--tombstones NEWER_FOLDER]...}"
shift
db="${DATABASE_URL:?set DATABASE_URL}"
name="${db##*/}"
admin="${db%/*}/postgres"
if ! psql "$admin" -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
  psql "$admin" -qc "CREATE DATABASE \"$name\""
fi
pg_restore --clean --if-exists --no-owner --single-transaction --dbname="$db" "$backup/db.dump"
"$PY" "$ROOT/scripts/bucket_copy.py" load "$backup/bucket"
while [ $# -gt 0 ]; do
  case "$1" in
    --tombstones)
      newer="${2:?--tombstones needs a folder}"
      [ -d "$newer/bucket/tombstones" ] && newer="$newer/bucket"
      tmp="$(mktemp -d)"
      mkdir -p "$tmp/tombstones" && cp -r "$newer/tombstones/." "$tmp/tombstones/"
      "$PY" "$ROOT/scripts/bucket_copy.py" load "$tmp"
      rm -rf "$tmp"
      shift 2
      ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
cd "$ROOT"
"$PY" manage.py migrate --noinput -v 0
"$PY" manage.py tombstones_apply
echo "restored from $backup"
