"""Start the web server and a real Celery worker beside it; Ctrl-C stops both.

The web server is gunicorn, as in production (one process, threads: SQLite has one writer anyway),
serving static files through WhiteNoise. Extra gunicorn flags go in GUNICORN_CMD_ARGS.
"""

import os
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management.base import BaseCommand


def web_command(addr: str, *, threads: int = 8) -> list[str]:
    """The embedded default's web server (benchmarks start the same one)."""
    return [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", addr, "--workers", "1",
            "--worker-class", "gthread", "--threads", str(threads), "--timeout", "300", "--graceful-timeout", "5",
            "--access-logfile", "-", "--no-control-socket"]  # no socket in ~/.gunicorn: several servers may run


class Command(BaseCommand):
    help = "Run the embedded default: gunicorn on 127.0.0.1 plus a Celery worker (with beat) on the configured broker."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--concurrency", type=int, default=2)

    def handle(self, *, addr, concurrency, **_):
        var = settings.BASE_DIR / "var"
        env = {**os.environ, "NUMBA_CACHE_DIR": str(var / "numba-cache")}
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-B", "-Q", "default,dsp,exports,events,train",
             "--concurrency", str(concurrency), "--loglevel", "INFO", "--schedule", str(var / "celerybeat-schedule")],
            env=env,
        )
        web = subprocess.Popen(web_command(addr), env=env, cwd=settings.BASE_DIR)
        self.stdout.write(self.style.SUCCESS(f"Earmark is at http://{addr}/ — Ctrl-C stops the web server and the worker."))
        try:
            while worker.poll() is None and web.poll() is None:
                try:
                    web.wait(timeout=1)
                except subprocess.TimeoutExpired:
                    pass
        except KeyboardInterrupt:
            pass
        finally:
            for proc in (web, worker):
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT if proc is web else signal.SIGTERM)
            for proc in (web, worker):
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
