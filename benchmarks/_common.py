"""Helpers shared by the benchmark scripts (never imported by Earmark itself)."""

import argparse
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def positive(text: str) -> int:
    """argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def setup_django(settings_module="benchmarks.bench_settings", **env):
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-000000000000000000000")
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    os.environ.update(env)
    import django

    django.setup()


def percentile(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def summary(values_ms):
    p50, p95, mean = percentile(values_ms, 50), percentile(values_ms, 95), statistics.fmean(values_ms)
    return f"p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   mean {mean:7.1f} ms"


def rss_peak_kb(pid: int) -> int:
    """VmHWM: the high-water mark of a process's resident memory."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def rss_now_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serving_pid(pid: int) -> int:
    """The process that serves requests: gunicorn's one worker under its master ``pid`` (else ``pid`` itself)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return int(children[0]) if len(children) == 1 else pid


def web_command(addr: str, env: dict) -> list[str]:
    """The command `make run` starts its web server with. Importing it loads ``config`` (and so the settings),
    which needs the server's environment in this process too."""
    os.environ.update({k: v for k, v in env.items() if k.startswith(("DJANGO_", "SECRET_KEY", "EARMARK_"))})
    from apps.catalog.management.commands.run_embedded import web_command as command

    return command(addr)
