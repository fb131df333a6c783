"""Release export throughput and memory, next to plain `tar` of the same audio.

Run: .venv/bin/python benchmarks/export.py [--clips 10000] [--small 1000]

1. Writes N distinct 1-second 16 kHz noise clips as FLAC files (the inputs).
2. For each format, builds a release from those files into a temp dir and
   prints clips/s and MB/s (audio bytes in), beside two baselines measured in
   the same run: GNU `tar cf` of the clip folder and Python's tarfile writing
   the same files.
3. Builds each format in a child process for the small and the full clip
   count and prints the child's peak RSS (getrusage(RUSAGE_CHILDREN) read in a
   wrapper process, so every figure is one build's own peak).

4. End to end, as the exports worker runs it: a child process with its own
   SQLite database and media folder holds N consented recordings (the same
   FLAC clips as originals); for each format it creates a release and runs
   `release_build` (consent selector, manifest, audio: these whole 16-bit
   FLAC clips are copied frame for frame, the writer, storage, consent
   re-check) and prints clips/s beside `tar cf`, the build's CPU seconds (all
   its threads, and the process that creates a file-per-clip release's files)
   beside tar's user + system seconds, and the child's peak RSS
   for the small and the full clip count.

Outputs with a file per clip (cp -r, jsonl, csv, lhotse) are kept until the
run ends; single-file outputs are deleted at once. Deleting 10,000 files makes
ext4 slow to create new ones for a few minutes (perf shows the time in the
inode allocator's `recently_deleted` scan): deleting each tree before the next
timed run cost the next file-per-clip writer up to 6 s of kernel time. After
every timed job, untimed, `sync` writes its dirty pages back, so no job pays
for an earlier one's writeback.

Prints figures only; never asserts on time. Targets (DESIGN.md): webdataset
and jsonl at least half of tar's throughput; peak RSS under 300 MB and flat
between the two sizes.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import positive  # noqa: E402

from apps.datasets.formats import FORMATS, WRITERS, Example, LocalDirSink, write_release  # noqa: E402

SR = 16000
SPLIT_OF = ["train"] * 8 + ["validation", "test"]


def make_clips(folder: Path, n: int) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        noise = (rng.standard_normal(SR) * 3000).astype(np.int16)
        sf.write(folder / f"r{i:06d}.flac", noise, SR, format="FLAC", subtype="PCM_16")
    return sum(p.stat().st_size for p in folder.iterdir())


def examples(folder: Path, n: int):
    for i in range(n):
        path = folder / f"r{i:06d}.flac"
        yield Example(
            key=f"r{i:06d}",
            split=SPLIT_OF[i % 10],
            audio=lambda p=path: open(p, "rb"),
            sample_rate=SR,
            num_samples=SR,
            text=f"clip number {i}",
            labels=(("noise", "hiss")[i % 2],),
            speaker=f"spk{i % 97:03d}",
            language="en",
            recording_id=str(i),
        )


def split_counts(n: int) -> dict[str, int]:
    counts = dict.fromkeys(("train", "validation", "test"), 0)
    for i in range(n):
        counts[SPLIT_OF[i % 10]] += 1
    return counts


def build(fmt: str, folder: Path, n: int, out: Path) -> None:
    write_release(
        examples(folder, n),
        {fmt: LocalDirSink(out)},
        split_counts=split_counts(n),
        card_stats={"name": "benchmark", "splits": {}},
    )


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def children_cpu() -> float:
    """User + system seconds of every child process waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def python_tar(folder: Path, target: Path) -> None:
    with tarfile.open(target, "w") as tar:
        for path in sorted(folder.iterdir()):
            tar.add(path, arcname=path.name)


def child_peak_rss_mb(args: list[str]) -> float:
    """Peak RSS of one child, read with RUSAGE_CHILDREN inside a fresh wrapper process."""
    wrapper = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", wrapper, *args], check=True, capture_output=True, text=True)
    return int(out.stdout.split()[-1]) / 1024  # Linux reports KiB


def child_env(var: Path) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "EARMARK_STORAGE", "MEDIA_ROOT")
    }
    env.update(
        {
            "EARMARK_VAR_DIR": str(var),
            "DJANGO_SETTINGS_MODULE": "benchmarks.bench_settings",
            "SECRET_KEY": "benchmark-only-secret-key-000000000000000000000",
            "EARMARK_ENV_FILE": "/nonexistent",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def seed(folder: Path, n: int) -> None:
    """Child: migrate a fresh database and register N consented recordings whose originals are the clips."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from apps.catalog.flac import flac_copy_sha256
    from apps.catalog.models import Language, Project, Recording, Speaker
    from apps.consent.services import consents_grant_bulk

    call_command("migrate", verbosity=0)
    project = Project.objects.create(name="bench")
    speakers = Speaker.objects.bulk_create([Speaker(project=project, code=f"spk{i:03d}") for i in range(97)])
    consents_grant_bulk(speakers=speakers)
    lang = Language.objects.get_or_create(tag="en")[0]
    originals = Path(settings.MEDIA_ROOT) / "originals"
    originals.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        src = folder / f"r{i:06d}.flac"
        os.link(src, originals / src.name)
        rows.append(
            Recording(
                project=project,
                speaker=speakers[i % 97],
                language=lang,
                original_key=f"originals/{src.name}",
                sha256=f"{i:064x}",
                copy_sha256=flac_copy_sha256(src.read_bytes()),  # as ingest takes it (ingest.FileSource.copy_sha256)
                container="flac",
                codec="FLAC",
                sample_rate=SR,
                channels=1,
                frames=SR,
                duration=1.0,
                bytes=src.stat().st_size,
                status="ready",
            )
        )
    # Fixture rows for the benchmark (a write); every read in the build goes through the consent selector.
    Recording._default_manager.bulk_create(rows, batch_size=1000)


def build_e2e(fmt: str) -> None:
    """Child: create and build one release of every seeded recording in ``fmt``; print the build's seconds."""
    import django

    django.setup()
    from apps.catalog.models import Project
    from apps.datasets.services import release_build, release_create
    from apps.processing.dsp.allocator import allocator_tune

    allocator_tune()  # as every worker child starts (config/celery.py, worker_process_init)
    project = Project.objects.get(name="bench")
    release = release_create(actor=None, project_id=project.id, spec={"formats": [fmt]}, enqueue=False)
    start, cpu = time.perf_counter(), time.process_time() + children_cpu()
    release = release_build(release_id=release.id)
    # CPU: every thread of the build, and its helper process (the file-per-clip formats' file creation)
    secs, cpu = time.perf_counter() - start, time.process_time() + children_cpu() - cpu
    assert release.status == "ready", release.error
    print(f"E2E {secs:.3f} {cpu:.3f} {release.stats['items']}")
    if not WRITERS[fmt].audio_files:  # a file per clip stays until the run ends (see the module docstring)
        from apps.datasets.services.storage import storage_delete_prefix

        storage_delete_prefix(release.storage_prefix)


def e2e_run(fmt: str, var: Path) -> tuple[float, float, float]:
    """(build seconds, build CPU seconds, peak RSS MB) of one end-to-end build in a fresh child."""
    wrapper = (
        "import resource, subprocess, sys; "
        "r = subprocess.run(sys.argv[1:], check=True, capture_output=True, text=True); "
        "print(r.stdout); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", wrapper, sys.executable, __file__, "--e2e", fmt],
        check=True,
        capture_output=True,
        text=True,
        env=child_env(var),
    ).stdout.split()
    at = out.index("E2E")
    return float(out[at + 1]), float(out[at + 2]), int(out[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=positive, default=10_000, help="clips in the timed runs (at least 1)")
    parser.add_argument("--small", type=positive, default=1_000, help="the second size for peak RSS (at least 1)")
    parser.add_argument("--child", nargs=3, metavar=("FORMAT", "CLIPS_DIR", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    parser.add_argument("--seed", nargs=2, metavar=("CLIPS_DIR", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--e2e", metavar="FORMAT", help=argparse.SUPPRESS)
    parser.add_argument("--skip-e2e", action="store_true", help="only the writers, not the Django build")
    parser.add_argument("--repeat", type=positive, default=5, help="rounds; the best time of each writer is printed")
    args = parser.parse_args()
    # The two sizes may be equal or in either order: each distinct size is built once, into its own folder.
    sizes = sorted({args.small, args.clips})
    if args.seed:
        return seed(Path(args.seed[0]), int(args.seed[1]))
    if args.e2e:
        return build_e2e(args.e2e)
    if args.child:
        fmt, folder, n = args.child
        if fmt != "import-only":
            build(fmt, Path(folder), int(n), Path(args.child_out))
        return

    with tempfile.TemporaryDirectory(prefix="earmark-bench-") as tmp:
        tmp = Path(tmp)
        every_clip = tmp / "clips-all"  # as many clips as the larger size needs, read by the child builds
        t = time.perf_counter()
        make_clips(every_clip, sizes[-1])
        clips = every_clip
        if sizes[-1] > args.clips:  # the timed jobs (tar, cp -r, writers) see exactly --clips files
            clips = tmp / "clips"
            clips.mkdir()
            for i in range(args.clips):
                os.link(every_clip / f"r{i:06d}.flac", clips / f"r{i:06d}.flac")
        mb = sum(p.stat().st_size for p in clips.iterdir()) / 1e6
        print(f"{args.clips} clips of 1 s 16 kHz FLAC, {mb:.1f} MB, generated in {time.perf_counter() - t:.1f} s")
        print(
            f"\nThroughput ({args.clips} clips; audio MB in / wall second; best of {args.repeat}, "
            "each round running every writer once, so load on a shared machine hits all alike)"
        )
        print(f"{'writer':<22}{'seconds':>9}{'clips/s':>10}{'MB/s':>8}{'vs tar cf':>11}")

        def gnu_tar():
            subprocess.run(["tar", "cf", str(tmp / "gnu.tar"), "-C", str(clips), "."], check=True)
            (tmp / "gnu.tar").unlink()

        def py_tar():
            python_tar(clips, tmp / "py.tar")
            (tmp / "py.tar").unlink()

        kept = tmp / "kept"  # outputs with a file per clip, deleted with tmp at the end (module docstring)
        kept.mkdir()

        def writer(fmt):
            def run():
                out = kept / f"{fmt}-{time.monotonic_ns()}" if WRITERS[fmt].audio_files else tmp / fmt
                build(fmt, clips, args.clips, out)
                if not WRITERS[fmt].audio_files:
                    shutil.rmtree(out)

            return run

        def cp_r():
            subprocess.run(["cp", "-r", str(clips), str(kept / f"copy-{time.monotonic_ns()}")], check=True)

        def python_floor():
            """The bare single-threaded loop of a file-per-clip writer: read, create, write, sha256; no manifest."""
            out = kept / f"floor-{time.monotonic_ns()}"
            out.mkdir()
            for i in range(args.clips):
                name = f"r{i:06d}.flac"
                with open(clips / name, "rb") as src:
                    data = src.read()
                with open(out / name, "xb") as dst:
                    dst.write(data)
                hashlib.sha256(data).hexdigest()

        jobs = [("tar cf (GNU)", gnu_tar)] if shutil.which("tar") else []
        jobs += [("cp -r (file per clip)", cp_r), ("python loop per clip", python_floor), ("python tarfile", py_tar)]
        jobs += [(fmt, writer(fmt)) for fmt in FORMATS]
        best = {name: float("inf") for name, _ in jobs}
        for _ in range(args.repeat):
            for name, fn in jobs:
                best[name] = min(best[name], timed(fn))
                os.sync()  # untimed: the next job starts with no dirty pages of this one to write back
        base = best[jobs[0][0]]
        for name, secs in best.items():
            print(f"{name:<22}{secs:>9.2f}{args.clips / secs:>10.0f}{mb / secs:>8.0f}{base / secs:>10.2f}x")

        print("\nPeak RSS of a child process building the release (MB)")
        print(f"{'writer':<22}" + "".join(f"{n:>9}" for n in sizes))
        for fmt in ("import-only", *FORMATS):
            peaks = []
            for n in sizes:
                out = kept / f"rss-{fmt}-{n}-{time.monotonic_ns()}"
                cmd = [sys.executable, __file__, "--child", fmt, str(every_clip), str(n), "--child-out", str(out)]
                peaks.append(child_peak_rss_mb(cmd))
                if fmt == "import-only" or not WRITERS[fmt].audio_files:
                    shutil.rmtree(out, ignore_errors=True)
            print(f"{fmt:<22}" + "".join(f"{peak:>9.0f}" for peak in peaks))
        print("\nimport-only: python + numpy + pyarrow + the writers imported, nothing built.")
        if args.skip_e2e:
            return

        print(
            "\nEnd to end: release_build in a worker-like child "
            "(SQLite, local storage; FLAC clips copied frame for frame)"
        )
        print(
            f"{'format':<22}{'seconds':>9}{'clips/s':>10}{'vs tar cf':>11}{'CPU s':>8}{'vs tar CPU':>12}"
            + "".join(f"{'RSS ' + str(n):>12}" for n in sizes)
        )
        vars_ = {}
        for n in sizes:  # one database and media folder per distinct size, seeded once
            vars_[n] = tmp / f"var-{n}"
            subprocess.run(
                [sys.executable, __file__, "--seed", str(every_clip), str(n)], check=True, env=child_env(vars_[n])
            )
        for fmt in FORMATS:
            rss = dict.fromkeys(sizes, 0.0)
            for n in sizes:
                if n != args.clips:
                    rss[n] = e2e_run(fmt, vars_[n])[2]
                    os.sync()
            secs = cpu = tar_now = tar_cpu = float("inf")
            for _ in range(args.repeat):  # best of N builds, tar measured beside each one: same load
                build_secs, build_cpu, peak = e2e_run(fmt, vars_[args.clips])
                os.sync()
                secs, cpu, rss[args.clips] = min(secs, build_secs), min(cpu, build_cpu), max(rss[args.clips], peak)
                before = children_cpu()
                tar_now = min(tar_now, timed(gnu_tar))
                tar_cpu = min(tar_cpu, children_cpu() - before)
                os.sync()
            print(
                f"{fmt:<22}{secs:>9.2f}{args.clips / secs:>10.0f}{tar_now / secs:>10.2f}x"
                f"{cpu:>8.2f}{tar_cpu / cpu:>11.2f}x" + "".join(f"{rss[n]:>12.0f}" for n in sizes)
            )
        print(
            "\nvs tar cf: the build's seconds against GNU tar archiving the same clip files (best of "
            f"{args.repeat} each, side by side). CPU s: the build's process time (all its threads); vs tar CPU: "
            "tar's user + system seconds against it (best of each). cp -r and the bare python loop above show what "
            "a file per clip costs on this disk."
        )


if __name__ == "__main__":
    main()
