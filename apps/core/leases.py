"""Leases on long work: a run holds its row until ``lease_expires_at`` and renews it while it is alive.

Every long piece of work (a processing job, an import, a release build) is claimed with a conditional
update that sets a claim token and a short lease. While the run is alive a heartbeat thread pushes the
lease forward every third of its length, whatever the main thread is doing (a long STFT block, a slow
upload to S3). When the worker dies (SIGKILL, out of memory, a hard time limit, a lost machine) the
heartbeat dies with it, the lease runs out, and the app's sweeper (a beat task every
``EARMARK_SWEEP_SECONDS``) hands the work to another run. A short lease therefore costs nothing to a
healthy run and bounds how long dead work waits: lease + sweep interval.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connections, models
from django.db.models import F, Q
from django.utils import timezone

log = logging.getLogger(__name__)


def lease_seconds() -> int:
    """How long a claim holds without a heartbeat (EARMARK_LEASE_SECONDS)."""
    return int(settings.EARMARK_LEASE_SECONDS)


def lease_until(seconds: float | None = None) -> datetime:
    """The expiry of a lease taken or renewed now."""
    return timezone.now() + timedelta(seconds=lease_seconds() if seconds is None else seconds)


@contextmanager
def lease_heartbeat(renew: Callable[[], object], *, every: float | None = None) -> Iterator[None]:
    """Call ``renew`` (a conditional UPDATE of the lease) every ``every`` seconds in a thread while the block runs.

    The thread uses its own database connection and closes it when the block ends. A renewal that fails
    (the database away for a moment, the row not visible yet) is logged and tried again at the next beat:
    the main thread's own claim checks decide whether the run still holds the work.
    """
    interval = every if every is not None else max(lease_seconds() / 3.0, 0.5)
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(interval):
                try:
                    renew()
                except Exception:  # noqa: BLE001 - a missed beat is retried; the lease decides
                    log.warning("lease renewal failed; retrying in %.0f s", interval, exc_info=True)
        finally:
            connections.close_all()

    thread = threading.Thread(target=beat, name="earmark-lease", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)


class LeasedWork(models.Model):
    """Fields of a row that a worker claims for long work (an import, a release build)."""

    claim_token = models.CharField(max_length=32, blank=True, help_text="The run that holds the work now.")
    lease_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Renewed by the run's heartbeat; once past, a sweeper re-queues."
    )
    attempts = models.PositiveIntegerField(default=0, help_text="Runs that claimed this work.")

    class Meta:
        abstract = True


def work_claim(model: type[LeasedWork], *, pk: int, queued: str, running: str, **fields) -> str | None:
    """Take queued work, or running work whose lease ran out (its worker died); the claim token, or None.

    One conditional UPDATE, so of any number of concurrent deliveries exactly one wins.
    """
    token = uuid.uuid4().hex
    taken = (
        model.objects.filter(pk=pk)
        .filter(Q(status=queued) | Q(status=running, lease_expires_at__lt=timezone.now()))
        .update(status=running, claim_token=token, lease_expires_at=lease_until(), attempts=F("attempts") + 1, **fields)
    )
    return token if taken else None


def work_renew(model: type[LeasedWork], *, pk: int, token: str, running: str) -> bool:
    """Push the lease of work this run still holds forward; False when it no longer holds it."""
    return bool(model.objects.filter(pk=pk, claim_token=token, status=running).update(lease_expires_at=lease_until()))


def work_expired(model: type[LeasedWork], *, running: str, limit: int = 1000) -> list[tuple[int, int]]:
    """(id, attempts) of running work whose lease ran out: its worker died without finishing or failing it."""
    return list(
        model.objects.filter(status=running, lease_expires_at__lt=timezone.now())
        .order_by("lease_expires_at")
        .values_list("pk", "attempts")[:limit]
    )
