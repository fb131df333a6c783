"""Autosave round-trip in-process: PUT /api/v1/annotations/{id}/ on the embedded default (SQLite).

Drives the real URL, middleware, session auth, view and service with Django's test client (no
network, no browser), so the figures are the server's share of the annotator's autosave. Each round
grows a document from 1 to 40 labelled regions, one region added per save (as the annotator page does),
with a clip label; 5 rounds = 200 saves. Earmark's lean path and the pre-tuning path
(benchmarks/_autosave_legacy.py, swapped in as the view's PUT) run on the same database, interleaved
round by round, each on its own annotation.

    .venv/bin/python benchmarks/autosave.py [--rounds 5] [--regions 40]
"""

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from _common import ROOT, percentile, setup_django
from annotator_load import write_speechy_wav

# The browser-side round-trip measured by benchmarks/annotator_load.py before this work (issue 4).
BROWSER_BEFORE = "p50 56-80 ms with 1..40 regions under load (annotator_load.py, headless Chromium, runserver)"


def seed():
    import numpy as np
    import soundfile as sf
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from apps.accounts.models import Membership
    from apps.annotation.models import Label
    from apps.annotation.services import queue_next
    from apps.catalog.services.ingest import recording_ingest
    from apps.catalog.services.projects import project_create

    call_command("migrate", verbosity=0)
    users = get_user_model().objects
    manager = users.create_user("bench-manager", password="bench-password-123")
    project = project_create(name="Autosave benchmark", created_by=manager)
    speech = Label.objects.create(project=project, kind="region", name="speech", hotkey="1")
    Label.objects.create(project=project, kind="region", name="noise", hotkey="2")
    clean = Label.objects.create(project=project, kind="clip", name="clean")
    items = {}
    for i, mode in enumerate(("legacy", "earmark")):
        annotator = users.create_user(f"bench-{mode}", password="bench-password-123")
        Membership.objects.create(user=annotator, project=project, role="annotator")
        path = Path(tempfile.mkstemp(suffix=".wav")[1])
        write_speechy_wav(path, 5 + i, np, sf)  # tone bursts that pass QA; lengths differ so files differ
        with open(path, "rb") as fh:
            result = recording_ingest(project=project, fileobj=fh, name=f"{mode}.wav", created_by=manager)
        path.unlink()
        if result.status != "accepted":
            raise SystemExit(f"seeding failed: {result}")
        found = queue_next(project_id=project.id, user=annotator)
        if found is None:
            raise SystemExit("seeding failed: the queue handed out nothing")
        items[mode] = {"user": annotator, "annotation": found[0].id, "version": 0}
    return items, speech.id, clean.id


def document(n: int, speech: int, clean: int, version: int) -> str:
    regions = [
        {
            "id": f"r{i}",
            "start": 0.1 * i,
            "end": 0.1 * i + 0.08,
            "channel": None,
            "label": speech,
            "text": f"word {i}",
            "attributes": {},
            "fmin": None,
            "fmax": None,
        }
        for i in range(n)
    ]
    return json.dumps({"version": version, "regions": regions, "clip_labels": [clean]})


def save(client, item, body: str):
    response = client.put(f"/api/v1/annotations/{item['annotation']}/", body, content_type="application/json")
    if response.status_code != 200:
        raise SystemExit(f"save failed: {response.status_code} {response.content[:300]!r}")
    item["version"] += 1
    return response


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--regions", type=int, default=40)
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="earmark-bench-autosave-")
    var = Path(tmp.name)
    for key in [k for k in os.environ if k.startswith(("DATABASE_", "EARMARK_", "CELERY_"))]:
        del os.environ[key]
    setup_django(
        "config.settings.base",
        EARMARK_VAR_DIR=str(var),
        EARMARK_ENV_FILE=str(var / "none.env"),
        DEBUG="false",
        ALLOWED_HOSTS="testserver",
        CELERY_TASK_ALWAYS_EAGER="true",
        NUMBA_CACHE_DIR=str(ROOT / "var" / "numba-cache"),
    )
    from _autosave_legacy import legacy_put
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from apps.annotation.views import AnnotationDetailView

    lean_put = AnnotationDetailView.put
    puts = {"legacy": legacy_put, "earmark": lean_put}
    print("Seeding (migrate, a project with labels, a 5- and a 6-second recording, processed)...", flush=True)
    items, speech, clean = seed()
    clients = {}
    for mode, item in items.items():
        clients[mode] = Client()
        clients[mode].force_login(item["user"])
    times = {mode: [] for mode in puts}
    queries = {mode: {} for mode in puts}
    for _ in range(args.rounds):
        for mode, put in puts.items():
            AnnotationDetailView.put = put
            item, client = items[mode], clients[mode]
            for n in range(1, args.regions + 1):
                body = document(n, speech, clean, item["version"])
                if n in (1, args.regions) and n not in queries[mode]:
                    with CaptureQueriesContext(connection) as captured:
                        save(client, item, body)
                    queries[mode][n] = len(captured.captured_queries)
                    continue
                started = time.perf_counter()
                save(client, item, body)
                times[mode].append((time.perf_counter() - started) * 1000)
    AnnotationDetailView.put = lean_put
    tmp.cleanup()

    load = os.getloadavg()
    print(
        f"\nmachine: {os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}; "
        f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[1]}"
    )
    print(
        f"Autosave PUT in-process (session auth, middleware, view, service, JSON), {args.rounds} rounds of "
        f"1..{args.regions} regions ({len(times['earmark'])} timed saves per path)"
    )
    print(f"{'path':<44} {'p50':>8} {'p95':>8} {f'queries/save (1 / {args.regions} regions)':>32}")
    label = {"legacy": "before (pre-tuning path, _autosave_legacy.py)", "earmark": "Earmark (lean save)"}
    for mode in puts:
        q = queries[mode]
        print(
            f"{label[mode]:<44} {percentile(times[mode], 50):>5.1f} ms {percentile(times[mode], 95):>5.1f} ms"
            f" {q[1]:>25} / {q[args.regions]}"
        )
    ratio50 = percentile(times["legacy"], 50) / percentile(times["earmark"], 50)
    ratio95 = percentile(times["legacy"], 95) / percentile(times["earmark"], 95)
    print(f"{'before / Earmark':<44} {ratio50:>6.1f}x {ratio95:>6.1f}x")
    print(f"context: the browser round-trip before this work was {BROWSER_BEFORE}")


if __name__ == "__main__":
    main()
