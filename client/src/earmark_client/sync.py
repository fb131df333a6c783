"""`sync`: delete from a pulled copy every example the release's withdrawal feed lists.

The downstream half of Earmark's consent promise. For each withdrawn key it removes, in whatever format the
copy is: the example's own files (audio, `.npy` features), its lines in JSON-lines manifests (plain or
gzipped: NeMo manifests, lhotse recordings and supervisions), its rows in `metadata.csv` and in Parquet
shards, and its members in WebDataset tar shards. Rewritten files replace the old ones atomically, SHA256SUMS
is rewritten to match, and every deletion is appended to `.earmark/sync.log` (JSON lines: when, release,
key, what was removed) — keys and paths only, which is what the feed itself gives.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from earmark_client.api import Client
from earmark_client.pull import STATE_DIR, parse_sums, safe_path, sha256_file, state_read, state_write


@dataclass
class SyncResult:
    withdrawn: list[str] = field(default_factory=list)  # keys the feed lists that were in this copy
    deleted_files: list[str] = field(default_factory=list)
    rewritten_files: list[str] = field(default_factory=list)


def _key_of(row: dict[str, Any]) -> set[str]:
    # NeMo/csv rows carry `key`; lhotse recordings `id`, supervisions `id` and `recording_id` (= the key).
    return {str(row[k]) for k in ("key", "id", "recording_id") if row.get(k) is not None}


def _replace(path: Path, write: Callable[[Any], None]) -> None:
    tmp = path.with_name(path.name + ".sync")
    with open(tmp, "wb") as fh:
        write(fh)
    os.replace(tmp, path)


def _filter_lines(path: Path, keys: set[str], opener: Callable[..., Any]) -> set[str]:
    with opener(path, "rb") as fh:
        lines = fh.read().splitlines(keepends=True)
    found: set[str] = set()
    kept = []
    for line in lines:
        hit = _key_of(json.loads(line)) & keys if line.strip() else set()
        found |= hit
        if not hit:
            kept.append(line)
    if not found:
        return found
    if opener is gzip.open:  # no name, mtime 0, as the server writes them
        _replace(path, lambda fh: _gzip_write(fh, b"".join(kept)))
    else:
        _replace(path, lambda fh: fh.write(b"".join(kept)))
    return found


def _gzip_write(fh: Any, data: bytes) -> None:
    with gzip.GzipFile(filename="", mode="wb", fileobj=fh, compresslevel=6, mtime=0) as gz:
        gz.write(data)


def _filter_csv(path: Path, keys: set[str]) -> set[str]:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    if not rows or "key" not in rows[0]:
        return set()
    col = rows[0].index("key")
    found = {r[col] for r in rows[1:] if len(r) > col and r[col] in keys}
    if not found:
        return found
    kept = [rows[0]] + [r for r in rows[1:] if not (len(r) > col and r[col] in keys)]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(kept)
    _replace(path, lambda fh: fh.write(out.getvalue().encode("utf-8")))
    return found


def _filter_parquet(path: Path, keys: set[str]) -> set[str]:
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise RuntimeError("Syncing an hf-parquet copy needs pyarrow: pip install 'earmark-client[parquet]'.") from exc
    table = pq.read_table(path)
    if "key" not in table.column_names:
        return set()
    mask = pc.is_in(table["key"], value_set=pa.array(sorted(keys), pa.string()))
    found = set(table.filter(mask)["key"].to_pylist())
    if not found:
        return found
    kept = table.filter(pc.invert(mask))  # the schema, and its `huggingface` metadata, stay as they were
    tmp = path.with_name(path.name + ".sync")
    pq.write_table(kept, tmp, compression="zstd")
    os.replace(tmp, path)
    return found


def _member_key(name: str) -> str:
    return name.rsplit("/", 1)[-1].split(".", 1)[0]


def _filter_tar(path: Path, keys: set[str]) -> set[str]:
    with tarfile.open(path, "r:") as src:
        members = src.getmembers()
        drop = [m for m in members if _member_key(m.name) in keys]
        if not drop:
            return set()

        def write(fh: Any) -> None:
            with tarfile.open(fileobj=fh, mode="w", format=tarfile.USTAR_FORMAT) as dst:
                for m in members:
                    if m not in drop:
                        dst.addfile(m, src.extractfile(m) if m.isfile() else None)

        _replace(path, write)
    return {_member_key(m.name) for m in drop}


def sync(client: Client, dest: str | os.PathLike) -> SyncResult:
    """Apply the release's withdrawal feed to the copy in ``dest``; returns what was removed."""
    root = Path(dest)
    state = state_read(root)
    feed = client.withdrawals(state["release_id"])
    sums = parse_sums((root / "SHA256SUMS").read_text())
    keys = {row["key"] for row in feed}
    result = SyncResult()
    per_key: dict[str, list[str]] = {}
    # 1. The example's own files: any file named KEY.something (audio, features).
    for relpath in sorted(sums):
        key = relpath.rsplit("/", 1)[-1].split(".", 1)[0]
        if key in keys:
            safe_path(root, relpath).unlink(missing_ok=True)
            result.deleted_files.append(relpath)
            per_key.setdefault(key, []).append(relpath)
    present = set(per_key)
    # 2. Manifests and shards that mention the keys.
    for relpath in sorted(set(sums) - set(result.deleted_files)):
        path = safe_path(root, relpath)
        if not path.exists():
            continue
        found: set[str] = set()
        if relpath.endswith(".jsonl"):
            found = _filter_lines(path, keys, open)
        elif relpath.endswith(".jsonl.gz"):
            found = _filter_lines(path, keys, gzip.open)
        elif relpath.endswith(".csv"):
            found = _filter_csv(path, keys)
        elif relpath.endswith(".parquet"):
            found = _filter_parquet(path, keys)
        elif relpath.endswith(".tar"):
            found = _filter_tar(path, keys)
        if found:
            result.rewritten_files.append(relpath)
            present |= found
    result.withdrawn = sorted(present)
    # 3. SHA256SUMS: drop deleted files, re-hash rewritten ones.
    lines = []
    for relpath, digest in sorted(sums.items()):
        if relpath in result.deleted_files:
            continue
        if relpath in result.rewritten_files:
            digest = sha256_file(safe_path(root, relpath))
        lines.append(f"{digest}  {relpath}\n")
    _replace(root / "SHA256SUMS", lambda fh: fh.write("".join(lines).encode()))
    # 4. The local log, and where the feed was read up to.
    now = datetime.now(UTC).isoformat()
    if feed:
        with open(root / STATE_DIR / "sync.log", "a", encoding="utf-8") as log:
            for row in feed:
                if row["key"] in result.withdrawn:
                    log.write(
                        json.dumps(
                            {
                                "synced_at": now,
                                "release_id": state["release_id"],
                                "key": row["key"],
                                "split": row.get("split"),
                                "withdrawn_at": row.get("withdrawn_at"),
                                "deleted": per_key.get(row["key"], []),
                                "rewritten": result.rewritten_files,
                            }
                        )
                        + "\n"
                    )
    state_write(
        root,
        {
            **state,
            "synced_through": feed[-1]["withdrawn_at"] if feed else state.get("synced_through"),
            "last_sync": now,
        },
    )
    return result
