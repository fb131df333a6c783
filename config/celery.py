"""The Celery app, its queues and the one beat schedule."""

import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("earmark")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _limit_threads(**_kwargs):
    # One BLAS/OpenMP thread per worker process: oversubscription halved DSP
    # throughput on the 2-core reference machine.
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit/librosa deps
        pass
