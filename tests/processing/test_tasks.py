"""Task declarations: stable names, the dsp queue, acks_late, time limits, retry scope, the beat entry."""

from config.celery import app


def test_recording_task_is_declared_for_at_least_once_delivery_on_the_dsp_queue(settings):
    from apps.processing.tasks import recording_process_task

    assert recording_process_task.name == "processing.recording_process"
    route = app.amqp.router.route({}, recording_process_task.name)
    assert route["queue"].name == "dsp"
    assert recording_process_task.acks_late and recording_process_task.reject_on_worker_lost
    assert recording_process_task.soft_time_limit == settings.EARMARK_PROCESSING_SOFT_TIME_LIMIT
    assert recording_process_task.time_limit > recording_process_task.soft_time_limit
    assert recording_process_task.max_retries == 5


def test_every_stale_work_sweep_is_on_the_beat_schedule_every_15_s_on_the_default_queue(settings):
    from apps.catalog.tasks import imports_requeue_stale_task
    from apps.datasets.tasks import releases_requeue_stale_task
    from apps.processing.tasks import jobs_requeue_stale_task

    for task in (jobs_requeue_stale_task, imports_requeue_stale_task, releases_requeue_stale_task):
        entries = [e for e in app.conf.beat_schedule.values() if e["task"] == task.name]
        assert len(entries) == 1 and entries[0]["schedule"] == settings.EARMARK_SWEEP_SECONDS == 15.0
        # Never queued behind the long work it rescues; a sweep nobody took in time is dropped.
        assert entries[0]["options"] == {"queue": "default", "expires": 15.0}
        assert app.amqp.router.route({}, task.name)["queue"].name == "default"


def test_importing_the_celery_app_limits_blas_threads_and_sets_a_numba_cache():
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_CACHE_DIR")
    }
    code = (
        "import config.celery, os; print(os.environ['OMP_NUM_THREADS'], os.environ['OPENBLAS_NUM_THREADS'], "
        "os.environ['NUMBA_CACHE_DIR'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        env={**env, "SECRET_KEY": "x" * 60},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out[:2] == ["1", "1"]
    assert out[2] == str(root / "var" / "numba-cache")


def test_sweep_removes_only_old_job_temp_dirs(tmp_path, monkeypatch):
    import os
    import tempfile
    import time

    from apps.processing.services.warmup import job_tempdirs_sweep

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    old, fresh, other = tmp_path / "earmark-job-old", tmp_path / "earmark-job-new", tmp_path / "unrelated"
    for d in (old, fresh, other):
        d.mkdir()
        (d / "original.wav").write_bytes(b"x")
    long_ago = time.time() - 10 * 3600
    os.utime(old, (long_ago, long_ago))
    os.utime(other, (long_ago, long_ago))
    assert job_tempdirs_sweep(older_than_seconds=3600) == 1
    assert not old.exists() and fresh.exists() and other.exists()
