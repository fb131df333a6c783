"""QA-check throughput: audio seconds measured per CPU second.

Run from the repository root:  python -m benchmarks.qa   (or  python benchmarks/qa.py)

Measures ``qa_measure`` + ``fingerprint`` on 200 ten-second 16 kHz clips and
prints the figure beside a baseline taken in the same run: pyloudnorm's
integrated loudness alone on the same clips (the one library measurement every
QA pass needs), so a slow machine shows up in both columns.  Prints figures;
never passes or fails on time.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pyloudnorm  # noqa: E402

from apps.processing.dsp.fingerprint import fingerprint  # noqa: E402
from apps.processing.dsp.qa import qa_flags, qa_measure  # noqa: E402


def _clips(n_clips: int, seconds: float, sr: int, seed: int = 0) -> list[np.ndarray]:
    """Speech-like clips: tone and noise bursts with pauses, some noisy, some clipped."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    clips = []
    for i in range(n_clips):
        y = np.zeros(n)
        position = 0
        while position < n:
            length = int(rng.uniform(0.1, 0.35) * sr)
            t = np.arange(length) / sr
            f = rng.uniform(120, 1200)
            burst = np.sin(2 * np.pi * f * t) + 0.4 * np.sin(2 * np.pi * 2.7 * f * t)
            burst *= np.hanning(length) * rng.uniform(0.1, 0.6)
            y[position : position + length] += burst[: n - position]
            position += length + int(rng.uniform(0.05, 0.3) * sr)
        y += rng.standard_normal(n) * (0.05 if i % 5 == 0 else 1e-3)
        if i % 7 == 0:
            y = np.clip(y * 3, -1, 1)
        clips.append(y.astype(np.float32))
    return clips


def measure_qa_throughput(
    n_clips: int = 200, clip_seconds: float = 10.0, sr: int = 16000
) -> dict[str, float]:
    """Run QA + fingerprint on synthetic clips; return throughput figures.

    Keys: ``audio_seconds``; ``qa_cpu_s``, ``fingerprint_cpu_s``, ``total_cpu_s``
    (process CPU time); ``audio_s_per_cpu_s`` (QA + fingerprint) and
    ``baseline_audio_s_per_cpu_s`` (pyloudnorm integrated loudness alone);
    ``wall_s``.
    """
    clips = _clips(n_clips, clip_seconds, sr)
    audio_seconds = n_clips * clip_seconds
    # warm caches (filter design, FFT plans, resampler) outside the timing
    qa_measure(clips[0], sr)
    fingerprint(clips[0], sr)

    start = time.process_time()
    for y in clips:
        meter = pyloudnorm.Meter(sr)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            meter.integrated_loudness(y.astype(np.float64))
    baseline_cpu = time.process_time() - start

    wall = time.perf_counter()
    start = time.process_time()
    for y in clips:
        qa_flags(qa_measure(y, sr))
    qa_cpu = time.process_time() - start
    start = time.process_time()
    for y in clips:
        fingerprint(y, sr).to_bytes()
    fp_cpu = time.process_time() - start
    wall = time.perf_counter() - wall

    total = qa_cpu + fp_cpu
    return {
        "audio_seconds": audio_seconds,
        "qa_cpu_s": qa_cpu,
        "fingerprint_cpu_s": fp_cpu,
        "total_cpu_s": total,
        "audio_s_per_cpu_s": audio_seconds / total if total else float("inf"),
        "baseline_audio_s_per_cpu_s": audio_seconds / baseline_cpu if baseline_cpu else float("inf"),
        "wall_s": wall,
    }


def main() -> None:
    result = measure_qa_throughput()
    print(f"QA throughput on {result['audio_seconds']:.0f} s of 16 kHz audio (200 x 10 s clips)")
    print(f"{'measurement':<38}{'CPU s':>10}{'audio s / CPU s':>18}")
    rows = [
        ("qa_measure + qa_flags", result["qa_cpu_s"]),
        ("fingerprint + to_bytes", result["fingerprint_cpu_s"]),
        ("QA total (qa + fingerprint)", result["total_cpu_s"]),
    ]
    for name, cpu in rows:
        print(f"{name:<38}{cpu:>10.2f}{result['audio_seconds'] / cpu:>18.0f}")
    baseline_cpu = result["audio_seconds"] / result["baseline_audio_s_per_cpu_s"]
    print(f"{'baseline: pyloudnorm loudness alone':<38}{baseline_cpu:>10.2f}"
          f"{result['baseline_audio_s_per_cpu_s']:>18.0f}")
    print(f"wall time for QA total: {result['wall_s']:.2f} s")


if __name__ == "__main__":
    main()
