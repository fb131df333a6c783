"""Long recordings: peak memory per processing stage, seconds and artifact bytes per audio hour.

Run from the repository root:  python -m benchmarks.long_audio  [--lengths 5s,60m,3h] [--baseline fd3b00a]

For each length it generates a 16 kHz mono 16-bit FLAC (sox: pink noise under a slow tremolo, so the
spectrum moves and FLAC cannot squeeze it to nothing) and processes it with the project's default recipe
twice, each time in a fresh process that first does what a worker child does before its first job:

- Earmark: this working tree's ``pipeline_run`` followed by review's ``qa_on_processed`` (the runner's path);
- baseline: the same two calls in the code of ``--baseline`` (default fd3b00a, the tree before issue 14),
  extracted with ``git archive`` into a scratch folder, so the old pipeline runs exactly as it was.

Each child works on its own SQLite database and media folder. Peak RSS per stage is the kernel's high-water
mark (VmHWM), reset at every stage change through /proc/self/clear_refs (Linux). Prints figures; never
passes or fails on them.
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
LENGTHS = {"5s": 5, "60m": 3600, "3h": 3 * 3600}


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"No {field} in /proc/self/status (Linux only).")


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
    state = {"stage": None, "t": 0.0}

    def close_stage() -> None:
        if state["stage"] is not None:
            stages.append(
                {
                    "stage": state["stage"],
                    "seconds": time.perf_counter() - state["t"],
                    "peak_mb": _status_kb("VmHWM") / 1024,
                }
            )

    def progress(stage: str, _percent: float) -> None:
        if stage != state["stage"]:
            close_stage()
            _reset_peak()
            state.update(stage=stage, t=time.perf_counter())

    workdir = Path(work) / "job"
    workdir.mkdir()
    started = time.perf_counter()
    pipeline_run(recording=recording, recipe=recipe, progress=progress, workdir=workdir)
    progress("review_qa", 100.0)
    qa_on_processed(recording_id=recording.id, original=local_original(workdir))
    close_stage()
    seconds = time.perf_counter() - started
    arts = list(Artifact.objects.filter(source_sha256=recording.sha256).values_list("kind", "bytes"))
    feature_kinds = {"spectrogram", "mel", "mfcc", "mfcc_delta", "mfcc_delta2", "chroma"}
    print(
        json.dumps(
            {
                "idle_mb": idle_kb / 1024,
                "seconds": seconds,
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
    work = Path(tempfile.mkdtemp(prefix=f"{label}-", dir=tmp))
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", str(root), str(audio), str(work)],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"{label} failed:\n{done.stderr[-3000:]}")
    subprocess.run(["rm", "-rf", str(work)], check=False)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _baseline_tree(rev: str, tmp: Path) -> Path:
    tree = tmp / f"baseline-{rev}"
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def _stage_table(name: str, result: dict) -> str:
    return ", ".join(f"{s['stage']} {s['peak_mb']:.0f}" for s in result["stages"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="5s,60m,3h", help="comma-separated: 5s, 60m, 3h")
    parser.add_argument("--baseline", default="fd3b00a", help="git revision of the baseline pipeline")
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
            seconds = LENGTHS[name]
            audio = tmp / f"{name}.flac"
            _generate(audio, seconds)
            hours = seconds / 3600
            mine = _run(ROOT, audio, tmp, "earmark")
            base = _run(baseline, audio, tmp, "baseline")
            audio.unlink()
            rows.append((name, hours, audio, mine, base))
            for label, r in (("Earmark", mine), (f"baseline {args.baseline}", base)):
                peak = max(s["peak_mb"] for s in r["stages"])
                print(
                    f"{name:>4} {label:18} peak {peak:6.0f} MB  idle {r['idle_mb']:5.0f} MB  "
                    f"{r['seconds'] / hours:7.1f} s/audio-h  artifacts {r['artifact_bytes'] / hours / 2**20:7.1f} "
                    f"MB/audio-h (features {r['feature_bytes'] / hours / 2**20:.1f}, tiles "
                    f"{r['tile_bytes'] / hours / 2**20:.1f}; features / 16-bit PCM "
                    f"{r['feature_bytes'] / r['pcm16_bytes']:.2f})",
                    flush=True,
                )
                print(f"     peak MB per stage: {_stage_table(label, r)}", flush=True)
                print(
                    "     seconds per stage: " + ", ".join(f"{s['stage']} {s['seconds']:.1f}" for s in r["stages"]),
                    flush=True,
                )
            print(
                f"     ratio: {base['seconds'] / mine['seconds']:.2f}x faster, peak "
                f"{max(s['peak_mb'] for s in mine['stages']) / max(s['peak_mb'] for s in base['stages']):.2f}x, "
                f"feature bytes {mine['feature_bytes'] / max(base['feature_bytes'], 1):.2f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()
