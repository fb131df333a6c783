"""Copy every object of the storage (S3/MinIO bucket, or the local media folder) to a folder, or back.

    python scripts/bucket_copy.py dump FOLDER    # storage → FOLDER (keys become paths)
    python scripts/bucket_copy.py load FOLDER    # FOLDER → storage; adds and overwrites, never deletes

Reads the same variables as Earmark (EARMARK_STORAGE, AWS_*, MEDIA_ROOT). Used by scripts/backup.sh and
scripts/restore.sh; a load never deletes, so tombstones written since a backup stay (docs: README "Backup and
restore").
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def _s3():
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=os.environ.get("AWS_S3_ENDPOINT_URL") or None,
        region_name=os.environ.get("AWS_S3_REGION_NAME") or None,
    ), os.environ["AWS_STORAGE_BUCKET_NAME"]


def dump(folder: Path) -> int:
    count = 0
    if os.environ.get("EARMARK_STORAGE", "local") == "s3":
        client, bucket = _s3()
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                target = folder / obj["Key"]
                target.parent.mkdir(parents=True, exist_ok=True)
                client.download_file(bucket, obj["Key"], str(target))
                count += 1
        return count
    media = Path(os.environ["MEDIA_ROOT"])
    for path in media.rglob("*"):
        if path.is_file():
            target = folder / path.relative_to(media)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
            count += 1
    return count


def load(folder: Path) -> int:
    files = [p for p in folder.rglob("*") if p.is_file()]
    if os.environ.get("EARMARK_STORAGE", "local") == "s3":
        client, bucket = _s3()
        for path in files:
            client.upload_file(str(path), bucket, path.relative_to(folder).as_posix())
        return len(files)
    media = Path(os.environ["MEDIA_ROOT"])
    for path in files:
        target = media / path.relative_to(folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return len(files)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("dump", "load"):
        sys.exit(__doc__)
    folder = Path(sys.argv[2])
    n = (dump if sys.argv[1] == "dump" else load)(folder)
    print(f"{sys.argv[1]}: {n} objects")
