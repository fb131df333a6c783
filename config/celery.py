"""The Celery app, its queues and the one beat schedule."""

import os

from celery import Celery
from celery.signals import (
    before_task_publish,
    setup_logging,
    task_failure,
    task_postrun,
    task_prerun,
    worker_init,
    worker_process_init,
    worker_process_shutdown,
)

from config.env import env

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
# Before numpy/numba load anywhere: one BLAS/OpenMP thread per process, and a writable numba cache
# so librosa's JIT code compiles once per machine, not once per process (11-17 s cold, ~1 s warm).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault(
    "NUMBA_CACHE_DIR", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "var", "numba-cache")
)

app = Celery("earmark")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _limit_threads(**_kwargs):
    # Large NumPy arrays from the heap, not fresh mmaps (apps/processing/dsp/allocator.py): features in a
    # fresh child ran at ~0.65x of a warmed one without it.
    from apps.processing.dsp.allocator import allocator_tune

    allocator_tune()
    # One BLAS/OpenMP thread per worker process: oversubscription halved DSP
    # throughput on the 2-core reference machine.
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit/librosa deps
        pass


@worker_init.connect
def _warm_up(**_kwargs):
    # Once per worker, before the pool forks, in a short-lived subprocess: it fills the numba disk cache and
    # the font cache, so a child's first task loads compiled code instead of compiling it, while the children
    # themselves start without the JIT code and matplotlib (~300 MB of RSS each when warmed in this process).
    from apps.processing.services.warmup import worker_warm_up_elsewhere

    worker_warm_up_elsewhere()


# Request ids and metrics (apps/core/logs.py, apps/core/metrics.py): a task carries the id of the request that
# queued it in its message headers, and every task's duration and failure is counted on the node that ran it.
@before_task_publish.connect
def _carry_request_id(headers=None, **kwargs):
    from apps.core.logs import task_headers_add

    task_headers_add(headers=headers, **kwargs)


@task_prerun.connect
def _task_prerun(task_id=None, task=None, **kwargs):
    from apps.core.logs import task_context_enter
    from apps.core.metrics import task_started

    task_context_enter(task=task)
    task_started(task_id=task_id)


@task_postrun.connect
def _task_postrun(task_id=None, task=None, state=None, **kwargs):
    from apps.core.logs import task_context_leave
    from apps.core.metrics import task_finished

    task_finished(task_id=task_id, task=task, state=state)
    task_context_leave()


@task_failure.connect
def _task_failure(sender=None, **kwargs):
    from apps.core.metrics import task_failed

    task_failed(sender=sender)


if env.str("LOG_FORMAT", default="text") == "json":

    @setup_logging.connect
    def _django_logging(**_kwargs):
        # Connected, Celery leaves logging alone: Django's LOGGING (JSON lines with request ids) applies to workers.
        import logging.config

        from django.conf import settings

        logging.config.dictConfig(settings.LOGGING)


@worker_init.connect
def _metrics_server(**_kwargs):
    # A node's own metrics (task durations and failures of all its pool processes), on EARMARK_METRICS_PORT: nodes
    # share no disk with the web server, so its /metrics cannot read them.
    port = env.int("EARMARK_METRICS_PORT", default=0)
    if not port:
        return
    from prometheus_client import start_http_server

    from apps.core.metrics import metrics_registry

    start_http_server(port, addr=env.str("EARMARK_METRICS_ADDR", default="127.0.0.1"), registry=metrics_registry())


@worker_process_shutdown.connect
def _metrics_process_gone(pid=None, **_kwargs):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())


# Periodic work, one schedule. The sweepers run every EARMARK_SWEEP_SECONDS (15 s): each re-queues its
# kind of long work whose lease ran out (its worker died) or fails it after too many attempts, so dead
# work resumes within lease (30 s) + sweep interval on any broker, including the filesystem one, which
# loses a message its consumer took before dying.
_SWEEP = env.float("EARMARK_SWEEP_SECONDS", default=15.0)
# On the default queue (never behind long DSP or export work); a sweep no worker took in time is dropped,
# so a stopped worker does not come back to a pile of them.
_SWEEP_OPTIONS = {"queue": "default", "expires": _SWEEP}
app.conf.beat_schedule = {
    **(app.conf.beat_schedule or {}),
    **{
        f"{task.replace('.', '-')}": {"task": task, "schedule": _SWEEP, "options": _SWEEP_OPTIONS}
        for task in (
            "processing.jobs_requeue_stale",
            "catalog.imports_requeue_stale",
            "datasets.releases_requeue_stale",
        )
    },
    # Storage objects no row points at (a web server or worker killed between writing an object and
    # committing its row) and stale temp files, hourly; only what is older than EARMARK_SWEEP_MIN_AGE_SECONDS.
    "core-storage-sweep": {"task": "core.storage_sweep", "schedule": 3600.0},
    # Consent: mark consents past their expiry as expired (same effects as a withdrawal), every 15 minutes.
    "consent-expire-due": {"task": "consent.expire_due", "schedule": 900.0},
    # Consent: withdraw recordings older than their project's retention period, hourly.
    "consent-retention-due": {"task": "consent.retention_due", "schedule": 3600.0},
    # Consent: purge data whose grace period is over (resumes half-done purges), every 10 minutes.
    "consent-purge-due": {"task": "consent.purge_due", "schedule": 600.0},
    # Webhooks: send again deliveries whose retry message was lost (overdue by 10 minutes), every 10 minutes.
    "events-requeue-stale": {"task": "events.deliveries_requeue_stale", "schedule": 600.0},
    # Learning: delete artifacts of models a withdrawn speaker trained, once the grace period is over, every 10 min.
    "learning-purge-models": {"task": "learning.purge_models", "schedule": 600.0},
    # Learning: re-send model training whose worker died (lease expired), every 5 minutes.
    "learning-requeue-stale": {"task": "learning.requeue_stale", "schedule": 300.0},
}
