"""scripts/prod_local.sh's claim on its broker: a second production shape on the broker database of a running one
would take that one's tasks (its nodes run jobs against a database and bucket they do not know). Nothing here
starts a shape: the refusal comes before any piece is spawned, and the running "other shape" is a process group
of its own standing in for one of its pieces."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "prod_local.sh"
BROKER = "redis://127.0.0.1:6379/13"


def _claim_file(tmp: Path, broker: str) -> Path:
    """The claim's path as the script names it (the broker URL's POSIX cksum)."""
    out = subprocess.run(["sh", "-c", 'printf "%s" "$1" | cksum', "sh", broker], capture_output=True, text=True)
    return tmp / f"earmark-prod-broker-{out.stdout.split()[0]}"


def _script(tmp: Path, folder: Path, *args: str) -> subprocess.CompletedProcess:
    """The script on this folder and broker. Its Python is /bin/false, so should the claim ever let a start through,
    no piece can run (the pieces' programs are looked up beside it) and the start fails instead of launching a
    shape on the default ports."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "secret_key").write_text("test-only")
    env = {
        **os.environ,
        "TMPDIR": str(tmp),
        "EARMARK_PROD_DIR": str(folder),
        "EARMARK_PROD_BROKER_URL": BROKER,
        "EARMARK_PROD_PYTHON": "/bin/false",
    }
    try:
        return subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired as exc:  # a start that got past the claim waits for an S3 server that never comes
        raise AssertionError(f"prod_local.sh {' '.join(args)} did not stop at the claim: {exc.stdout!r}") from None


@pytest.mark.parametrize("command", ["start", "run"])  # run (make prod-local) calls start where set -e is off
def test_a_second_shape_on_a_running_shapes_broker_is_refused_before_it_starts_anything(tmp_path, command):
    other, mine = tmp_path / "other", tmp_path / "mine"
    (other / "pids").mkdir(parents=True)
    # The other shape's web: a process group of its own, not this process's child (so it is reaped when it dies).
    started = subprocess.run(
        ["setsid", "sh", "-c", "sleep 120 >/dev/null 2>&1 & echo $!"], capture_output=True, text=True, check=True
    )
    group = os.getpgid(int(started.stdout))
    try:
        (other / "pids" / "web.pid").write_text(str(group))
        claim = _claim_file(tmp_path, BROKER)
        claim.write_text(f"{other}\n")

        refused = _script(tmp_path, mine, command)

        assert refused.returncode != 0
        assert f"Another production shape (EARMARK_PROD_DIR={other}) is running on the broker {BROKER}" in (
            refused.stderr
        )
        assert "EARMARK_PROD_BROKER_URL" in refused.stderr
        assert list((mine / "pids").iterdir()) == []  # nothing spawned
        assert claim.read_text().strip() == str(other)  # the claim stays the running shape's

        # Stopping the other shape stops its piece and gives the broker back.
        stopped = _script(tmp_path, other, "stop")
        assert stopped.returncode == 0, stopped.stderr
        assert "web stopped" in stopped.stdout
        assert not claim.exists()
    finally:
        try:
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            pass
