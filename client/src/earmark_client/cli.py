"""The `earmark` command: releases, pull, stream, sync, verify, login.

The server and token come from --url/--token or the EARMARK_URL/EARMARK_TOKEN environment variables
(`sync` and `verify` read the server from the pulled folder). Errors are one sentence on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from itertools import islice

from earmark_client.api import Client, EarmarkError
from earmark_client.pull import pull, state_read, verify
from earmark_client.stream import stream
from earmark_client.sync import sync


def _client(args: argparse.Namespace, url: str | None = None) -> Client:
    url = args.url or url or os.environ.get("EARMARK_URL")
    if not url:
        raise EarmarkError("Say which server: --url or EARMARK_URL (e.g. https://earmark.example.org).")
    return Client(url, args.token or os.environ.get("EARMARK_TOKEN"))


def _login(args: argparse.Namespace) -> int:
    password = os.environ.get("EARMARK_PASSWORD") or getpass.getpass("Password: ")
    url = args.url or os.environ.get("EARMARK_URL")
    if not url:
        raise EarmarkError("Say which server: --url or EARMARK_URL.")
    client = Client.login(url, args.username, password)
    print(f"export EARMARK_URL={client.base_url} EARMARK_TOKEN={client.token}")
    return 0


def _releases(args: argparse.Namespace) -> int:
    client = _client(args)
    rows = client.releases(args.project)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    for r in rows:
        state = "needs rebuild" if r.get("needs_rebuild") else r["status"]
        formats = ", ".join(sorted(r.get("files") or {})) or "-"
        print(f"{r['id']}\tv{r['version']}\t{state}\t{(r.get('stats') or {}).get('items', '')}\t{formats}\t{r['name']}")
    return 0


def _pull(args: argparse.Namespace) -> int:
    result = pull(_client(args), args.release, args.format, args.out, workers=args.workers, progress=not args.quiet)
    print(
        f"{len(result.fetched) + len(result.resumed)} file(s) downloaded ({len(result.resumed)} resumed), "
        f"{len(result.kept)} already here, {len(result.corrupt)} fetched again after a checksum mismatch; "
        f"{args.out} verifies against SHA256SUMS."
    )
    return 0


def _stream(args: argparse.Namespace) -> int:
    client = _client(args)
    if args.samples:
        for sample in islice(stream(client, args.release, args.split), args.samples):
            print(sample["__key__"], " ".join(sorted(k for k in sample if not k.startswith("__"))))
        return 0
    urls = (
        client.webdataset_urls(args.release, args.split) if args.pipe else client.shard_urls(args.release, args.split)
    )
    if not args.pipe and client.token:
        print(f"# send this header with each request: Authorization: Token {client.token}", file=sys.stderr)
    print("\n".join(urls))
    return 0


def _sync(args: argparse.Namespace) -> int:
    state = state_read(args.dir)
    result = sync(_client(args, state["server"]), args.dir)
    bad = verify(args.dir)
    print(
        f"{len(result.withdrawn)} withdrawn example(s) removed: {len(result.deleted_files)} file(s) deleted, "
        f"{len(result.rewritten_files)} rewritten; SHA256SUMS {'verifies' if not bad else 'FAILS for ' + str(bad)}. "
        f"Log: {args.dir}/.earmark/sync.log"
    )
    return 0 if not bad else 1


def _verify(args: argparse.Namespace) -> int:
    bad = verify(args.dir)
    print("all files verify" if not bad else "\n".join(f"FAILED {p}" for p in bad))
    return 0 if not bad else 1


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="earmark", description="Pull, stream and sync Earmark dataset releases.")
    p.add_argument("--url", help="Earmark server (default: $EARMARK_URL)")
    p.add_argument("--token", help="API token (default: $EARMARK_TOKEN)")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("login", help="print an API token for a username (password from $EARMARK_PASSWORD or a prompt)")
    s.add_argument("username")
    s.set_defaults(run=_login)
    s = sub.add_parser("releases", help="list a project's releases: id, version, status, items, formats, name")
    s.add_argument("project", type=int)
    s.add_argument("--json", action="store_true")
    s.set_defaults(run=_releases)
    s = sub.add_parser("pull", help="download one format of a release (resumable, parallel, verified)")
    s.add_argument("release", type=int)
    s.add_argument("--format", required=True, help="jsonl, csv, hf-parquet, lhotse or webdataset")
    s.add_argument("--out", required=True, help="folder (created; run again to resume or repair)")
    s.add_argument("--workers", type=int, default=4)
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(run=_pull)
    s = sub.add_parser("stream", help="print a split's WebDataset shard URLs, or stream samples")
    s.add_argument("release", type=int)
    s.add_argument("--split", default="train")
    s.add_argument("--pipe", action="store_true", help="pipe:curl URLs that webdataset.WebDataset opens as they are")
    s.add_argument("--samples", type=int, default=0, help="stream this many samples and print their keys")
    s.set_defaults(run=_stream)
    s = sub.add_parser("sync", help="delete withdrawn examples from a pulled copy; rewrite SHA256SUMS; log it")
    s.add_argument("dir")
    s.set_defaults(run=_sync)
    s = sub.add_parser("verify", help="check a pulled copy against its SHA256SUMS")
    s.add_argument("dir")
    s.set_defaults(run=_verify)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except EarmarkError as exc:
        print(f"earmark: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("earmark: interrupted; run the same command again to resume.", file=sys.stderr)
        return 130
