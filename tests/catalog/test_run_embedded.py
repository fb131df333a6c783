"""`make run`'s run_embedded stops gunicorn and the Celery worker on SIGTERM as on Ctrl-C (SIGINT)."""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _children(pid: int) -> set[int]:
    """Every descendant of ``pid`` (read from /proc)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _ours(pid: int, var: Path) -> bool:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return False
    return str(var).encode() in cmd or b"--bind 127.0.0.1:0" in cmd


def _wait(predicate, timeout, what, log):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}:\n{log.read_text(errors='replace')[-3000:]}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_web_server_and_worker(tmp_path, sig):
    var = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "DATABASE_URL")}
    env.update(
        {
            "SECRET_KEY": "test-run-embedded-not-secret",
            "EARMARK_VAR_DIR": str(var),
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "EARMARK_ENV_FILE": str(tmp_path / "none.env"),
            "NUMBA_CACHE_DIR": str(ROOT / "var" / "numba-cache"),
        }
    )
    log = tmp_path / "run.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "run_embedded", "--addr", "127.0.0.1:0", "--concurrency", "1"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    children: set[int] = set()
    try:
        _wait(lambda: re.search(rb"Listening at: http://127.0.0.1:(\d+)", log.read_bytes()), 60, "gunicorn", log)
        _wait(lambda: b" ready." in log.read_bytes(), 120, "the Celery worker", log)
        port = int(re.search(rb"Listening at: http://127.0.0.1:(\d+)", log.read_bytes()).group(1))
        children = _children(proc.pid)
        assert len(children) >= 2, children
        urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=10).read()

        proc.send_signal(sig)
        proc.wait(timeout=60)
        _wait(lambda: not any(_alive(p) for p in children), 30, "every child to exit", log)
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=3)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for pid in children:  # orphans of a failed stop; a recycled pid is never ours (checked by its command)
            if _alive(pid) and _ours(pid, var):
                os.kill(pid, signal.SIGKILL)
