"""The production shape (scripts/prod_local.sh) started for tests: free ports, its own database and Redis db.

Usage::

    pytestmark = [pytest.mark.services, pytest.mark.xdist_group("prod_shape")]

    def test_x(prod_shape):
        prod_shape.api("manager").get("/api/v1/projects/")
        prod_shape.kill_node(1); prod_shape.start_node(1)
        prod_shape.sql("SELECT count(*) FROM processing_processingjob")

One shape per xdist worker that runs the group (session scope), stopped at the end of the session. The database
is ``<DATABASE_URL's name>_prodshape_<worker>`` (dropped and created afresh); the broker is EARMARK_PROD_BROKER_URL
or the next Redis db after CELERY_BROKER_URL's, flushed first. Withdrawn data is purged at once (grace 0). Short
leases (10 s) and sweeps (5 s) bound how long dead work waits; the visibility timeout (30 s) bounds how long a
message a killed node had taken before it claimed its job waits in Redis (production keeps an hour: see README
"Scaling out").
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import _port_open, redis_url, require_service

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "prod_local.sh"


# Ports for the shape's servers come from below Linux's ephemeral range (32768-60999): a port found free there
# and closed again could be handed to any outgoing connection (to PostgreSQL, Redis, the other test worker's)
# before the server that was meant to have it binds it, which once left a node's metrics server without its port.
_PORTS = range(20000, 32000)


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_ports(n: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < n:
        port = random.choice(_PORTS)
        if port not in ports and _bindable(port):
            ports.append(port)
    return ports


def _free_run(n: int) -> int:
    """A port p with p .. p + n - 1 all free now (prod_local.sh numbers the nodes' metrics ports from one base)."""
    for _ in range(200):
        base = random.choice(_PORTS[:-n])
        if all(_bindable(base + offset) for offset in range(n)):
            return base
    raise RuntimeError(f"no run of {n} free ports on 127.0.0.1")


def _postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        return url
    return "postgres://postgres@127.0.0.1:5432/earmark" if _port_open("127.0.0.1", 5432) else None


class ProdShape:
    def __init__(self, folder: Path, database_url: str, broker_url: str):
        web, s3 = _free_ports(2)
        metrics = _free_run(3)  # the shape serves node N's metrics on metrics + N
        self.folder = folder
        self.database_url = database_url
        self.broker_url = broker_url
        self.url = f"http://127.0.0.1:{web}"
        self.s3_url = f"http://127.0.0.1:{s3}"
        self.bucket = "earmark"
        self.metrics_port = metrics
        self.tokens: dict = {}
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("EARMARK_", "AWS_", "DJANGO_SETTINGS"))},
            "EARMARK_PROD_DIR": str(folder),
            "EARMARK_PROD_WEB_PORT": str(web),
            "EARMARK_PROD_S3_PORT": str(s3),
            "EARMARK_PROD_METRICS_PORT": str(metrics),
            "EARMARK_PROD_DATABASE_URL": database_url,
            "EARMARK_PROD_BROKER_URL": broker_url,
            "EARMARK_PROD_NUMBA_CACHE": str(ROOT / "var" / "numba-cache"),  # compiled code only, filled by conftest
            "GUNICORN_WORKERS": "2",
            "GUNICORN_THREADS": "4",
            # Barely below web: the tests' time bounds are for the nodes' work on a machine where other things
            # compete (at the default 10 the nodes' start alone outlasted wait_ready on the shared test machine);
            # load.py measures the priority's effect. Not 0, so the first test sees the priority set.
            "EARMARK_WORKER_NICE": "1",
            "EARMARK_PROD_EXTRA_ENV": " ".join(
                (
                    "EARMARK_LEASE_SECONDS=10",
                    "EARMARK_SWEEP_SECONDS=5",
                    "CELERY_VISIBILITY_TIMEOUT=30",
                    "EARMARK_PURGE_GRACE_DAYS=0",
                )
            ),
        }

    def run(self, *args: str, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(SCRIPT), *args],
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self) -> None:
        result = self.run("start", timeout=400)
        if result.returncode != 0:
            logs = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in self.folder.glob("*.log"))
            self.run("stop")
            raise AssertionError(f"prod_local.sh start failed:\n{result.stdout}\n{result.stderr}\n{logs}")

    def stop(self) -> None:
        self.run("stop", timeout=200)

    def kill_node(self, n: int) -> None:
        result = self.run("kill-node", str(n))
        assert result.returncode == 0, result.stderr

    def start_node(self, n: int) -> None:
        result = self.run("start-node", str(n))
        assert result.returncode == 0, result.stderr

    def seed(self, *args: str) -> dict:
        result = self.run("py", "benchmarks/prod_seed.py", *args, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        data = json.loads(result.stdout.strip().splitlines()[-1])
        self.tokens = data["tokens"]
        return data

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def group(self, name: str) -> int | None:
        pid = self.folder / "pids" / f"{name}.pid"
        return int(pid.read_text()) if pid.exists() else None

    def api(self, who: str = "manager", index: int = 0):
        import requests

        token = self.tokens[who] if who == "manager" else self.tokens[who][index]
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"
        session.base = self.url  # type: ignore[attr-defined]
        return session

    def sql(self, query: str, *params, database_url: str | None = None) -> list[tuple]:
        import psycopg

        url = (database_url or self.database_url).replace("postgres://", "postgresql://")
        with psycopg.connect(url, autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def s3(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.s3_url,
            region_name="us-east-1",
            aws_access_key_id="earmark",
            aws_secret_access_key="earmark-secret",
        )

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.s3().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))

    def wait_for(self, predicate, *, timeout: float, what: str, every: float = 1.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(every)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _fresh_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


@pytest.fixture(scope="session")
def prod_shape(tmp_path_factory, worker_id):
    """The production shape, started once per session (xdist worker), with its own database, Redis db and bucket."""
    pg = _postgres_url()
    redis = redis_url()
    require_service("PostgreSQL", pg is not None)
    require_service("Redis", redis is not None)
    parsed = urlparse(pg)
    name = f"{(parsed.path.lstrip('/') or 'earmark')}_prodshape_{worker_id}".replace("-", "_")
    admin = pg.rsplit("/", 1)[0] + "/postgres"
    _fresh_database(admin, name)
    _fresh_database(admin, f"{name}_restored")  # the backup-restore test restores a backup "elsewhere" into it
    broker = os.environ.get("EARMARK_PROD_BROKER_URL")
    if not broker:
        base, _, db = redis.rpartition("/")
        broker = f"{base}/{(int(db or 0) + 1) % 16}"
    import redis as redis_lib

    redis_lib.Redis.from_url(broker).flushdb()
    shape = ProdShape(tmp_path_factory.mktemp("prod"), pg.rsplit("/", 1)[0] + f"/{name}", broker)
    shape.start()
    try:
        yield shape
    finally:
        shape.stop()
