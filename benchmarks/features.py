"""Feature-extraction benchmark (issue 3, "Done means"): Earmark's DSP beside the usual librosa script.

Run from the repository root:
    .venv/bin/python benchmarks/features.py  [--clips 200] [--long-minutes 30] [--sections 12345] [--rounds 3]

Generates 200 ten-second 44.1 kHz clips and one 30-minute file, then prints,
measured in the same run:
  * single-process throughput (audio seconds per CPU second), Earmark and baseline
    measured in alternating rounds, of
      - the typical script: librosa ``stft`` (+ power_to_db), ``melspectrogram``,
        ``mfcc`` and ``chroma_stft`` called separately on the waveform with
        exactly the recipe's parameters (chroma tuning fixed at 0.0, as the
        recipe fixes it); and both sides again with chroma's automatic tuning
        (Earmark estimating it too: the same work);
      - Earmark's ``compute_features`` (all four features from one STFT);
      - the chunked floor: padding, framing, windowing and the rfft alone,
        done in chunks of the same number of frames as Earmark's engine
        (cache-sized; ~2x faster than one FFT call over the whole clip), with
        the engine's own FFT call (``scipy.fftpack.rfft`` in place; the same
        floor with ``scipy.fft.rfft`` is printed for context);
    and the ratios;
  * peak memory (VmHWM of a fresh process) for the 30-minute file: Earmark's
    block-wise ``stream_features`` to .npy files beside the typical script on
    the loaded file;
  * throughput with one vs two worker processes (wall clock);
  * the first task in a fresh process (numba cache under var/numba-cache
    warm, ``warm_up()`` at start, as workers do) vs a warm task; plus what the
    first task costs without ``warm_up()`` and what ``warm_up()`` costs with a
    cold numba cache;
  * features in a FRESH process that did only what a worker child does before
    its first task (the allocator settings of worker_process_init, then
    ``warm_up()``), over every clip once, beside the chunked floor in a fresh
    process of its own, rounds interleaved; and the same fresh Earmark process
    without the allocator settings.
BLAS/OpenMP threads are limited to one per process, as in the workers.
Prints figures; never passes or fails on time.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
NUMBA_CACHE = ROOT / "var" / "numba-cache"
os.environ.setdefault("NUMBA_CACHE_DIR", str(NUMBA_CACHE))

import numpy as np  # noqa: E402

from benchmarks._common import rss_peak_kb  # noqa: E402

SR = 44100
CLIP_SECONDS = 10.0
RECIPE = dict(sr=SR, n_fft=2048, hop_length=512, n_mels=128, n_mfcc=20, n_chroma=12, tuning=0.0)


def params():
    from apps.processing.dsp import FeatureParams

    return FeatureParams(**RECIPE)


# --- signals ---------------------------------------------------------------


def make_clip(index: int, seconds: float = CLIP_SECONDS, sr: int = SR) -> np.ndarray:
    """Speech-like: harmonic bursts and noise with pauses, seeded by ``index``."""
    rng = np.random.default_rng(index)
    n = int(seconds * sr)
    y = 0.003 * rng.standard_normal(n)
    pos = 0
    while pos < n:
        length = min(n - pos, int(rng.uniform(0.1, 0.4) * sr))
        t = np.arange(length) / sr
        f0 = rng.uniform(100, 300)
        burst = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
        burst = burst + 0.3 * rng.standard_normal(length)
        y[pos : pos + length] += rng.uniform(0.05, 0.3) * burst * np.hanning(length)
        pos += length + int(rng.uniform(0.05, 0.3) * sr)
    return np.clip(y, -1, 1).astype(np.float32)


def write_long_file(path: Path, minutes: float) -> None:
    import soundfile as sf

    with sf.SoundFile(path, "w", samplerate=SR, channels=1, subtype="PCM_16") as f:
        for i in range(int(minutes * 60 / CLIP_SECONDS)):
            f.write(make_clip(10_000 + i))


# --- the three contenders ----------------------------------------------------


def typical_script(y: np.ndarray, tuning: float | None = RECIPE["tuning"]) -> None:
    import librosa

    kw = dict(n_fft=RECIPE["n_fft"], hop_length=RECIPE["hop_length"])
    librosa.power_to_db(np.abs(librosa.stft(y, **kw)) ** 2)
    librosa.feature.melspectrogram(y=y, sr=SR, n_mels=RECIPE["n_mels"], **kw)
    librosa.feature.mfcc(y=y, sr=SR, n_mfcc=RECIPE["n_mfcc"], n_mels=RECIPE["n_mels"], **kw)
    librosa.feature.chroma_stft(y=y, sr=SR, n_chroma=RECIPE["n_chroma"], tuning=tuning, **kw)


def earmark(y: np.ndarray) -> None:
    from apps.processing.dsp import compute_features

    compute_features(y, params())


_FLOOR_WINDOW: dict[int, np.ndarray] = {}


def floor(y: np.ndarray, in_place: bool = True) -> None:
    """Pad, frame, window, rfft in chunks of the engine's size: the least any STFT-based pipeline must do.

    The rfft is the engine's own call, pocketfft's real transform in place in the windowed frames
    (``scipy.fftpack.rfft(overwrite_x=True)``); ``in_place=False`` makes the usual ``scipy.fft.rfft`` call instead,
    which allocates each chunk's complex spectrum (the same values; 0-5 % slower in the runs of docs/performance.md).
    """
    import scipy.fft
    import scipy.fftpack
    import scipy.signal

    from apps.processing.dsp.features import _CHUNK_SAMPLES

    n_fft, hop = RECIPE["n_fft"], RECIPE["hop_length"]
    if n_fft not in _FLOOR_WINDOW:
        _FLOOR_WINDOW[n_fft] = scipy.signal.get_window("hann", n_fft, fftbins=True).astype(np.float32)
    window = _FLOOR_WINDOW[n_fft]
    chunk = max(8, _CHUNK_SAMPLES // n_fft)  # the engine's frames per chunk
    padded = np.pad(y, n_fft // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]
    for start in range(0, frames.shape[0], chunk):
        if in_place:
            scipy.fftpack.rfft(frames[start : start + chunk] * window, axis=-1, overwrite_x=True)
        else:
            scipy.fft.rfft(frames[start : start + chunk] * window, axis=-1)


def floor_scipy_fft(y: np.ndarray) -> None:
    floor(y, in_place=False)


def earmark_auto_tuning(y: np.ndarray) -> None:
    from apps.processing.dsp import compute_features

    compute_features(y, params().replace(tuning=None))


def cpu_throughput(fn, clips: list[np.ndarray]) -> float:
    """Audio seconds per CPU second over all clips (after one untimed call)."""
    fn(clips[0])
    start = time.process_time()
    for y in clips:
        fn(y)
    return len(clips) * CLIP_SECONDS / (time.process_time() - start)


def interleaved(contenders: dict, clips: list[np.ndarray], rounds: int = 3) -> dict[str, float]:
    """Audio s per CPU s of each contender, over ``rounds`` rounds that take turns (order reversed every round)."""
    names = list(contenders)
    audio = {n: 0.0 for n in names}
    cpu = {n: 0.0 for n in names}
    for fn in contenders.values():
        fn(clips[0])  # first-call costs off the books
    for r in range(rounds):
        for name in names if r % 2 == 0 else reversed(names):
            start = time.process_time()
            for y in clips:
                contenders[name](y)
            cpu[name] += time.process_time() - start
            audio[name] += len(clips) * CLIP_SECONDS
    return {n: audio[n] / cpu[n] for n in names}


# --- workers -----------------------------------------------------------------

_CLIPS: list[np.ndarray] = []


def _worker_init() -> None:
    from apps.processing.dsp import warm_up
    from apps.processing.dsp.allocator import allocator_tune

    allocator_tune()  # as worker_process_init does in config/celery.py

    # Linux's autogroup scheduler shares CPU per session, so on a machine busy
    # with other sessions a pool in one session gets one session's share however
    # many workers it has. Give each worker its own session, as separately
    # started worker processes would have.
    if hasattr(os, "setsid"):
        try:
            os.setsid()
        except OSError:
            pass

    warm_up(params())


def _worker_task(index: int) -> float:
    start = time.process_time()
    earmark(_CLIPS[index])
    return time.process_time() - start


def worker_throughput(n_workers: int, n_clips: int) -> tuple[float, float]:
    """(audio s per wall s, CPUs the workers actually got) with ``n_workers`` warmed processes."""
    ctx = multiprocessing.get_context("fork")  # children share the parent's clips
    with ProcessPoolExecutor(n_workers, mp_context=ctx, initializer=_worker_init) as pool:
        list(pool.map(_worker_task, range(n_workers * 2)))  # every worker started and warm
        start = time.perf_counter()
        cpu = sum(pool.map(_worker_task, range(n_clips), chunksize=2))
        wall = time.perf_counter() - start
    return n_clips * CLIP_SECONDS / wall, cpu / wall


# --- child processes (fresh interpreters) ------------------------------------


def child(mode: str, arg: str) -> dict:
    if mode == "first-task":
        warm = arg == "warm_up"
        t0 = time.perf_counter()
        from apps.processing.dsp import warm_up
        from apps.processing.dsp.allocator import allocator_tune

        if warm:
            allocator_tune()  # a worker child's start (config/celery.py)

        t_import = time.perf_counter() - t0
        clips = [make_clip(i) for i in range(6)]
        t_warm_up = warm_up(params()) if warm else 0.0
        times = []
        for y in clips:
            t = time.perf_counter()
            earmark(y)
            times.append(time.perf_counter() - t)
        return {"import": t_import, "warm_up": t_warm_up, "first": times[0], "warm": statistics.median(times[1:])}
    if mode in ("fresh-earmark", "fresh-earmark-untuned", "fresh-floor"):
        # What a worker child does before its first task (config/celery.py): allocator settings, then warm_up().
        import resource

        from apps.processing.dsp.allocator import allocator_tune

        if mode != "fresh-earmark-untuned":
            allocator_tune()
        n_clips = int(arg)
        clips = [make_clip(i) for i in range(n_clips)]
        if mode == "fresh-floor":
            fn = floor
        else:
            from apps.processing.dsp import warm_up

            warm_up(params())
            fn = earmark
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t = time.process_time()
        for y in clips:
            fn(y)
        cpu = time.process_time() - t
        return {
            "tp": n_clips * CLIP_SECONDS / cpu,
            "faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults,
        }
    if mode == "stream":
        from apps.processing.dsp import stream_features, warm_up

        warm_up(params())
        with tempfile.TemporaryDirectory() as out:
            start_kb = rss_peak_kb(os.getpid())
            t = time.process_time()
            stream_features(arg, params(), out_dir=out)
            return {"cpu": time.process_time() - t, "peak_kb": rss_peak_kb(os.getpid()), "start_kb": start_kb}
    if mode == "typical-whole":
        import librosa

        typical_script(make_clip(0)[:SR])  # librosa's own first-call costs, off the books
        start_kb = rss_peak_kb(os.getpid())
        t = time.process_time()
        y, _ = librosa.load(arg, sr=None)
        typical_script(y)
        return {"cpu": time.process_time() - t, "peak_kb": rss_peak_kb(os.getpid()), "start_kb": start_kb}
    raise SystemExit(f"unknown child mode {mode}")


def run_child(mode: str, arg: str, numba_cache: Path = NUMBA_CACHE) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(numba_cache), PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, arg],
        env=env,
        cwd=str(ROOT),
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- report ------------------------------------------------------------------


def row(name: str, value: str, baseline: str = "", ratio: str = "", note: str = "") -> None:
    print(f"  {name:<44} {value:>14} {baseline:>14} {ratio:>9}  {note}")


def verdict(ok: bool) -> str:
    return "meets target" if ok else "BELOW target"


def section_single(args) -> None:
    print("\n1. Single process, audio seconds per CPU second (rounds interleaved)")
    row("", "Earmark", "baseline", "ratio")
    rounds = max(1, args.rounds)
    tp = interleaved(
        {"earmark": earmark, "typical": typical_script, "floor": floor, "floor_fft": floor_scipy_fft}, _CLIPS, rounds
    )
    few = _CLIPS[: max(1, args.clips // 4)]
    auto = interleaved(
        {"earmark": earmark_auto_tuning, "typical": lambda y: typical_script(y, tuning=None)}, few, rounds
    )
    ours = tp["earmark"]
    row(
        "one-STFT features vs typical script",
        f"{ours:10.1f}",
        f"{tp['typical']:10.1f}",
        f"{ours / tp['typical']:7.2f}x",
        f"chroma tuning fixed on both sides; target >= 3x: {verdict(ours >= 3 * tp['typical'])}",
    )
    row(
        "one-STFT features vs the chunked floor",
        f"{ours:10.1f}",
        f"{tp['floor']:10.1f}",
        f"{ours / tp['floor']:7.2f}x",
        "pad/frame/window/rfft in the engine's chunks, the engine's in-place FFT call",
    )
    row(
        "(context) the same floor with scipy.fft.rfft",
        f"{ours:10.1f}",
        f"{tp['floor_fft']:10.1f}",
        f"{ours / tp['floor_fft']:7.2f}x",
        "the usual call: each chunk's complex spectrum allocated",
    )
    row(
        "both with chroma's automatic tuning",
        f"{auto['earmark']:10.1f}",
        f"{auto['typical']:10.1f}",
        f"{auto['earmark'] / auto['typical']:7.2f}x",
        f"({len(few)} clips; Earmark estimates the tuning once per clip too)",
    )


def section_memory(args) -> None:
    print(f"\n2. Peak memory for a {args.long_minutes:g}-minute {SR} Hz mono file (fresh process, VmHWM)")
    with tempfile.TemporaryDirectory(dir=ROOT / "var") as tmp:
        long_path = Path(tmp) / "long.wav"
        write_long_file(long_path, args.long_minutes)
        audio_s = args.long_minutes * 60
        size_mb = long_path.stat().st_size / 1e6
        ours_m = run_child("stream", str(long_path))
        base_m = run_child("typical-whole", str(long_path))
    row("", "Earmark", "typical", "ratio")
    row(
        "peak RSS (MB), block-wise to .npy vs load+script",
        f"{ours_m['peak_kb'] / 1024:10.0f}",
        f"{base_m['peak_kb'] / 1024:10.0f}",
        f"{base_m['peak_kb'] / ours_m['peak_kb']:7.1f}x",
        f"(file {size_mb:.0f} MB)",
    )
    row(
        "peak RSS growth over the warmed-up process (MB)",
        f"{(ours_m['peak_kb'] - ours_m['start_kb']) / 1024:10.0f}",
        f"{(base_m['peak_kb'] - base_m['start_kb']) / 1024:10.0f}",
        f"{(base_m['peak_kb'] - base_m['start_kb']) / max(1, ours_m['peak_kb'] - ours_m['start_kb']):7.1f}x",
    )
    row(
        "audio s per CPU s on that file",
        f"{audio_s / ours_m['cpu']:10.1f}",
        f"{audio_s / base_m['cpu']:10.1f}",
        f"{base_m['cpu'] / ours_m['cpu']:7.2f}x",
        "(Earmark includes decoding and writing .npy)",
    )


def section_workers(args) -> None:
    print(
        f"\n3. Worker processes, audio seconds per wall second ({os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f})"
    )
    # Alternate the runs and keep each setting's best: other load on the machine comes and goes.
    runs = {1: [], 2: []}
    for n in (1, 2) * 3:
        runs[n].append(worker_throughput(n, args.clips))
    (one, cpus1), (two, cpus2) = max(runs[1]), max(runs[2])
    row("", "2 workers", "1 worker", "ratio")
    row(
        "Earmark features",
        f"{two:10.1f}",
        f"{one:10.1f}",
        f"{two / one:7.2f}x",
        f"target >= 1.8x: {verdict(two >= 1.8 * one)}",
    )
    row(
        "CPUs the workers actually got",
        f"{cpus2:10.2f}",
        f"{cpus1:10.2f}",
        f"{cpus2 / cpus1:7.2f}x",
        "(the ceiling for the ratio above on a shared machine)",
    )
    row(
        "audio s per worker CPU s",
        f"{two / cpus2:10.1f}",
        f"{one / cpus1:10.1f}",
        f"{(two / cpus2) / (one / cpus1):7.2f}x",
        "(1.0 = workers do not slow each other)",
    )


def section_first_task(args) -> None:
    print("\n4. First task in a fresh process vs a warm task (one 10 s clip), seconds")
    warm = run_child("first-task", "warm_up")
    bare = run_child("first-task", "none")
    with tempfile.TemporaryDirectory(dir=ROOT / "var") as cold_cache:
        cold = run_child("first-task", "warm_up", numba_cache=Path(cold_cache))
    row("", "first task", "warm task", "ratio")
    row(
        "after warm_up() (numba cache warm): workers",
        f"{warm['first']:10.3f}",
        f"{warm['warm']:10.3f}",
        f"{warm['first'] / warm['warm']:7.2f}x",
        f"target <= 2x: {verdict(warm['first'] <= 2 * warm['warm'])}; warm_up {warm['warm_up']:.2f} s, "
        f"import {warm['import']:.2f} s",
    )
    row(
        "(context) no warm_up(), numba cache warm",
        f"{bare['first']:10.3f}",
        f"{bare['warm']:10.3f}",
        f"{bare['first'] / bare['warm']:7.2f}x",
    )
    row(
        "(context) warm_up() with a cold numba cache",
        f"{cold['first']:10.3f}",
        f"{cold['warm']:10.3f}",
        f"{cold['first'] / cold['warm']:7.2f}x",
        f"warm_up {cold['warm_up']:.2f} s",
    )


def section_fresh(args) -> None:
    print(f"\n5. Features in a fresh worker process after warm_up() only, {args.clips} clips once, audio s per CPU s")
    runs: dict[str, list[dict]] = {"fresh-earmark": [], "fresh-floor": [], "fresh-earmark-untuned": []}
    for r in range(max(1, args.rounds)):
        for mode in list(runs) if r % 2 == 0 else reversed(list(runs)):
            runs[mode].append(run_child(mode, str(args.clips)))
    med = {m: statistics.median(x["tp"] for x in v) for m, v in runs.items()}
    faults = {m: statistics.median(x["faults"] for x in v) for m, v in runs.items()}
    row("", "Earmark", "floor", "ratio")
    ours, base = med["fresh-earmark"], med["fresh-floor"]
    row(
        "fresh worker (allocator settings + warm_up) vs chunked floor",
        f"{ours:10.1f}",
        f"{base:10.1f}",
        f"{ours / base:7.2f}x",
        f"target >= 0.6x: {verdict(ours >= 0.6 * base)}; {faults['fresh-earmark']:.0f} minor faults",
    )
    untuned = med["fresh-earmark-untuned"]
    row(
        "(context) fresh worker without the allocator settings",
        f"{untuned:10.1f}",
        f"{base:10.1f}",
        f"{untuned / base:7.2f}x",
        f"{faults['fresh-earmark-untuned']:.0f} minor faults (medians of {len(runs['fresh-floor'])} rounds)",
    )


SECTIONS = {"1": section_single, "2": section_memory, "3": section_workers, "4": section_first_task, "5": section_fresh}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=200)
    ap.add_argument("--long-minutes", type=float, default=30.0)
    ap.add_argument("--sections", default="12345", help="which numbered sections to run, e.g. 13")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds per comparison")
    ap.add_argument("--child", nargs=2, metavar=("MODE", "ARG"))
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return

    import librosa
    import scipy

    from apps.processing.dsp import warm_up

    print(
        f"Earmark feature benchmark  (numpy {np.__version__}, scipy {scipy.__version__}, "
        f"librosa {librosa.__version__}; 1 BLAS/OpenMP thread per process; load {os.getloadavg()[0]:.2f})"
    )
    print(f"recipe: {RECIPE}")
    if set(args.sections) & {"1", "3"}:
        print(f"generating {args.clips} clips of {CLIP_SECONDS:.0f} s at {SR} Hz ...", flush=True)
        _CLIPS[:] = [make_clip(i) for i in range(args.clips)]
    warm_up(params())
    for key in args.sections:
        SECTIONS[key](args)


if __name__ == "__main__":
    main()
