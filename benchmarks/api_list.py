"""Recordings list latency at 100,000 recordings in PostgreSQL.

Seeds recordings in bulk (once; reused on later runs), then times the list
endpoint in-process with Django's test client — first page, a filtered page and
a deep cursor page, 100 rows each — beside a naive DRF list (page-number paging
with COUNT + OFFSET, with its obvious select_related) on the same rows. Both
sides are measured the same way (in-process, the same client, interleaved
request by request), so the ratio compares like with like.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/earmark_bench .venv/bin/python benchmarks/api_list.py
"""

import argparse
import os
import time

from _common import setup_django, summary


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def seed(n: int):
    from django.contrib.auth import get_user_model

    from apps.catalog.models import Language, Project, Recording, Speaker
    from apps.catalog.services import project_create

    user = get_user_model().objects.filter(username="bench-viewer").first()
    project = Project.objects.filter(name="bench-100k").first()
    if project and Recording.objects.filter(project=project).count() >= n:
        return user, project
    user = user or get_user_model().objects.create_user("bench-viewer", password="bench-password-1")
    project = project or project_create(name="bench-100k", created_by=user)
    langs = [Language.objects.get_or_create(tag=t)[0] for t in ("en", "de", "fr", "sw")]
    speakers = Speaker.objects.bulk_create(
        [Speaker(project=project, code=f"s{i:05d}") for i in range(1000)], ignore_conflicts=True
    )
    speakers = list(Speaker.objects.filter(project=project))
    _grant_consent(speakers)
    have = Recording.objects.filter(project=project).count()
    batch = []
    for i in range(have, n):
        sha = f"{i:064x}"
        batch.append(
            Recording(
                project=project,
                speaker=speakers[i % len(speakers)] if i % 5 else None,
                language=langs[i % 4],
                original_key=f"originals/{sha[:2]}/{sha[2:4]}/{sha}.wav",
                original_name=f"clip{i}.wav",
                sha256=sha,
                container="wav",
                codec="PCM_16",
                sample_rate=16000,
                channels=1,
                frames=16000 * (1 + i % 30),
                duration=1.0 + i % 30,
                bytes=32044,
                status="ready" if i % 3 else "ingested",
                created_by=user,
            )
        )
        if len(batch) == 10_000:
            Recording.objects.bulk_create(batch)
            batch = []
            print(f"  seeded {i + 1:,}", flush=True)
    Recording.objects.bulk_create(batch)
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    return user, project


def _grant_consent(speakers):
    """Give every seeded speaker a live grant for every purpose, so the consent filter has real work to do."""
    from apps.consent.services import consents_grant_bulk

    consents_grant_bulk(speakers=speakers)


def measure(client, url, n):
    times, queries = [], 0
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _i in range(n):
        connection.queries_log.clear()  # the log is a bounded deque; a full one miscounts
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.content[:300]
        queries = len(ctx.captured_queries)
    return times, queries, response


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--recordings", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    url = os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/earmark_bench")
    ensure_database(url)
    setup_django()
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    start = time.perf_counter()
    user, project = seed(args.recordings)
    print(f"{args.recordings:,} recordings ready in {time.perf_counter() - start:.1f} s (PostgreSQL)")
    client = Client()
    client.force_login(user)
    base = f"/api/v1/projects/{project.id}/recordings/"
    first = client.get(base + "?page_size=100").json()
    cursor = first["next"]
    for _ in range(50):  # walk 50 pages deep
        cursor = client.get(cursor).json()["next"]
    deep = cursor.replace("http://testserver", "")
    cases = [
        ("earmark first page", base + "?page_size=100"),
        ("earmark filtered (lang+duration)", base + "?page_size=100&language=de&min_duration=10"),
        ("earmark page 50 (cursor)", deep),
        ("naive DRF first page", f"/bench/naive-list/{project.id}/"),
        ("naive DRF page 50 (offset)", f"/bench/naive-list/{project.id}/?page=50"),
    ]
    results = {label: [] for label, _ in cases}
    queries = {}
    for _label, path in cases:
        measure(client, path, 5)  # warm
    for _round in range(args.requests):  # interleaved: one request of each case per round, same load for all
        for label, path in cases:
            times, queries[label], _ = measure(client, path, 1)
            results[label] += times
    print(
        "all cases in-process (Django test client), interleaved\n"
        f"{'case':<36}{'latency over ' + str(args.requests) + ' requests':<52}{'queries':>8}"
    )
    for label, _ in cases:
        print(f"{label:<36}{summary(results[label]):<52}{queries[label]:>8}")
    from _common import percentile

    for a, b in (("first page", "first page"), ("page 50 (offset)", "page 50 (cursor)")):
        naive, ours = results[f"naive DRF {a}"], results[f"earmark {b}"]
        print(
            f"naive DRF {a} / earmark {b}: p50 {percentile(naive, 50) / percentile(ours, 50):.2f}x, "
            f"p95 {percentile(naive, 95) / percentile(ours, 95):.2f}x"
        )
    print("target: earmark p95 < 50 ms.")


if __name__ == "__main__":
    main()
