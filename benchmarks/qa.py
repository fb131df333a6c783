"""QA-check throughput (audio seconds per CPU second) and the dashboard at 10,000 recordings.

Run from the repository root:  python -m benchmarks.qa   (or  python benchmarks/qa.py)
Options: --skip-dashboard, --dashboard-only, --recordings N (default 10,000).
The dashboard part needs a database: DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/earmark_bench_review, created if missing); it bulk-seeds
recordings, speakers, QA results, annotations and regions once and reuses them on later runs.

Measures ``qa_measure`` + ``fingerprint`` on 200 ten-second 16 kHz clips and
prints the figure beside a baseline taken in the same run: pyloudnorm's
integrated loudness alone on the same clips (the one library measurement every
QA pass needs), so a slow machine shows up in both columns.  Prints figures;
never passes or fails on time.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pyloudnorm  # noqa: E402

from apps.processing.dsp.fingerprint import fingerprint  # noqa: E402
from apps.processing.dsp.qa import qa_flags, qa_measure  # noqa: E402


def _clips(n_clips: int, seconds: float, sr: int, seed: int = 0) -> list[np.ndarray]:
    """Speech-like clips: tone and noise bursts with pauses, some noisy, some clipped."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    clips = []
    for i in range(n_clips):
        y = np.zeros(n)
        position = 0
        while position < n:
            length = int(rng.uniform(0.1, 0.35) * sr)
            t = np.arange(length) / sr
            f = rng.uniform(120, 1200)
            burst = np.sin(2 * np.pi * f * t) + 0.4 * np.sin(2 * np.pi * 2.7 * f * t)
            burst *= np.hanning(length) * rng.uniform(0.1, 0.6)
            y[position : position + length] += burst[: n - position]
            position += length + int(rng.uniform(0.05, 0.3) * sr)
        y += rng.standard_normal(n) * (0.05 if i % 5 == 0 else 1e-3)
        if i % 7 == 0:
            y = np.clip(y * 3, -1, 1)
        clips.append(y.astype(np.float32))
    return clips


def measure_qa_throughput(n_clips: int = 200, clip_seconds: float = 10.0, sr: int = 16000) -> dict[str, float]:
    """Run QA + fingerprint on synthetic clips; return throughput figures.

    Keys: ``audio_seconds``; ``qa_cpu_s``, ``fingerprint_cpu_s``, ``total_cpu_s``
    (process CPU time); ``audio_s_per_cpu_s`` (QA + fingerprint) and
    ``baseline_audio_s_per_cpu_s`` (pyloudnorm integrated loudness alone);
    ``wall_s``.
    """
    clips = _clips(n_clips, clip_seconds, sr)
    audio_seconds = n_clips * clip_seconds
    # warm caches (filter design, FFT plans, resampler) outside the timing
    qa_measure(clips[0], sr)
    fingerprint(clips[0], sr)

    start = time.process_time()
    for y in clips:
        meter = pyloudnorm.Meter(sr)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            meter.integrated_loudness(y.astype(np.float64))
    baseline_cpu = time.process_time() - start

    wall = time.perf_counter()
    start = time.process_time()
    for y in clips:
        qa_flags(qa_measure(y, sr))
    qa_cpu = time.process_time() - start
    start = time.process_time()
    for y in clips:
        fingerprint(y, sr).to_bytes()
    fp_cpu = time.process_time() - start
    wall = time.perf_counter() - wall

    total = qa_cpu + fp_cpu
    return {
        "audio_seconds": audio_seconds,
        "qa_cpu_s": qa_cpu,
        "fingerprint_cpu_s": fp_cpu,
        "total_cpu_s": total,
        "audio_s_per_cpu_s": audio_seconds / total if total else float("inf"),
        "baseline_audio_s_per_cpu_s": audio_seconds / baseline_cpu if baseline_cpu else float("inf"),
        "wall_s": wall,
    }


def _qa_main() -> None:
    result = measure_qa_throughput()
    print(f"QA throughput on {result['audio_seconds']:.0f} s of 16 kHz audio (200 x 10 s clips)")
    print(f"{'measurement':<38}{'CPU s':>10}{'audio s / CPU s':>18}")
    rows = [
        ("qa_measure + qa_flags", result["qa_cpu_s"]),
        ("fingerprint + to_bytes", result["fingerprint_cpu_s"]),
        ("QA total (qa + fingerprint)", result["total_cpu_s"]),
    ]
    for name, cpu in rows:
        print(f"{name:<38}{cpu:>10.2f}{result['audio_seconds'] / cpu:>18.0f}")
    baseline_cpu = result["audio_seconds"] / result["baseline_audio_s_per_cpu_s"]
    print(
        f"{'baseline: pyloudnorm loudness alone':<38}{baseline_cpu:>10.2f}{result['baseline_audio_s_per_cpu_s']:>18.0f}"
    )
    print(f"wall time for QA total: {result['wall_s']:.2f} s")


# ---------------------------------------------------------------------------------------------- dashboard


def _ensure_database(url: str) -> None:
    if not url.startswith("postgres"):
        return
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _seed_dashboard(n: int):
    """A project with ``n`` recordings, 400 speakers, QA results over 30 days, 5 annotators' work."""
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from apps.accounts.models import Membership
    from apps.annotation.models import Annotation, Label, Region
    from apps.catalog.models import Language, Project, Recording, Speaker
    from apps.catalog.services import project_create
    from apps.consent.services import consents_grant_bulk
    from apps.review.models import QA_FLAGS, QAResult

    users = get_user_model().objects
    manager = users.filter(username="bench-qa-manager").first() or users.create_user(
        "bench-qa-manager", password="bench-password-1"
    )
    project = Project.objects.filter(name=f"bench-dashboard-{n}").first()
    if project is not None:
        return manager, project
    project = project_create(name=f"bench-dashboard-{n}", created_by=manager)
    annotators = [users.get_or_create(username=f"bench-ann-{i}")[0] for i in range(5)]
    Membership.objects.bulk_create([Membership(user=u, project=project, role="annotator") for u in annotators])
    langs = [Language.objects.get_or_create(tag=t)[0] for t in ("en", "de", "fr", "sw", "yo")]
    genders, ages = ["female", "male", "non-binary", ""], ["18-29", "30-44", "45-59", "60+", ""]
    Speaker.objects.bulk_create(
        [Speaker(project=project, code=f"s{i:04d}", gender=genders[i % 4], age_band=ages[i % 5]) for i in range(400)]
    )
    speakers = list(Speaker.objects.filter(project=project))
    consents_grant_bulk(speakers=speakers)
    rng = np.random.default_rng(0)
    durations = np.clip(rng.lognormal(2.0, 0.9, n), 0.5, 3000)
    rows = []
    for i in range(n):
        sha = f"{project.id:08x}{i:056x}"
        rows.append(
            Recording(
                project=project,
                speaker=speakers[i % len(speakers)],
                language=langs[i % len(langs)],
                original_key=f"originals/{sha[:2]}/{sha}.wav",
                original_name=f"clip{i}.wav",
                sha256=sha,
                container="wav",
                codec="PCM_16",
                sample_rate=16000,
                channels=1,
                frames=int(durations[i] * 16000),
                duration=float(durations[i]),
                bytes=1000,
                status=("ready", "ready", "ready", "ingested", "failed")[i % 5],
            )
        )
    Recording.objects.bulk_create(rows, batch_size=2000)
    recs = list(Recording.objects.filter(project=project).order_by("id").values_list("id", "duration"))
    now = timezone.now()
    qa_rows = []
    for _j, (rid, dur) in enumerate(recs):
        flags = [f for f, p in zip(QA_FLAGS, (0.04, 0.08, 0.12, 0.02, 0.05, 0.03, 0.01, 0.02)) if rng.random() < p]
        qa_rows.append(
            QAResult(
                recording_id=rid,
                project=project,
                duration_s=dur,
                snr_db=float(rng.uniform(5, 60)),
                flags="," + ",".join(flags) + "," if flags else "",
                flagged=bool(flags),
            )
        )
    QAResult.objects.bulk_create(qa_rows, batch_size=2000)
    for day in range(30):  # spread QA over a month
        QAResult.objects.filter(project=project, recording_id__in=[r for r, _ in recs[day::30]]).update(
            computed_at=now - timedelta(days=day)
        )
    speech, noise = (Label.objects.create(project=project, kind="region", name=name) for name in ("speech", "noise"))
    statuses = rng.choice(["submitted", "accepted", "rejected", "in_progress"], size=n, p=[0.3, 0.5, 0.1, 0.1])
    annotations = [
        Annotation(
            project=project,
            recording_id=rid,
            annotator=annotators[(j + k) % 5],
            status=statuses[(j + k) % n],
            version=3,
            submitted_at=now - timedelta(days=j % 30),
        )
        for j, (rid, _) in enumerate(recs[: n // 3])
        for k in range(1 + (j % 4 == 0))
    ]
    Annotation.objects.bulk_create(annotations, batch_size=2000)
    regions = [
        Region(
            annotation=a,
            uid=f"r{m}",
            start=m * 0.3 + jitter,
            end=m * 0.3 + 0.25,
            label=speech if m % 3 else noise,
            text="hello" if m % 2 else "",
        )
        for a in Annotation.objects.filter(project=project).only("id", "annotator_id")
        for jitter in [0.02 * (a.annotator_id % 5)]
        for m in range(3)
    ]
    Region.objects.bulk_create(regions, batch_size=5000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    return manager, project


def _baseline_dashboard(manager, project_id: int) -> dict:
    """The usual first version: load the rows into Python and count there (select_related, no N+1)."""
    from collections import Counter, defaultdict

    from apps.annotation.models import Annotation, Region
    from apps.consent.purposes import Purpose
    from apps.consent.selectors import recordings_usable
    from apps.review.models import QA_FLAGS, QAResult

    recs = list(
        recordings_usable(manager, Purpose.STORE).filter(project_id=project_id).select_related("speaker", "language")
    )
    ids = {r.id for r in recs}
    status, langs, genders, ages, hist = Counter(), Counter(), Counter(), Counter(), Counter()
    for r in recs:
        status[r.status] += r.duration / 3600
        langs[r.language.tag if r.language else ""] += r.duration / 3600
        genders[r.speaker.gender if r.speaker else ""] += r.duration / 3600
        ages[r.speaker.age_band if r.speaker else ""] += r.duration / 3600
        hist[int(np.searchsorted([0, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600], r.duration, "right"))] += 1
    flags = defaultdict(Counter)
    for q in QAResult.objects.filter(project_id=project_id):
        if q.recording_id in ids:
            for f in QA_FLAGS:
                if f",{f}," in q.flags:
                    flags[q.computed_at.date()][f] += 1
    anns = [
        a for a in Annotation.objects.filter(project_id=project_id).select_related("annotator") if a.recording_id in ids
    ]
    per_annotator = Counter((a.annotator.username, a.status) for a in anns)
    ann_ids = {a.id for a in anns}
    labels = Counter(
        r.label_id for r in Region.objects.filter(annotation__project_id=project_id) if r.annotation_id in ann_ids
    )
    return {"status": status, "flags": flags, "annotators": per_annotator, "labels": labels, "hist": hist}


def _timed(fn, repeats: int):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times = []
    for _ in range(repeats):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2], len(ctx.captured_queries)


def _dashboard_main(n: int, repeats: int) -> None:
    import os

    try:
        from benchmarks._common import setup_django
    except ImportError:  # run as a script from benchmarks/
        from _common import setup_django

    url = os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/earmark_bench_review")
    _ensure_database(url)
    setup_django()
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    start = time.perf_counter()
    manager, project = _seed_dashboard(n)
    print(
        f"\nDashboard at {n:,} recordings ({url.split('://')[0]}; seeded/reused in {time.perf_counter() - start:.1f} s)"
    )
    from apps.review.dashboard import dashboard_data

    client = Client()
    client.force_login(manager)
    page = f"/projects/{project.id}/dashboard/"
    from django.core.cache import cache

    assert client.get(page).status_code == 200  # warm (matplotlib import, fonts)

    def cold():
        cache.clear()  # no cached charts or agreement: everything computed and drawn
        assert client.get(page).status_code == 200

    cold_s, cold_q = _timed(cold, repeats)
    page_s, page_q = _timed(lambda: client.get(page), repeats)
    data_s, data_q = _timed(lambda: dashboard_data(actor=manager, project_id=project.id), repeats)
    base_s, base_q = _timed(lambda: _baseline_dashboard(manager, project.id), repeats)
    print(f"{'measurement (median of ' + str(repeats) + ')':<52}{'time':>10}{'queries':>10}")
    print(f"{'earmark dashboard page, cold (agreement + 11 charts)':<52}{cold_s * 1000:>8.0f}ms{cold_q:>10}")
    print(f"{'earmark dashboard page, charts/agreement cached':<52}{page_s * 1000:>8.0f}ms{page_q:>10}")
    print(f"{'earmark dashboard data (aggregated in the DB)':<52}{data_s * 1000:>8.0f}ms{data_q:>10}")
    print(f"{'baseline: same figures counted in Python':<52}{base_s * 1000:>8.0f}ms{base_q:>10}")
    print(f"data ratio baseline / earmark: {base_s / data_s:.1f}x")


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-dashboard", action="store_true")
    parser.add_argument("--dashboard-only", action="store_true")
    args = parser.parse_args()
    if not args.dashboard_only:
        _qa_main()
    if not args.skip_dashboard:
        _dashboard_main(args.recordings, args.repeats)


if __name__ == "__main__":
    main()
