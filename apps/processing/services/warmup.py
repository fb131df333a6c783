"""Worker warm-up: run librosa's numba-compiled paths once so no task pays their first-call cost."""

import logging
import shutil
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)


def worker_warm_up() -> float:
    """Compile (or load from NUMBA_CACHE_DIR) the DSP code paths, with BLAS limited to one thread; returns seconds."""
    start = time.monotonic()
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
        # Imported only now, after the thread limits above, so the warm-up is what loads numpy/librosa.
        from apps.processing import dsp
        from apps.processing.dsp import preprocess

        dsp.warm_up()
        import numpy as np

        y = (0.1 * np.random.default_rng(0).standard_normal(16000)).astype(np.float32)
        preprocess.voiced_segments(y, 16000)  # librosa.effects.split / rms
        preprocess.trim_silence(y, 16000)
        # matplotlib's import and font cache cost a second or two on the first preview otherwise.
        dsp.spectrogram_png(np.full((8, 16), -40.0, dtype=np.float32), dsp.FeatureParams(sr=16000), size=(2, 1))
    except Exception:  # a failed warm-up only costs time later; never stop the worker for it
        log.exception("processing warm-up failed")
    from django.conf import settings

    job_tempdirs_sweep(older_than_seconds=settings.EARMARK_PROCESSING_SOFT_TIME_LIMIT + 3600)
    seconds = time.monotonic() - start
    log.info("processing warm-up took %.1f s", seconds)
    return seconds


def worker_warm_up_elsewhere() -> float:
    """Run :func:`worker_warm_up` in a subprocess (caches on disk, nothing kept in this process); returns seconds."""
    import subprocess
    import sys

    start = time.monotonic()
    code = "import django; django.setup(); from apps.processing.services.warmup import worker_warm_up; worker_warm_up()"
    try:
        subprocess.run(
            [sys.executable, "-c", code], check=False, timeout=600, cwd=str(Path(__file__).resolve().parents[3])
        )
    except (OSError, subprocess.SubprocessError):  # only costs time on the first task
        log.exception("processing warm-up subprocess failed")
    return time.monotonic() - start


def job_tempdirs_sweep(*, older_than_seconds: float) -> int:
    """Remove job temp directories a killed worker left behind (older than any live job can be); returns the count."""
    cutoff = time.time() - older_than_seconds
    removed = 0
    for path in Path(tempfile.gettempdir()).glob("earmark-job-*"):
        try:
            if path.is_dir() and path.stat().st_mtime < cutoff:
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
        except OSError:
            continue
    return removed
