"""CPU per request of item open (queue next, audio range), autosave and the rest of the mix, in process.

Runs inside the production shape's environment against a project that ``benchmarks/prod_seed.py`` seeded and the
nodes processed (``benchmarks/load.py --keep`` leaves one running):

    scripts/prod_local.sh py benchmarks/request_cpu.py --seed var/prod-load/seed.json --rounds 5
    scripts/prod_local.sh py benchmarks/request_cpu.py --seed ... --profile queue_next   # cProfile, top 40
    scripts/prod_local.sh py benchmarks/request_cpu.py --seed ... --mix    # + list, submit, review, upload

Each round, every one of ``--annotators`` accounts does what load.py's annotator does, through Django's test client
(the whole middleware stack and the S3 storage, no gunicorn and no socket): queue next without the counts (a new
claim; its answer embeds the first peaks), peaks (the endpoint, asked before processing is done), the first 64 KiB
audio range (on S3 the presigned redirect; moto's answer is another process), the queue counts, three autosaves,
then queue next again (their own open item). "item open" adds up queue next and the audio range. The round runs in a
transaction that is rolled back, so every round claims the same fresh queue. Prints CPU ms per request
(``time.process_time``) per endpoint, median and mean over every round after the first (warm-up), and the SQL
queries each one ran. Never pass/fail: compare two trees run one after the other (README "Load (production shape)").

``--mix`` adds the rest of load.py's mix after each annotator's item: the recordings list with each of load.py's
four filters, submit of the item, a reviewer's review next and accept of it, and every fifth annotator the
manager's upload of 5 fresh 2-s clips (stored in the bucket; the rows roll back with the round, so the nodes
process nothing). ``--profile`` then also takes list, submit, review_next, review_accept or upload.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
# Metrics as gunicorn keeps them (one file per process under the shape's folder), not in memory.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="earmark-cpu-prom-"))

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402

STEPS = ("queue next (claim)", "peaks", "audio range", "queue progress", "autosave", "queue next (own item)")


SQL_SHOWN: dict[str, list[str]] = {}


class _Rollback(Exception):
    pass


def _clip(seed: int) -> bytes:
    from apps.catalog.demo import demo_clip  # as load.py's uploads: 2-s speech-like bursts that pass audio QA

    return demo_clip(seed, seconds=2.0)


def _label(client: Client, project: int) -> str:
    return client.get(f"/api/v1/projects/{project}/labels/").json()["region_labels"][0]["id"]


def _item(client: Client, project: int, label: str, timed, profile: str | None, prof: cProfile.Profile) -> tuple:
    def call(step, method, path, *args, **kwargs):
        return _timed(client, step, method, path, timed, profile, prof, *args, **kwargs)

    # As the annotator does: queue next without the counts (its answer embeds the first peaks), the audio, then the
    # counts once the item is drawn. The peaks endpoint too, which the annotator asks only before processing is done.
    body = call("queue next (claim)", "post", f"/api/v1/projects/{project}/queue/next/?progress=false").json()
    rec, ann = body["recording"]["id"], body["annotation"]
    call("peaks", "get", f"/api/v1/recordings/{rec}/peaks")
    call("audio range", "get", f"/api/v1/recordings/{rec}/audio", HTTP_RANGE="bytes=0-65535")
    call("queue progress", "get", f"/api/v1/projects/{project}/queue/progress/")
    version, regions = ann.get("version", 0), []
    for n in range(3):
        regions.append(
            {
                "id": f"r{n}",
                "start": 0.05 * n,
                "end": 0.05 * n + 0.04,
                "channel": None,
                "label": label,
                "text": f"word {n}",
                "attributes": {},
                "fmin": None,
                "fmax": None,
            }
        )
        payload = {"version": version, "regions": regions, "clip_labels": []}
        res = call("autosave", "put", f"/api/v1/annotations/{ann['id']}/", payload, content_type="application/json")
        version = res.json()["version"]
    call("queue next (own item)", "post", f"/api/v1/projects/{project}/queue/next/?progress=false")
    return ann["id"], version


# --mix: the rest of load.py's mix, per annotator after its item (README "Load (production shape)").
MIX_STEPS = ("list recordings", "submit", "review next", "review accept", "upload batch (5)")
LIST_QUERIES = ("", "?status=ready", "?speaker=spk1", "?min_duration=0.5")  # load.py's list_recordings
UPLOAD_EVERY = 5  # one upload batch per this many annotators (load.py: 1 manager per 6 annotators)


def _timed(client: Client, step: str, method: str, path: str, timed, profile, prof, *args, **kwargs):
    """One request through ``client``: CPU ms and SQL count appended to ``timed[step]`` (as ``_item``'s call)."""
    wanted = profile and step.startswith(profile.replace("_", " "))
    if wanted:
        prof.enable()
    queries: list[str] = []
    started = time.process_time()
    with connection.execute_wrapper(lambda execute, sql, *rest: queries.append(sql) or execute(sql, *rest)):
        res = getattr(client, method)(path, *args, **kwargs)
    spent = time.process_time() - started
    if wanted:
        prof.disable()
    if res.status_code >= 400:
        raise SystemExit(f"{step}: {res.status_code} {res.content[:200]!r}")
    if wanted and SQL_SHOWN.get(step) is None:
        SQL_SHOWN[step] = queries
    timed.setdefault(step, []).append((spent * 1000, len(queries)))
    return res


def _mix(n: int, clients, project: int, item: tuple, clips, timed, profile, prof) -> None:
    """Annotator ``n`` lists (each of load.py's filters) and submits its item; a reviewer takes the next
    submission and accepts it; every UPLOAD_EVERY-th annotator, the manager uploads a batch of 5 clips."""
    annotator, reviewer, manager = clients["annotators"][n], clients["reviewers"][n], clients["manager"]
    for query in LIST_QUERIES:
        _timed(
            annotator, "list recordings", "get", f"/api/v1/projects/{project}/recordings/{query}", timed, profile, prof
        )
    ann, version = item
    _timed(
        annotator,
        "submit",
        "post",
        f"/api/v1/annotations/{ann}/submit/",
        timed,
        profile,
        prof,
        data={"version": version},
        content_type="application/json",
    )
    res = _timed(reviewer, "review next", "post", f"/api/v1/projects/{project}/review/next/", timed, profile, prof)
    if res.status_code == 200:
        _timed(
            reviewer,
            "review accept",
            "post",
            f"/api/v1/annotations/{res.json()['annotation']['id']}/review/",
            timed,
            profile,
            prof,
            data={"decision": "accept"},
            content_type="application/json",
        )
    if n % UPLOAD_EVERY == 0:
        files = [io.BytesIO(clip) for clip in clips]
        for i, fh in enumerate(files):
            fh.name = f"cpu-{n}-{i}.wav"
        _timed(
            manager,
            "upload batch (5)",
            "post",
            f"/api/v1/projects/{project}/recordings/",
            timed,
            profile,
            prof,
            data={"files": files},
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", required=True, help="prod_seed.py's JSON output (project id, tokens)")
    parser.add_argument("--rounds", type=int, default=4, help="rounds; the first is warm-up and not counted")
    parser.add_argument("--annotators", type=int, default=20)
    parser.add_argument("--profile", help="cProfile the steps starting with this (queue_next, peaks, audio, autosave)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument(
        "--mix",
        action="store_true",
        help="also the rest of load.py's mix: list recordings (its 4 filters), submit, review next + accept, upload",
    )
    parser.add_argument(
        "--no-gc",
        action="store_true",
        help="garbage collection off during a round: each request's own CPU, not the collections it happens to run",
    )
    args = parser.parse_args()
    lines = Path(args.seed).read_text().strip().splitlines()
    seed = json.loads(lines[-1])
    project = seed["project_id"]
    clients = [
        Client(HTTP_AUTHORIZATION=f"Token {token}", SERVER_NAME="localhost")
        for token in seed["tokens"]["annotators"][: args.annotators]
    ]
    label = _label(clients[0], project)
    mixing = {
        "annotators": clients,
        "reviewers": [
            Client(HTTP_AUTHORIZATION=f"Token {token}", SERVER_NAME="localhost")
            for token in seed["tokens"]["reviewers"][: args.annotators]
        ],
        "manager": Client(HTTP_AUTHORIZATION=f"Token {seed['tokens']['manager']}", SERVER_NAME="localhost"),
    }
    if args.mix and len(mixing["reviewers"]) < len(clients):
        raise SystemExit("--mix: one reviewer account per annotator (prod_seed.py --people)")
    prof = cProfile.Profile(time.process_time)  # CPU, not time spent waiting for PostgreSQL or a core
    counted: dict[str, list[tuple[float, int]]] = {}
    if args.no_gc:
        gc.disable()
    for round_ in range(args.rounds):
        gc.collect()
        timed: dict[str, list[tuple[float, int]]] = {}
        try:
            with transaction.atomic():
                for n, client in enumerate(clients):
                    item = _item(client, project, label, timed, args.profile if round_ else None, prof)
                    if args.mix:
                        # Fresh bytes every round and batch (a rolled-back round leaves its objects in the bucket).
                        clips = [_clip(10_000_000 + round_ * 10_000 + n * 5 + i) for i in range(5)]
                        _mix(n, mixing, project, item, clips, timed, args.profile if round_ else None, prof)
                raise _Rollback
        except _Rollback:
            pass
        if round_:
            for step, rows in timed.items():
                counted.setdefault(step, []).extend(rows)
    result = {
        step: {
            "median_ms": round(statistics.median(ms for ms, _ in counted[step]), 2),
            "mean_ms": round(statistics.fmean(ms for ms, _ in counted[step]), 2),
            "queries": round(statistics.fmean(q for _, q in counted[step]), 1),
            "n": len(counted[step]),
        }
        for step in STEPS + (MIX_STEPS if args.mix else ())
        if step in counted
    }
    opening = ("queue next (claim)", "audio range")  # what an annotator waits on (the peaks come embedded)
    result["item open (2 requests)"] = {
        key: round(sum(result[s][key] for s in opening), 2) for key in ("median_ms", "mean_ms", "queries")
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{'request':26s} {'CPU ms median':>14s} {'mean':>8s} {'queries':>8s}")
        for step, row in result.items():
            print(f"{step:26s} {row['median_ms']:14.1f} {row['mean_ms']:8.1f} {row['queries']:8.1f}")
    if args.profile:
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(40)
        if os.environ.get("REQUEST_CPU_PROFILE_FILE"):
            prof.dump_stats(os.environ["REQUEST_CPU_PROFILE_FILE"])  # for pstats (e.g. sorted by tottime)
        print(out.getvalue(), file=sys.stderr)
        for step, queries in SQL_SHOWN.items():
            print(f"--- {step}: {len(queries)} queries", file=sys.stderr)
            for sql in queries:
                print("   ", sql[:300], file=sys.stderr)


if __name__ == "__main__":
    main()
