"""A real Celery worker process for integration tests (Redis broker; mandatory in CI).

Usage::

    pytestmark = [pytest.mark.services, pytest.mark.xdist_group("worker")]

    def test_x(live_worker):        # needs transactional_db: the worker reads committed rows
        worker = live_worker()      # start after configuring storage (local or s3_storage)
        ...; worker.wait_for(lambda: ..., timeout=60); worker.kill()  # SIGKILL mid-job
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import redis_url, require_service

ROOT = Path(__file__).resolve().parent.parent


def _storage_env(settings) -> dict:
    default = settings.STORAGES["default"]
    opts = default.get("OPTIONS", {})
    if default["BACKEND"].endswith("S3Storage"):
        return {
            "EARMARK_STORAGE": "s3",
            "AWS_STORAGE_BUCKET_NAME": opts["bucket_name"],
            "AWS_S3_ENDPOINT_URL": opts["endpoint_url"],
            "AWS_ACCESS_KEY_ID": opts["access_key"],
            "AWS_SECRET_ACCESS_KEY": opts["secret_key"],
            "AWS_S3_REGION_NAME": opts.get("region_name") or "us-east-1",
        }
    return {"EARMARK_STORAGE": "local", "MEDIA_ROOT": opts["location"]}


def _database_url(connection) -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class WorkerProcess:
    def __init__(self, env: dict, log: Path, queues: str, extra: list[str] | None = None):
        self.log = log
        self._fh = open(log, "wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-Q",
                queues,
                "-c",
                "1",
                "-P",
                "prefork",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "INFO",
                "-n",
                f"test-{os.getpid()}@%h",
                *(extra or []),
            ],
            cwd=ROOT,
            env=env,
            stdout=self._fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_for(lambda: b" ready." in log.read_bytes(), timeout=120, what="the worker to start")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, predicate, *, timeout=60.0, what="the condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"worker exited ({self.proc.returncode}) while waiting for {what}:\n{self.output()[-4000:]}"
                )
            time.sleep(0.2)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}:\n{self.output()[-4000:]}")

    def kill(self):
        """SIGKILL the whole worker (main process and its pool children), as a crashed machine would."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self._fh.close()


def _reset_pools(app):
    # Connections made before the broker changed must not be reused.
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None
    # app.pool lives in kombu's global registry: drop the closed one, or the next test's publish
    # fails with "Acquire on closed pool".
    from kombu import pools

    pools.reset()


def _worker_factory(settings, tmp_path, *, url: str, transport_options: dict):
    """Point this process's Celery app at ``url`` and yield a factory of worker processes on the same broker."""
    from django.db import connection

    from config.celery import app

    # The app in this process must publish to the same broker instead of running tasks eagerly.
    changed = {"task_always_eager": False, "broker_url": url, "broker_transport_options": transport_options}
    saved = {key: app.conf.get(key) for key in changed}
    app.conf.update(changed)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    _reset_pools(app)
    if url.startswith("redis://"):
        with app.connection_for_write() as conn:
            for queue in ("default", "dsp", "exports", "events", "train"):
                conn.default_channel.client.delete(queue)
    workers = []

    def start(queues="default,dsp,exports,events", *, beat: bool = False, env: dict | None = None) -> WorkerProcess:
        """A worker on ``queues``; ``beat`` embeds the beat scheduler (the sweepers), as `make run` does."""
        worker_env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "SECRET_KEY": settings.SECRET_KEY,
            "DATABASE_URL": _database_url(connection),
            "CELERY_BROKER_URL": url,
            "CELERY_VISIBILITY_TIMEOUT": "30",
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "EARMARK_VAR_DIR": str(tmp_path / "var"),
            "NUMBA_CACHE_DIR": str(ROOT / "var" / "numba-cache"),
            "EARMARK_PURGE_GRACE_DAYS": str(settings.EARMARK_PURGE_GRACE_DAYS),
            "EARMARK_WEBHOOK_ALLOW_HOSTS": ",".join(settings.EARMARK_WEBHOOK_ALLOW_HOSTS),
            "EARMARK_WEBHOOK_RETRY_BASE_SECONDS": str(settings.EARMARK_WEBHOOK_RETRY_BASE_SECONDS),
            "EARMARK_IMPORT_ROOTS": ",".join(str(r) for r in settings.EARMARK_IMPORT_ROOTS),
            **_storage_env(settings),
            **(env or {}),
        }
        extra = ["-B", "--schedule", str(tmp_path / f"beat-schedule{len(workers)}")] if beat else []
        worker = WorkerProcess(worker_env, tmp_path / f"worker{len(workers)}.log", queues, extra=extra)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()
    app.conf.update(saved)
    _reset_pools(app)


@pytest.fixture
def live_worker(transactional_db, settings, tmp_path, monkeypatch):
    """Factory: start real worker processes on Redis, sharing this test's database and storage."""
    url = redis_url()
    require_service("Redis", url is not None)
    yield from _worker_factory(settings, tmp_path, url=url, transport_options={"visibility_timeout": 30})


@pytest.fixture
def live_worker_filesystem(transactional_db, settings, tmp_path, monkeypatch):
    """Factory: real worker processes on kombu's filesystem broker (the embedded default's), in a folder of this
    test's own. Needs no service: this is the broker `make run` uses."""
    # Celery reads CELERY_BROKER_URL from the environment before its configuration.
    monkeypatch.setenv("CELERY_BROKER_URL", "filesystem://")
    broker = tmp_path / "var" / "broker"
    folders = {"queue": broker / "queue", "processed": broker / "processed", "control": broker / "control"}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    options = {
        "data_folder_in": str(folders["queue"]),
        "data_folder_out": str(folders["queue"]),
        "processed_folder": str(folders["processed"]),
        "control_folder": str(folders["control"]),
        "store_processed": False,
    }
    yield from _worker_factory(settings, tmp_path, url="filesystem://", transport_options=options)
