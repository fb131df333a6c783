"""Start the web server and a real Celery worker beside it; Ctrl-C (SIGINT) or SIGTERM stops both.

The web server is gunicorn, as in production (one process, threads: SQLite has one writer anyway),
serving static files through WhiteNoise. Extra gunicorn flags go in GUNICORN_CMD_ARGS.
"""

import os
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management.base import BaseCommand

from config.env import VAR_DIR


def web_command(addr: str, *, threads: int = 8) -> list[str]:
    """The embedded default's web server (benchmarks start the same one)."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        addr,
        "--workers",
        "1",
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--timeout",
        "300",
        "--graceful-timeout",
        "5",
        "--access-logfile",
        "-",
        "--no-control-socket",
    ]  # no socket in ~/.gunicorn: several servers may run


class Command(BaseCommand):
    help = "Run the embedded default: gunicorn on 127.0.0.1 plus a Celery worker (with beat) on the configured broker."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--concurrency", type=int, default=2)

    def handle(self, *, addr, concurrency, **_):
        var = VAR_DIR
        env = {**os.environ, "NUMBA_CACHE_DIR": os.environ.get("NUMBA_CACHE_DIR", str(var / "numba-cache"))}
        # SIGTERM (a service manager, `kill`, a container stop) must stop the children as Ctrl-C does;
        # Python's default for SIGTERM is to die at once and leave gunicorn and the worker serving.
        previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-B",
                "-Q",
                "default,dsp,exports,events,train",
                "--concurrency",
                str(concurrency),
                "--loglevel",
                "INFO",
                "--schedule",
                str(var / "celerybeat-schedule"),
            ],
            env=env,
        )
        web = subprocess.Popen(web_command(addr), env=env, cwd=settings.BASE_DIR)
        self.stdout.write(
            self.style.SUCCESS(f"Earmark is at http://{addr}/ — Ctrl-C stops the web server and the worker.")
        )
        try:
            while worker.poll() is None and web.poll() is None:
                try:
                    web.wait(timeout=1)
                except subprocess.TimeoutExpired:
                    pass
        except (_Stopped, KeyboardInterrupt):
            pass
        finally:
            for sig in previous:  # a second signal must not cut the shutdown short
                signal.signal(sig, signal.SIG_IGN)
            for proc in (web, worker):
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT if proc is web else signal.SIGTERM)
            for proc in (web, worker):
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class _Stopped(Exception):
    """SIGTERM or SIGINT arrived: leave the wait loop and stop the children."""


def _stop(signum, frame):
    raise _Stopped(signum)
