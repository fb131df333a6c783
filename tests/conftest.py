"""Shared fixtures. The only autouse fixture points media storage at a temp directory."""

import io
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytest_plugins = ["tests.worker", "tests.prod_shape"]

ROOT = Path(__file__).resolve().parent.parent
# Every process of the run (xdist workers, live Celery workers) shares one numba cache.
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / "var" / "numba-cache"))


def pytest_configure(config):
    """Fill the numba cache once, before xdist workers start: processes compiling the same librosa
    functions into one cache at the same moment can load a half-written entry and crash (seen in CI as a
    segfault in librosa's localmax)."""
    if hasattr(config, "workerinput"):
        return
    subprocess.run(
        [sys.executable, "-c", "from apps.processing.dsp import warm_up; warm_up()"],
        cwd=ROOT,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


REQUIRE_SERVICES = os.environ.get("EARMARK_REQUIRE_SERVICES") == "1"
_not_run: list[str] = []


def require_service(name: str, available: bool, nodeid: str = "") -> None:
    """Skip (locally) or fail (CI, EARMARK_REQUIRE_SERVICES=1) when a service a test needs is missing."""
    if available:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{name} is required in CI (EARMARK_REQUIRE_SERVICES=1) but is not available")
    _not_run.append(f"{nodeid or name}: needs {name}")
    pytest.skip(f"needs {name} (set EARMARK_REQUIRE_SERVICES=1 to make this mandatory)")


def redis_url() -> str | None:
    url = os.environ.get("CELERY_BROKER_URL", "")
    if url.startswith("redis://"):
        return url
    return "redis://127.0.0.1:6379/0" if _port_open("127.0.0.1", 6379) else None


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def chromium_available() -> bool:
    return os.path.exists(CHROMIUM)


def benchmark_run(script: str, *args: str) -> subprocess.CompletedProcess:
    """Run benchmarks/<script> as its users do (a script in the repository's root), its output captured."""
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def pytest_terminal_summary(terminalreporter):
    skipped = terminalreporter.stats.get("skipped", [])
    needs = [r for r in skipped if "needs " in str(r.longrepr)]
    if needs:
        terminalreporter.section("not run here (service missing)")
        for report in needs:
            terminalreporter.write_line(
                f"{report.nodeid}: {report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr}"
            )
        terminalreporter.write_line(
            "CI runs these with EARMARK_REQUIRE_SERVICES=1, where they fail instead of skipping."
        )


@pytest.fixture(autouse=True)
def _media_storage(settings, tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    settings.MEDIA_ROOT = str(media)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(media)}},
    }
    return media


# --- audio ----------------------------------------------------------------------------------------------


def make_audio(
    seconds=1.0, sr=16000, channels=1, fmt="WAV", subtype="PCM_16", freq=440.0, seed=0, amplitude=0.5
) -> bytes:
    """Encoded audio bytes: a tone plus a little seeded noise (different seeds → different bytes)."""
    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(seed)
    y = amplitude * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(len(t))
    data = np.stack([y] * channels, axis=1) if channels > 1 else y
    buf = io.BytesIO()
    kwargs = {"subtype": subtype} if subtype else {}
    sf.write(buf, data.astype(np.float32), sr, format=fmt, **kwargs)
    return buf.getvalue()


@pytest.fixture
def wav_bytes():
    return make_audio


# --- people and projects -----------------------------------------------------------------------------------


@pytest.fixture
def make_user(db, django_user_model):
    counter = {"n": 0}

    def _make(username=None, **kwargs):
        counter["n"] += 1
        return django_user_model.objects.create_user(
            username or f"user{counter['n']}", password="pw-not-secret-123", **kwargs
        )

    return _make


@pytest.fixture
def project_with_roles(db, make_user):
    """A project with one user per role: returns (project, {role: user})."""
    from apps.accounts.models import Membership
    from apps.catalog.services import project_create

    manager = make_user("manager")
    project = project_create(name="Speech", created_by=manager)
    users = {"manager": manager}
    for role in ("annotator", "reviewer", "viewer", "exporter"):
        users[role] = make_user(role)
        Membership.objects.create(user=users[role], project=project, role=role)
    return project, users


@pytest.fixture
def api():
    from rest_framework.test import APIClient

    def _client(user=None):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return _client


# --- S3 on moto's standalone server -----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def moto_server():
    """moto's standalone S3 server on 127.0.0.1, spoken to over real HTTP."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture
def s3_storage(settings, moto_server, monkeypatch, request):
    """Switch default storage to django-storages' S3 backend on a fresh bucket; returns a boto3 client and bucket."""
    import boto3

    for key, value in S3_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_S3_ENDPOINT_URL", moto_server)
    bucket = f"earmark-{request.node.name.lower().replace('_', '-')[:40]}-{_free_port()}"
    client = boto3.client(
        "s3",
        endpoint_url=moto_server,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=bucket)
    settings.EARMARK_STORAGE = "s3"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "apps.core.storage.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": moto_server,
                "access_key": "testing",
                "secret_key": "testing",
                "region_name": "us-east-1",
                "addressing_style": "path",
                "default_acl": None,
                "file_overwrite": True,
                "querystring_auth": True,
                "querystring_expire": 300,
            },
        },
    }
    return client, bucket


def s3_keys(client, bucket, prefix="") -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))
