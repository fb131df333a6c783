"""Ingest throughput on the embedded default (SQLite, local media, filesystem broker).

Uploads 1,000 generated 5-second 16 kHz WAV clips in ONE request through the
API, three rounds (a new project each time, and new noise in every clip of every
round, so no round re-sends bytes an earlier one stored), and prints files/s, MB/s and the
server's resident memory after each run and the CPU seconds the server's worker
spent on the request (what a loaded machine does not inflate) — beside a store-only baseline view
(save the bytes, no probe, no hash, no duplicate check) in the same server.
Rounds interleave: each runs the baseline and Earmark back to back (alternating
which goes first), and the ratio is taken round by round.

    .venv/bin/python benchmarks/ingest.py [--files 1000] [--runs 3]
"""

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import requests
import soundfile as sf
from _common import ROOT, free_port, rss_now_kb, rss_peak_kb, serving_pid, web_command


def clips(n: int, round_: int, seconds=5.0, sr=16000) -> list[bytes]:
    """``n`` clips of noise, each drawn afresh, from a seed per round: no clip's bytes recur in any round.

    (Re-sent bytes would land on content-addressed keys an earlier round stored, and Earmark would skip the write.)
    """
    rng = np.random.default_rng(1000 + round_)
    out = []
    for _ in range(n):
        buf = io.BytesIO()
        y = (0.1 * rng.standard_normal(int(seconds * sr))).astype(np.float32)
        sf.write(buf, y, sr, format="WAV", subtype="PCM_16")
        out.append(buf.getvalue())
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (/proc/PID/stat fields 14 and 15): what load does not inflate."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def manage(env, *args, input_text=None):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        input=input_text,
    ).stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args()
    args.port = args.port or free_port()

    var = Path(tempfile.mkdtemp(prefix="earmark-bench-ingest-"))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "EARMARK_STORAGE")}
    env.update(
        {
            "EARMARK_VAR_DIR": str(var),
            "DJANGO_SETTINGS_MODULE": "benchmarks.bench_settings",
            "SECRET_KEY": "benchmark-only-secret-key-000000000000000000000",
            "EARMARK_ENV_FILE": "/nonexistent",
            "PYTHONPATH": str(ROOT),
        }
    )
    manage(env, "migrate", "--noinput")
    token = (
        manage(
            env,
            "shell",
            "-v",
            "0",
            input_text=(
                "from django.contrib.auth import get_user_model\n"
                "from apps.accounts.services import token_create\n"
                "u = get_user_model().objects.create_user('bench', password='bench-password-1', is_staff=True)\n"
                "print(token_create(user=u).key)\n"
            ),
        )
        .strip()
        .splitlines()[-1]
    )

    server = subprocess.Popen(
        web_command(f"127.0.0.1:{args.port}", env),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(var / "server.log", "wb"),
    )
    base = f"http://127.0.0.1:{args.port}"
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    try:
        for _ in range(100):
            try:
                if session.get(base + "/api/v1/projects/", timeout=2).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or still importing the app
                time.sleep(0.2)
        else:
            raise SystemExit("the server did not start")
        megabytes = len(clips(1, -1)[0]) * args.files / 1e6
        print(
            f"{args.files} clips of 5 s at 16 kHz, {megabytes:.1f} MB per run, one request each; "
            "server: gunicorn (embedded default)"
        )
        print(f"{'run':<28}{'files/s':>10}{'MB/s':>9}{'server CPU s':>14}{'server RSS after (MB)':>24}{'accepted':>10}")
        rows: dict[str, list[float]] = {"earmark": [], "baseline (store only)": []}
        cpu: dict[str, list[float]] = {"earmark": [], "baseline (store only)": []}
        targets = {
            "earmark": lambda pid: f"/api/v1/projects/{pid}/recordings/",
            "baseline (store only)": lambda pid: f"/bench/store-only/{pid}/",
        }
        for run in range(args.runs):
            # Interleaved: each round runs the baseline and Earmark back to back, alternating which goes
            # first, so disk state and machine load hit both sides alike.
            order = list(targets) if run % 2 else list(targets)[::-1]
            data = clips(args.files, run)  # both sides get the same new bytes; no round repeats another's
            for label in order:
                created = session.post(base + "/api/v1/projects/", json={"name": f"{label} {run}"})
                assert created.status_code == 201, created.text[:2000]
                pid = created.json()["id"]
                files = [("files", (f"clip{i:05d}.wav", content, "audio/wav")) for i, content in enumerate(data)]
                prepared = session.prepare_request(requests.Request("POST", base + targets[label](pid), files=files))
                worker = serving_pid(server.pid)
                start, cpu_start = time.perf_counter(), cpu_seconds(worker)
                response = session.send(prepared, timeout=600)
                elapsed, used = time.perf_counter() - start, cpu_seconds(worker) - cpu_start
                if response.status_code >= 500:
                    raise SystemExit(f"{label}: HTTP {response.status_code}; server log: {var / 'server.log'}")
                body = response.json()
                accepted = body.get("accepted", body.get("stored"))
                rows[label].append(args.files / elapsed)
                cpu[label].append(used)
                print(
                    f"{label + f' #{run + 1}':<28}{args.files / elapsed:>10.0f}{megabytes / elapsed:>9.1f}{used:>14.2f}"
                    f"{rss_now_kb(worker) / 1024:>24.0f}{accepted:>10}"
                )
                os.sync()  # untimed: the next upload does not pay for this one's writeback
        ratios = [e / b for e, b in zip(rows["earmark"], rows["baseline (store only)"], strict=True)]
        cpu_ratios = [b / e for e, b in zip(cpu["earmark"], cpu["baseline (store only)"], strict=True)]
        print(f"server peak RSS (VmHWM): {rss_peak_kb(serving_pid(server.pid)) / 1024:.0f} MB (the gunicorn worker)")
        print(
            "earmark / store-only baseline throughput, round by round: "
            + ", ".join(f"{r:.2f}x" for r in ratios)
            + f"; median {statistics.median(ratios):.2f}x "
            "(earmark also probes, hashes, dedupes and queues processing)"
        )
        print(
            "the same by the server's CPU seconds (store-only CPU / earmark CPU), round by round: "
            + ", ".join(f"{r:.2f}x" for r in cpu_ratios)
            + f"; median {statistics.median(cpu_ratios):.2f}x"
        )
    finally:
        server.terminate()
        server.wait(timeout=20)
        shutil.rmtree(var, ignore_errors=True)


if __name__ == "__main__":
    main()
