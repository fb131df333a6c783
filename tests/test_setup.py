"""The two-command setup's promises: settings from the environment, safe defaults, a valid compose file."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_service

ROOT = Path(__file__).resolve().parent.parent


def _check(env_overrides: dict) -> subprocess.CompletedProcess:
    env = {
        k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "EARMARK_PRODUCTION", "ALLOWED_HOSTS")
    }
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings.base", "EARMARK_ENV_FILE": "/nonexistent", **env_overrides})
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_missing_secret_key_refuses_to_start():
    result = _check({})
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"SECRET_KEY": "x" * 60, "DEBUG": "true", "ALLOWED_HOSTS": "example.org"}, "DEBUG must be off"),
        (
            {"SECRET_KEY": "django-insecure-change-me", "ALLOWED_HOSTS": "example.org"},
            "SECRET_KEY must be a long random value",
        ),
        ({"SECRET_KEY": "x" * 60}, "ALLOWED_HOSTS must name this site"),
    ],
)
def test_production_refuses_unsafe_settings(overrides, message):
    result = _check({"EARMARK_PRODUCTION": "true", **overrides})
    assert result.returncode != 0 and message in result.stderr


def test_production_starts_with_safe_settings():
    result = _check({"EARMARK_PRODUCTION": "true", "SECRET_KEY": "k" * 60, "ALLOWED_HOSTS": "example.org"})
    assert result.returncode == 0, result.stderr


def test_unknown_storage_switch_is_refused():
    result = _check({"SECRET_KEY": "k" * 60, "EARMARK_STORAGE": "ftp"})
    assert result.returncode != 0 and "EARMARK_STORAGE must be 'local' or 's3'" in result.stderr


def test_s3_switch_requires_its_bucket():
    result = _check({"SECRET_KEY": "k" * 60, "EARMARK_STORAGE": "s3"})
    assert result.returncode != 0 and "AWS_STORAGE_BUCKET_NAME" in result.stderr


def test_env_example_lists_every_variable_the_settings_read():
    import re

    read = set(re.findall(r'env\.\w+\(\s*"([A-Z0-9_]+)"', (ROOT / "config" / "settings" / "base.py").read_text()))
    read |= set(re.findall(r'env\.\w+\(\s*"([A-Z0-9_]+)"', (ROOT / "config" / "env.py").read_text())) - {
        "EARMARK_ENV_FILE"
    }
    listed = {
        line.split("=")[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert read - listed == set()


def _compose_command() -> list[str] | None:
    """`docker compose` (v2 plugin) where it works, else Debian's `docker-compose`."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_docker_compose_file_is_valid():
    compose = _compose_command()
    require_service("docker compose (or docker-compose)", compose is not None)
    env = {**os.environ, "SECRET_KEY": "k" * 60}
    base = [*compose, "-f", str(ROOT / "docker-compose.yml"), "config"]
    result = subprocess.run([*base, "--quiet"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    services = subprocess.run([*base, "--services"], env=env, capture_output=True, text=True, timeout=60).stdout.split()
    assert {"web", "worker", "beat", "postgres", "redis", "minio", "createbucket"} <= set(services)
