"""Liveness and readiness probes: ``/healthz`` (the process answers) and ``/readyz`` (it can do its work).

``/readyz`` checks the three things every request and task needs: the database (``SELECT 1``), the broker
(a connection to the Celery broker) and storage (the bucket answers, or the media folder is writable). Each
check runs in a thread with a deadline, so a hung dependency answers "timed out" instead of holding the probe.
A 503 names what is down in a sentence; the checks carry only an exception's class, never a URL or password.
Both answer without sign-in (a load balancer calls them) and are exempt from the HTTPS redirect.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection, connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

# One pool for the whole process: a hung check keeps its thread, never a request's.
_pool = ThreadPoolExecutor(max_workers=6, thread_name_prefix="earmark-readyz")


def _database(app) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connections.close_all()  # this thread's own connection: never leave it open in the pool


def _broker(app) -> None:
    with app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1, timeout=settings.EARMARK_READY_TIMEOUT_SECONDS)
        conn.default_channel  # noqa: B018 - opening the channel proves the broker speaks


def _storage(app) -> None:
    bucket = getattr(default_storage, "bucket", None)
    if bucket is not None:  # S3 / MinIO: the bucket exists and these credentials may read it
        bucket.meta.client.head_bucket(Bucket=bucket.name)
        return
    location = getattr(default_storage, "location", "")
    if not (os.path.isdir(location) and os.access(location, os.W_OK)):
        raise OSError("the media folder is missing or not writable")


CHECKS: dict[str, Callable[[Any], None]] = {"database": _database, "broker": _broker, "storage": _storage}


def readiness() -> dict[str, str]:
    """Each dependency → "ok", or what went wrong (an exception class or "timed out")."""
    # Celery's current app is per thread (a fresh thread sees Celery's unconfigured default app): hand it over.
    app = current_app._get_current_object()
    futures = {name: _pool.submit(check, app) for name, check in CHECKS.items()}
    results: dict[str, str] = {}
    for name, future in futures.items():
        try:
            future.result(timeout=settings.EARMARK_READY_TIMEOUT_SECONDS)
            results[name] = "ok"
        except FutureTimeout:
            results[name] = "timed out"
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"; the class says which kind
            results[name] = f"unreachable ({type(exc).__name__})"
    return results


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and serving requests (no dependency is touched)."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """200 when database, broker and storage all answer; 503 naming those that do not."""
    checks = readiness()
    down = [name for name, result in checks.items() if result != "ok"]
    if not down:
        return JsonResponse({"status": "ready", "checks": checks})
    names = " and ".join(down) if len(down) < 3 else "database, broker and storage"
    verb = "is" if len(down) == 1 else "are"
    return JsonResponse(
        {"status": "not ready", "detail": f"Not ready: the {names} {verb} unreachable.", "checks": checks},
        status=503,
    )
