"""A team's load on the production shape (scripts/prod_local.sh), driven by Locust headless.

    .venv/bin/python benchmarks/load.py                     # start the shape, seed, 10/50/100 users, 45 s each
    .venv/bin/python benchmarks/load.py --users 50 --seconds 30 --runs 3   # the same level three times (RSS flat?)

The mix (weights per simulated person): annotators (6) list and filter recordings, open an item as the annotator
does (queue next without the queue counts, whose answer embeds the recording's first peaks, then the first audio
range: one "item open (next+audio)" entry timed end to end; a peaks request only when the answer came without them,
before processing has finished; then, as the page does once the item is drawn, the queue counts), autosave edits
every few seconds and submit; reviewers (2) take the next submitted annotation and accept it; a manager (1) lists
and uploads small batches (5 clips) that queue processing on the nodes. Prints per endpoint: requests/s,
p50/p95/p99, errors; and the RSS of gunicorn (all its processes) and of each worker node before and after every run;
the CPU seconds each piece used and the seconds it waited for a core during the run; how many PostgreSQL sessions
were active and waiting on a lock (sampled); each piece's nice and autogroup (scripts/prod_local.sh's
EARMARK_WORKER_NICE). Never pass/fail: compare with README "Load (production shape)".
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

import gevent
from locust import HttpUser, between, task
from locust.env import Environment

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "prod_local.sh"
sys.path.insert(0, str(ROOT))  # apps.catalog.demo for the uploaded clips
STATE: dict = {}


def _clip(seed: int) -> bytes:
    from apps.catalog.demo import demo_clip  # numpy and soundfile only: speech-like bursts that pass audio QA

    return demo_clip(seed, seconds=2.0)


class Person(HttpUser):
    abstract = True
    role = "annotators"

    def on_start(self):
        # One account per simulated annotator or reviewer: two people on one account would share its open item
        # and fight over its version (409s that a real team never sees).
        tokens = STATE["tokens"][self.role]
        if isinstance(tokens, list):
            STATE.setdefault("next", {}).setdefault(self.role, 0)
            token = tokens[STATE["next"][self.role] % len(tokens)]
            STATE["next"][self.role] += 1
        else:
            token = tokens
        self.client.headers["Authorization"] = f"Token {token}"
        self.project = STATE["project_id"]

    def list_recordings(self):
        query = random.choice(["", "?status=ready", "?speaker=spk1", "?min_duration=0.5"])
        self.client.get(f"/api/v1/projects/{self.project}/recordings/{query}", name="list recordings")


class Annotator(Person):
    weight = 6
    wait_time = between(1, 3)
    role = "annotators"
    item: dict | None = None

    @task(2)
    def browse(self):
        self.list_recordings()

    @task(2)
    def open_item(self):
        started = time.perf_counter()
        with self.client.post(
            f"/api/v1/projects/{self.project}/queue/next/?progress=false", name="queue next", catch_response=True
        ) as res:
            if res.status_code == 204:
                res.success()
                self.item = None
                return
            if res.status_code != 200:
                res.failure(f"{res.status_code}")
                return
            body = res.json()
        rec = body["recording"]["id"]
        if body.get("peaks") is None:  # not processed yet: the annotator asks the peaks endpoint (and waits)
            self.client.get(f"/api/v1/recordings/{rec}/peaks", name="peaks (not embedded)")
        self.client.get(f"/api/v1/recordings/{rec}/audio", headers={"Range": "bytes=0-65535"}, name="audio range")
        # The whole opening, timed as one entry beside its parts.
        self.environment.events.request.fire(
            request_type="ITEM",
            name="item open (next+audio)",
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=None,
            context={},
        )
        # What the page asks once the item is drawn and playable (frontend/src/main.js, _loadExtras).
        self.client.get(f"/api/v1/projects/{self.project}/queue/progress/", name="queue progress")
        ann = body["annotation"]
        self.item = {"id": ann["id"], "version": ann.get("version", 0), "regions": []}

    @task(5)
    def autosave(self):
        if not self.item:
            return
        n = len(self.item["regions"])
        self.item["regions"].append(
            {
                "id": f"r{n}",
                "start": 0.05 * n,
                "end": 0.05 * n + 0.04,
                "channel": None,
                "label": STATE["label"],
                "text": f"word {n}",
                "attributes": {},
                "fmin": None,
                "fmax": None,
            }
        )
        body = {"version": self.item["version"], "regions": self.item["regions"][-8:], "clip_labels": []}
        with self.client.put(
            f"/api/v1/annotations/{self.item['id']}/", json=body, name="autosave", catch_response=True
        ) as res:
            if res.status_code == 200:
                self.item["version"] = res.json().get("version", self.item["version"] + 1)
            else:
                res.failure(f"{res.status_code} {res.text[:120]}")
                self.item = None

    @task(1)
    def submit(self):
        if not self.item or not self.item["regions"]:
            return
        self.client.post(
            f"/api/v1/annotations/{self.item['id']}/submit/", json={"version": self.item["version"]}, name="submit"
        )
        self.item = None


class Reviewer(Person):
    weight = 2
    wait_time = between(2, 5)
    role = "reviewers"

    @task
    def review(self):
        res = self.client.post(f"/api/v1/projects/{self.project}/review/next/", name="review next")
        if res.status_code == 200:
            ann = res.json()["annotation"]["id"]
            self.client.post(f"/api/v1/annotations/{ann}/review/", json={"decision": "accept"}, name="review accept")

    @task
    def browse(self):
        self.list_recordings()


class Manager(Person):
    weight = 1
    wait_time = between(3, 6)
    role = "manager"

    @task(3)
    def browse(self):
        self.list_recordings()

    @task(1)
    def upload(self):
        STATE["seed"] += 5
        files = [("files", (f"l{s}.wav", _clip(s), "audio/wav")) for s in range(STATE["seed"], STATE["seed"] + 5)]
        self.client.post(f"/api/v1/projects/{self.project}/recordings/", files=files, name="upload batch (5)")


def _group_files(pgid: int, name: str):
    """The text of /proc/<pid>/<name> for each live process of one process group (gone ones skipped)."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.getpgid(int(pid)) == pgid:
                with open(f"/proc/{pid}/{name}") as fh:
                    yield fh.read()
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue


def _rss_mb(pgid: int) -> float:
    total = 0
    for status in _group_files(pgid, "status"):
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS")), 0)
    return total / 1024


def _cpu_s(pgid: int) -> float:
    """CPU seconds (user + system) the live processes of one process group have used so far."""
    total = 0
    for stat in _group_files(pgid, "stat"):
        fields = stat.rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def _waited_s(pgid: int) -> float:
    """Seconds the threads of one process group's live processes have spent runnable but waiting for a core (the
    scheduler's run-queue delay, /proc/<pid>/task/<tid>/schedstat's second field): CPU starvation, as opposed to
    waiting on a lock, a socket or a disk, which is not counted there."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.getpgid(int(pid)) != pgid:
                continue
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/schedstat") as fh:
                    total += int(fh.read().split()[1])
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue
    return total / 1e9


def _cpu(folder: Path, measure=_cpu_s) -> dict[str, float]:
    """CPU seconds so far per piece of the shape, and of this process (Locust's simulated users); with
    ``measure=_waited_s``, the seconds each piece waited for a core instead (no figure for Locust)."""
    pieces = {}
    for name in ("web", "node1", "node2", "s3", "beat"):
        try:
            pieces[name] = measure(int((folder / "pids" / f"{name}.pid").read_text()))
        except (FileNotFoundError, ValueError):
            continue
    if measure is not _cpu_s:
        return pieces
    usage = resource.getrusage(resource.RUSAGE_SELF)
    pieces["locust"] = usage.ru_utime + usage.ru_stime
    return pieces


def _priorities(folder: Path) -> dict[str, str]:
    """Each piece's nice value and its session's autogroup (scripts/prod_local.sh's EARMARK_WORKER_NICE)."""
    found = {}
    for name in ("web", "node1", "node2", "beat"):
        try:
            pid = int((folder / "pids" / f"{name}.pid").read_text())
            nice = os.getpriority(os.PRIO_PROCESS, pid)
            autogroup = (
                Path(f"/proc/{pid}/autogroup").read_text().strip() if Path(f"/proc/{pid}/autogroup").exists() else "-"
            )
            found[name] = f"{nice}, {autogroup}"
        except (FileNotFoundError, ValueError, ProcessLookupError):
            continue
    return found


def _rss(folder: Path) -> dict[str, float]:
    return {
        name: round(_rss_mb(int((folder / "pids" / f"{name}.pid").read_text())), 1)
        for name in ("web", "node1", "node2")
    }


class _DatabaseWaits:
    """What the shape's PostgreSQL sessions were doing, sampled every ``every`` s during a run: how often a
    session waited on a lock (row locks of concurrent claims, foreign-key checks), and on which statement. A
    greenlet beside Locust's users; one short query per sample."""

    def __init__(self, url: str, every: float = 0.2):
        self.url, self.every, self.samples = url.replace("postgres://", "postgresql://"), every, 0
        self.active = 0
        self.locks: dict[str, int] = {}
        self._stop = False

    def run(self):
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop:
                rows = conn.execute(
                    "SELECT wait_event_type, left(regexp_replace(query, '\\s+', ' ', 'g'), 70) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()"
                ).fetchall()
                self.samples += 1
                self.active += len(rows)
                for kind, query in rows:
                    if kind == "Lock":
                        self.locks[query] = self.locks.get(query, 0) + 1
                gevent.sleep(self.every)

    def summary(self) -> str:
        waited = sum(self.locks.values())
        top = sorted(self.locks.items(), key=lambda kv: -kv[1])[:3]
        return (
            f"PostgreSQL over {self.samples} samples: {self.active / max(self.samples, 1):.2f} active sessions on "
            f"average, {waited / max(self.samples, 1):.3f} waiting on a lock"
            + "".join(f"\n         lock wait x{n}: {query}" for query, n in top)
        )


def _run(users: int, seconds: int, host: str, db_waits: _DatabaseWaits | None = None) -> dict:
    env = Environment(user_classes=[Annotator, Reviewer, Manager], host=host)
    runner = env.create_local_runner()
    sampler = gevent.spawn(db_waits.run) if db_waits else None
    runner.start(users, spawn_rate=max(users / 5, 1))
    gevent.sleep(seconds)
    runner.quit()
    if sampler:
        db_waits._stop = True
        sampler.join(timeout=5)
    rows = {}
    for (name, _method), entry in sorted(env.stats.entries.items()):
        rows[name] = {
            "requests": entry.num_requests,
            "rps": round(entry.num_requests / seconds, 1),
            "p50": entry.get_response_time_percentile(0.5),
            "p95": entry.get_response_time_percentile(0.95),
            "p99": entry.get_response_time_percentile(0.99),
            "errors": entry.num_failures,
        }
    total = env.stats.total
    for error in env.stats.errors.values():
        print(f"       error x{error.occurrences}: {error.method} {error.name}: {str(error.error)[:160]}")
    rows["TOTAL"] = {
        "requests": total.num_requests,
        "rps": round(total.num_requests / seconds, 1),
        "p50": total.get_response_time_percentile(0.5),
        "p95": total.get_response_time_percentile(0.95),
        "p99": total.get_response_time_percentile(0.99),
        "errors": total.num_failures,
    }
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[10, 50, 100])
    parser.add_argument("--seconds", type=int, default=45)
    parser.add_argument("--runs", type=int, default=1, help="runs per user level (RSS across consecutive runs)")
    parser.add_argument("--recordings", type=int, default=300, help="clips seeded for the queue")
    parser.add_argument("--keep", action="store_true", help="leave the shape running afterwards")
    parser.add_argument("--people", type=int, default=80, help="annotator and reviewer accounts, each (0: 80)")
    parser.add_argument(
        "--web",
        nargs="*",
        default=[],
        metavar="WxT",
        help="gunicorn workers x threads to compare (e.g. 3x4 2x8 6x2): web restarted with each, then the runs",
    )
    args = parser.parse_args()

    folder = Path(os.environ.setdefault("EARMARK_PROD_DIR", str(ROOT / "var" / "prod-load")))
    os.environ.setdefault("EARMARK_PROD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/earmark_load")
    port = os.environ.setdefault("EARMARK_PROD_WEB_PORT", "8810")
    host = f"http://127.0.0.1:{port}"
    _fresh_database(os.environ["EARMARK_PROD_DATABASE_URL"])
    print(f"starting the production shape in {folder} ...", flush=True)
    subprocess.run([str(SCRIPT), "start"], check=True)
    try:
        seed = subprocess.run(
            [
                str(SCRIPT),
                "py",
                "benchmarks/prod_seed.py",
                "--recordings",
                str(args.recordings),
                "--people",
                str(args.people or 80),
                "--seed",
                str(int(time.time())),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        STATE.update(json.loads(seed.stdout.strip().splitlines()[-1]))
        STATE["seed"] = int(time.time() * 10)
        import requests

        auth = {"Authorization": f"Token {STATE['tokens']['manager']}"}
        labels = requests.get(f"{host}/api/v1/projects/{STATE['project_id']}/labels/", headers=auth, timeout=30).json()
        STATE["label"] = labels["region_labels"][0]["id"]
        print(f"waiting for {args.recordings} seeded clips to be processed ...", flush=True)
        import psycopg

        db = os.environ["EARMARK_PROD_DATABASE_URL"].replace("postgres://", "postgresql://")
        deadline = time.monotonic() + 1800
        while time.monotonic() < deadline:
            with psycopg.connect(db, autocommit=True) as conn:
                active = conn.execute(
                    "SELECT count(*) FROM processing_processingjob WHERE status IN ('queued', 'running')"
                ).fetchone()[0]
            if not active:
                break
            time.sleep(5)
        print(f"CPU priority (nice, autogroup): {_priorities(folder)}")
        print("users  run  endpoint                          req/s    p50    p95    p99  errors")
        for web in args.web or [None]:
            if web:
                workers, threads = web.split("x")
                os.environ.update(GUNICORN_WORKERS=workers, GUNICORN_THREADS=threads)
                subprocess.run([str(SCRIPT), "restart-web"], check=True, capture_output=True)
                print(f"--- gunicorn {workers} workers x {threads} threads", flush=True)
            _levels(args, folder, host)
    finally:
        if not args.keep:
            subprocess.run([str(SCRIPT), "stop"], check=False)


def _fresh_database(url: str) -> None:
    """Every run seeds its own database: the shape's S3 (moto) keeps objects in memory only, so rows left by an
    earlier run would name objects that no longer exist (a queue full of 404s and 500s)."""
    import psycopg

    base, name = url.replace("postgres://", "postgresql://").rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _levels(args, folder: Path, host: str) -> None:
    for users in args.users:
        for run in range(1, args.runs + 1):
            before, cpu_before, waited_before = _rss(folder), _cpu(folder), _cpu(folder, _waited_s)
            db_waits = _DatabaseWaits(os.environ["EARMARK_PROD_DATABASE_URL"])
            rows = _run(users, args.seconds, host, db_waits)
            after, cpu_after, waited_after = _rss(folder), _cpu(folder), _cpu(folder, _waited_s)
            for name, row in rows.items():
                print(
                    f"{users:5d}  {run:3d}  {name:32s} {row['rps']:6.1f} {row['p50']:6.0f} {row['p95']:6.0f} "
                    f"{row['p99']:6.0f}  {row['errors']:5d}"
                )
            print(f"       RSS MB before {before}  after {after}")
            # Where the machine's CPU went during the run (the web's share is what the requests cost).
            spent = {name: round(cpu_after[name] - cpu_before.get(name, 0.0), 1) for name in cpu_after}
            print(f"       CPU s during the run {spent}  load average {os.getloadavg()[0]:.1f}", flush=True)
            # Time runnable but without a core: how much the others on the machine (the nodes, or anything else)
            # starved each piece. A web figure near or above its CPU figure means requests queued for a core.
            waited = {name: round(waited_after[name] - waited_before.get(name, 0.0), 1) for name in waited_after}
            print(f"       waited for a core, s {waited}")
            print(f"       {db_waits.summary()}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
