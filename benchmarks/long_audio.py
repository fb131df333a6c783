"""Long recordings: peak memory per processing stage, seconds and artifact bytes per audio hour.

Run from the repository root:  python -m benchmarks.long_audio  [--lengths 5s,60m,3h] [--baseline fd3b00a] [--rounds 3]

For each length it generates a 16 kHz mono 16-bit FLAC (sox: pink noise under a slow tremolo, so the
spectrum moves and FLAC cannot squeeze it to nothing) and processes it with the project's default recipe
twice, each time in a fresh process that first does what a worker child does before its first job:

- Earmark: this working tree's ``pipeline_run`` followed by review's ``qa_on_processed`` with what the pass measured
  (the runner's path);
- baseline: the same two calls in the code of ``--baseline`` (default fd3b00a, the tree before issue 14),
  extracted with ``git archive`` into a scratch folder, so the old pipeline runs exactly as it was.

Each child works on its own SQLite database and media folder. Peak RSS per stage is the kernel's high-water
mark (VmHWM), reset at every stage change through /proc/self/clear_refs (Linux); time is the child's CPU
seconds (user + system, one core: the fair clock on a shared machine) and its wall seconds. The two trees
take turns going first; with ``--rounds N`` each runs N times per length (still taking turns) and the run with
the median CPU time is printed, with every round's figure and ratio. Silero VAD, which the runner has run on
recordings without a speaker since issue 12 and fd3b00a did not have, is timed on its own line and left out of
the ratio. A baseline that dies (3 h at
fd3b00a needs several GB) is reported as failed. Prints figures; never passes or fails on them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UNITS = {"s": 1, "m": 60, "h": 3600}


def _seconds(name: str) -> int:
    """'5s', '60m', '3h' -> seconds."""
    if len(name) < 2 or name[-1] not in UNITS or not name[:-1].isdigit():
        raise SystemExit(f"Lengths look like 5s, 60m or 3h, not {name!r}.")
    return int(name[:-1]) * UNITS[name[-1]]


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"No {field} in /proc/self/status (Linux only).")


def _cpu() -> float:
    """CPU seconds (user + system) of this process so far: on a shared machine, a fairer clock than the wall."""
    t = os.times()
    return t.user + t.system


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def _generate(path: Path, seconds: int) -> None:
    subprocess.run(
        [
            "sox",
            "-n",
            "-r",
            "16000",
            "-b",
            "16",
            "-c",
            "1",
            str(path),
            "synth",
            str(seconds),
            "pinknoise",
            "vol",
            "0.3",
            "tremolo",
            "3",
            "80",
        ],
        check=True,
        capture_output=True,
    )


def _child(root: str, audio: str, work: str) -> None:
    """One processing run in this fresh process; prints a JSON line."""
    sys.path.insert(0, root)
    os.chdir(root)
    os.environ.update(
        {
            "SECRET_KEY": "benchmark-only-secret-key-000000000000000000000",
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "DATABASE_URL": f"sqlite:///{work}/db.sqlite3",
            "MEDIA_ROOT": f"{work}/media",
            "EARMARK_STORAGE": "local",
            "CELERY_BROKER_URL": "memory://",
            "NUMBA_CACHE_DIR": f"{root}/var/numba-cache",
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "NUMBA_NUM_THREADS": "1",
        }
    )
    try:  # what a worker child does first (config/celery.py's worker_process_init), where the tree has it
        from apps.processing.dsp.allocator import allocator_tune
    except ImportError:
        pass
    else:
        allocator_tune()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from apps.catalog.models import Project
    from apps.catalog.services import recording_ingest
    from apps.processing.models import Artifact
    from apps.processing.services import warmup
    from apps.processing.services.pipeline import local_original, pipeline_run
    from apps.processing.services.recipes import project_recipe_get
    from apps.review.services import qa_on_processed

    project = Project.objects.create(name="bench")
    with open(audio, "rb") as fh:
        result = recording_ingest(project=project, fileobj=fh, name=Path(audio).name, queue=False)
    assert result.status == "accepted", result.message
    from apps.catalog.models import Recording

    recording = Recording.objects.get(id=result.recording_id)
    recipe = project_recipe_get(project=project)
    # What the worker does before it forks its children (and what a child holds when idle): fd3b00a warmed up in
    # the worker's main process, so children inherited the warmed state; now a subprocess warms the disk caches.
    if hasattr(warmup, "worker_warm_up_elsewhere"):
        warmup.worker_warm_up_elsewhere()
    else:
        warmup.worker_warm_up()
    idle_kb = _status_kb("VmRSS")

    stages: list[dict] = []
    state = {"stage": None, "t": 0.0, "cpu": 0.0}

    def close_stage() -> None:
        if state["stage"] is not None:
            stages.append(
                {
                    "stage": state["stage"],
                    "seconds": time.perf_counter() - state["t"],
                    "cpu": _cpu() - state["cpu"],
                    "peak_mb": _status_kb("VmHWM") / 1024,
                }
            )

    def progress(stage: str, _percent: float) -> None:
        if stage != state["stage"]:
            close_stage()
            _reset_peak()
            state.update(stage=stage, t=time.perf_counter(), cpu=_cpu())

    workdir = Path(work) / "job"
    workdir.mkdir()
    started = time.perf_counter()
    started_cpu = _cpu()
    pipeline_run(recording=recording, recipe=recipe, progress=progress, workdir=workdir)
    progress("review_qa", 100.0)
    try:  # since issue 14 the pass measures the original for QA, and the runner hands that to review
        from apps.processing.services.pipeline import local_measures
    except ImportError:
        qa_on_processed(recording_id=recording.id, original=local_original(workdir))
    else:
        qa_on_processed(recording_id=recording.id, original=local_original(workdir), measured=local_measures(workdir))
    close_stage()
    seconds, cpu = time.perf_counter() - started, _cpu() - started_cpu
    # Since issue 12 the runner also runs Silero VAD on recordings that name no speaker (like this one); fd3b00a
    # had no such step, so it is timed on its own and left out of the comparison.
    vad = None
    try:
        from apps.processing.services.vad import recording_voice_activity
    except ImportError:
        recording_voice_activity = None
    if recording_voice_activity is not None:
        state["stage"] = None  # review_qa is closed already
        progress("voice_activity", 100.0)
        recording_voice_activity(recording=recording, workdir=workdir)
        close_stage()
        vad = stages.pop()
    arts = list(Artifact.objects.filter(source_sha256=recording.sha256).values_list("kind", "bytes"))
    feature_kinds = {"spectrogram", "mel", "mfcc", "mfcc_delta", "mfcc_delta2", "chroma"}
    print(
        json.dumps(
            {
                "idle_mb": idle_kb / 1024,
                "seconds": seconds,
                "cpu": cpu,
                "vad": vad,
                "loaded": sorted(m for m in ("numba", "matplotlib", "librosa.util", "torch") if m in sys.modules),
                "stages": stages,
                "duration": recording.duration,
                "artifact_bytes": sum(b for _, b in arts),
                "feature_bytes": sum(b for k, b in arts if k in feature_kinds),
                "by_kind": {k: b for k, b in arts if not k.startswith("tile_")},
                "tile_bytes": sum(b for k, b in arts if k.startswith("tile_")),
                "pcm16_bytes": int(round(recording.duration * 16000 * 2)),
            }
        )
    )


def _run(root: Path, audio: Path, tmp: Path, label: str) -> dict:
    """One child run; a failed run (e.g. killed for memory) comes back as {"failed": reason}."""
    work = Path(tempfile.mkdtemp(prefix=f"{label}-", dir=tmp))
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", str(root), str(audio), str(work)],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    subprocess.run(["rm", "-rf", str(work)], check=False)
    if done.returncode:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1][:300]
        reason = "killed (out of memory?)" if done.returncode in (-9, 137) else f"exit {done.returncode}: {tail}"
        return {"failed": reason}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _baseline_tree(rev: str, tmp: Path) -> Path:
    tree = tmp / f"baseline-{rev}"
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def _stage_table(result: dict) -> str:
    return ", ".join(
        f"{s['stage']} {s['peak_mb']:.0f} MB/{s['cpu']:.1f} s" for s in result["stages"] if s["cpu"] >= 0.05
    )


def _print_result(name: str, label: str, hours: float, r: dict) -> None:
    if "failed" in r:
        print(f"{name:>4} {label:18} FAILED: {r['failed']}", flush=True)
        return
    peak = max(s["peak_mb"] for s in r["stages"])
    worst = max(r["stages"], key=lambda s: s["peak_mb"])["stage"]
    print(
        f"{name:>4} {label:18} peak {peak:5.0f} MB ({worst})  idle {r['idle_mb']:4.0f} MB  "
        f"{r['cpu'] / hours:6.1f} CPU-s/audio-h ({r['seconds'] / hours:6.1f} wall)  artifacts "
        f"{r['artifact_bytes'] / hours / 2**20:6.1f} MB/audio-h (features {r['feature_bytes'] / hours / 2**20:.1f} = "
        f"{r['feature_bytes'] / r['pcm16_bytes']:.2f}x 16-bit PCM, tiles {r['tile_bytes'] / hours / 2**20:.1f})",
        flush=True,
    )
    print(f"     per stage (peak RSS / CPU s): {_stage_table(r)}", flush=True)
    if r.get("loaded") is not None:
        print(f"     loaded by the end: {', '.join(r['loaded']) or 'no numba, matplotlib or torch'}", flush=True)
    if r.get("vad"):
        v = r["vad"]
        print(
            f"     + Silero VAD (speakerless recordings only; not in the baseline): peak {v['peak_mb']:.0f} MB, "
            f"{v['cpu'] / hours:.1f} CPU-s/audio-h ({v['seconds'] / hours:.1f} wall)",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="5s,60m,3h", help="comma-separated: 5s, 60m, 3h")
    parser.add_argument("--baseline", default="fd3b00a", help="git revision of the baseline pipeline")
    parser.add_argument("--no-baseline", action="store_true", help="measure this tree only")
    parser.add_argument(
        "--rounds", type=int, default=1, help="runs per tree and length, taking turns; prints the median run's figures"
    )
    parser.add_argument("--child", nargs=3, metavar=("ROOT", "AUDIO", "WORK"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    with tempfile.TemporaryDirectory(prefix="earmark-long-bench-") as tmpname:
        tmp = Path(tmpname)
        baseline = _baseline_tree(args.baseline, tmp)
        rows = []
        for name in args.lengths.split(","):
            seconds = _seconds(name)
            audio = tmp / f"{name}.flac"
            _generate(audio, seconds)
            hours = seconds / 3600
            runs: dict[str, list[dict]] = {"earmark": [], "baseline": []}
            for _round in range(args.rounds):
                # Alternate which tree goes first, so neither always runs on a cooler or warmer machine.
                order = [("earmark", ROOT), ("baseline", baseline)]
                if (len(rows) + _round) % 2:
                    order.reverse()
                for label, tree in order:
                    if label == "earmark" or not args.no_baseline:
                        runs[label].append(_run(tree, audio, tmp, label))
            audio.unlink()
            rows.append(name)
            mine = _median_run(runs["earmark"])
            base = _median_run(runs["baseline"]) if runs["baseline"] else None
            _print_result(name, "Earmark", hours, mine)
            if base is not None:
                _print_result(name, f"baseline {args.baseline}", hours, base)
            if base is not None and "failed" not in base and "failed" not in mine:
                peaks = [max(s["peak_mb"] for s in r["stages"]) for r in (mine, base)]
                print(
                    f"     ratio: {base['cpu'] / mine['cpu']:.2f}x less CPU ({base['seconds'] / mine['seconds']:.2f}x "
                    f"wall), peak {peaks[0] / peaks[1]:.2f}x, "
                    f"feature bytes {mine['feature_bytes'] / max(base['feature_bytes'], 1):.2f}x",
                    flush=True,
                )
            if args.rounds > 1:
                for label, results in runs.items():
                    cpus = ", ".join("failed" if "failed" in r else f"{r['cpu'] / hours:.1f}" for r in results)
                    if cpus:
                        print(f"     {label} CPU-s/audio-h by round: {cpus}", flush=True)
                pairs = [
                    b["cpu"] / m["cpu"]
                    for m, b in zip(runs["earmark"], runs["baseline"], strict=False)
                    if "failed" not in m and "failed" not in b
                ]
                if pairs:
                    print(f"     ratio by round: {', '.join(f'{r:.2f}x' for r in pairs)}", flush=True)


def _median_run(results: list[dict]) -> dict:
    """The run with the median CPU time (the lower middle one for an even count); a failure if every run failed."""
    done = sorted((r for r in results if "failed" not in r), key=lambda r: r["cpu"])
    return done[(len(done) - 1) // 2] if done else results[0]


if __name__ == "__main__":
    main()
