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

Prints figures only; never asserts on time. Targets (DESIGN.md): webdataset
and jsonl at least half of tar's throughput; peak RSS under 300 MB and flat
between the two sizes.
"""

from __future__ import annotations

import argparse
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

from apps.datasets.formats import FORMATS, Example, LocalDirSink, write_release  # noqa: E402

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
            key=f"r{i:06d}", split=SPLIT_OF[i % 10], audio=lambda p=path: open(p, "rb"), sample_rate=SR,
            num_samples=SR, text=f"clip number {i}", labels=(("noise", "hiss")[i % 2],),
            speaker=f"spk{i % 97:03d}", language="en", recording_id=str(i),
        )  # fmt: skip


def split_counts(n: int) -> dict[str, int]:
    counts = dict.fromkeys(("train", "validation", "test"), 0)
    for i in range(n):
        counts[SPLIT_OF[i % 10]] += 1
    return counts


def build(fmt: str, folder: Path, n: int, out: Path) -> None:
    write_release(examples(folder, n), {fmt: LocalDirSink(out)}, split_counts=split_counts(n),
                  card_stats={"name": "benchmark", "splits": {}})  # fmt: skip


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--child", nargs=3, metavar=("FORMAT", "CLIPS_DIR", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        fmt, folder, n = args.child
        if fmt != "import-only":
            build(fmt, Path(folder), int(n), Path(args.child_out))
        return

    with tempfile.TemporaryDirectory(prefix="earmark-bench-") as tmp:
        tmp = Path(tmp)
        clips = tmp / "clips"
        t = time.perf_counter()
        total = make_clips(clips, args.clips)
        mb = total / 1e6
        print(f"{args.clips} clips of 1 s 16 kHz FLAC, {mb:.1f} MB, generated in {time.perf_counter() - t:.1f} s")
        print(f"\nThroughput ({args.clips} clips; audio MB in / wall second)")
        print(f"{'writer':<22}{'seconds':>9}{'clips/s':>10}{'MB/s':>8}{'vs tar cf':>11}")
        rows = []
        if shutil.which("tar"):
            rows.append(("tar cf (GNU)", timed(lambda: subprocess.run(["tar", "cf", str(tmp / "gnu.tar"), "-C", str(clips), "."], check=True))))
        rows.append(("python tarfile", timed(lambda: python_tar(clips, tmp / "py.tar"))))
        for fmt in FORMATS:
            rows.append((fmt, timed(lambda: build(fmt, clips, args.clips, tmp / fmt))))
            shutil.rmtree(tmp / fmt)
        base = rows[0][1]
        for name, secs in rows:
            print(f"{name:<22}{secs:>9.2f}{args.clips / secs:>10.0f}{mb / secs:>8.0f}{base / secs:>10.2f}x")

        print("\nPeak RSS of a child process building the release (MB)")
        print(f"{'writer':<22}{args.small:>9}{args.clips:>9}")
        for fmt in ("import-only", *FORMATS):
            peaks = []
            for n in (args.small, args.clips):
                out = tmp / f"rss-{fmt}-{n}"
                cmd = [sys.executable, __file__, "--child", fmt, str(clips), str(n), "--child-out", str(out)]
                peaks.append(child_peak_rss_mb(cmd))
                shutil.rmtree(out, ignore_errors=True)
            print(f"{fmt:<22}{peaks[0]:>9.0f}{peaks[1]:>9.0f}")
        print("\nimport-only: python + numpy + pyarrow + the writers imported, nothing built.")


if __name__ == "__main__":
    main()
