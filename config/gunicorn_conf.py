"""gunicorn settings for the production shape (compose's web service and scripts/prod_local.sh).

Threads per worker (gthread): most of a request's time is spent waiting on PostgreSQL, Redis or S3, so a few
processes with several threads each serve more requests per MB than many single-threaded processes. On the
shared 2-core machine the load run measured 3 x 4 (the default) and 2 x 8 alike and 6 x 2 at a third of their
throughput (README "Load (production shape)"); set GUNICORN_WORKERS / GUNICORN_THREADS per node. Each worker
keeps a PostgreSQL pool of DB_POOL_MAX_SIZE connections (config/settings/base.py), so size it to the threads.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "300"))  # large uploads stream through a worker thread
graceful_timeout = 30
# Idle keep-alive connections stay open this long (gthread parks them in a poller, not a thread). Gunicorn's 2 s
# default closed connections just as clients reused them: the load run saw "connection reset by peer". Keep it
# above the idle timeout of any proxy in front (60 s on common load balancers).
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))
# A worker is replaced after this many requests (plus jitter, so they do not all restart at once): memory a
# library leaks stays bounded.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 10
# The app (Django, every view and serializer: config/wsgi.py imports the URLconf) is loaded once in the master and
# forked into the workers: a worker starts warm, including the ones max_requests replaces in the middle of a busy
# hour (loaded in each worker, the first requests after a start or a replacement paid for the imports; README
# "Load (production shape)"), and the workers share the imported code's memory pages until they write to them.
# Nothing connects to the database, Redis or S3 while loading (tests/test_production.py), so no connection is
# shared across the fork.
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") != "0"
accesslog = None  # apps.core.logs writes one JSON line per request, with its request id
control_socket_disable = True  # several servers may run on one machine (no socket in ~/.gunicorn)


def pre_fork(server, worker):
    """The objects the master loaded (Django, every view, botocore's models) go to the collector's permanent
    generation before each fork: a worker's collections then never walk them, so they neither write to the pages
    the worker shares with the master (each visit touches an object's header, and the kernel copies the page) nor
    spend the CPU of walking a few hundred thousand objects on every full collection. The Python documentation's
    advice for a process that forks without exec (``gc.freeze``)."""
    if preload_app:
        import gc

        gc.freeze()


def child_exit(server, worker):
    """A gone worker's live gauges leave the multiprocess metrics (prometheus_client's multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
