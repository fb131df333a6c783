"""Peak memory (VmHWM) of automatic QA on a long recording: block-wise (Earmark) vs whole-signal (baseline).

Run from the repository root:  python -m benchmarks.qa_memory  [--minutes 30] [--sr 44100] [--channels 2]
Writes a speech-like 16-bit WAV of that length to a temp dir, then measures it twice, each in a fresh
subprocess that reports its peak RSS from /proc/self/status (VmHWM):

- Earmark: ``dsp.qa_stream.qa_and_fingerprint_file`` (what review's qa_on_processed runs now);
- baseline: the former path, ``soundfile.read`` of the whole file, ``qa_measure`` and ``fingerprint``.

Also prints the peak of a process that only imports the same modules, and how far the two results
differ. Prints figures; never passes or fails on them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent


def _vmhwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("No VmHWM in /proc/self/status (Linux only).")


def _write_wav(path: Path, minutes: float, sr: int, channels: int) -> None:
    import numpy as np
    import soundfile as sf

    chunk_s = 10
    with sf.SoundFile(path, "w", samplerate=sr, channels=channels, subtype="PCM_16") as out:
        for i in range(int(minutes * 60 / chunk_s)):
            rng = np.random.default_rng(i)
            n = chunk_s * sr
            y = np.zeros((n, channels), dtype=np.float32)
            for c in range(channels):
                pos = int(rng.uniform(0, 0.3) * sr)
                while pos < n:
                    length = int(rng.uniform(0.15, 0.4) * sr)
                    t = np.arange(length) / sr
                    burst = np.sin(2 * np.pi * rng.uniform(150, 600) * t) * np.hanning(length) * 0.4
                    y[pos : pos + length, c] += burst[: n - pos]
                    pos += length + int(rng.uniform(0.1, 0.4) * sr)
            y += (3e-3 * rng.standard_normal(y.shape)).astype(np.float32)
            out.write(y)


def _child(mode: str, path: str) -> None:
    """One measurement in this (fresh) process; prints a JSON line."""
    import numpy as np
    import soundfile as sf

    from apps.processing.dsp.fingerprint import fingerprint
    from apps.processing.dsp.qa import qa_measure
    from apps.processing.dsp.qa_stream import qa_and_fingerprint_file

    started = time.perf_counter()
    if mode == "imports":
        metrics, fp = None, None
    elif mode == "blocks":
        with open(path, "rb") as fh:
            metrics, fp = qa_and_fingerprint_file(fh)
    else:  # the former service: decode everything, then measure
        y, sr = sf.read(path, dtype="float32", always_2d=True)
        y = np.ascontiguousarray(y.T)
        metrics, fp = qa_measure(y, int(sr)), fingerprint(y, int(sr))
    out = {"mode": mode, "vmhwm_mb": _vmhwm_mb(), "seconds": time.perf_counter() - started}
    if metrics is not None:
        out.update(metrics.as_dict())
        out["fingerprint"] = fp.to_bytes().hex()
    print(json.dumps(out))


def _run(mode: str, path: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.qa_memory", "--child", mode, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--sr", type=int, default=44100)
    parser.add_argument("--channels", type=int, default=2)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    with tempfile.TemporaryDirectory(prefix="earmark-qa-bench-") as tmp:
        path = Path(tmp) / "long.wav"
        _write_wav(path, args.minutes, args.sr, args.channels)
        size_mb = path.stat().st_size / 2**20
        print(f"File: {args.minutes:g} min, {args.sr} Hz, {args.channels} ch, 16-bit WAV, {size_mb:.0f} MB")
        imports = _run("imports", path)
        earmark = _run("blocks", path)
        baseline = _run("whole", path)
    from apps.processing.dsp.fingerprint import Fingerprint, similarity

    print(f"{'':32}{'Earmark (blocks)':>18}{'baseline (whole)':>18}{'ratio':>8}")
    print(
        f"{'peak RSS, VmHWM (MB)':32}{earmark['vmhwm_mb']:>18.0f}{baseline['vmhwm_mb']:>18.0f}"
        f"{earmark['vmhwm_mb'] / baseline['vmhwm_mb']:>8.3f}"
    )
    print(f"{'  of which imports only (MB)':32}{imports['vmhwm_mb']:>18.0f}{imports['vmhwm_mb']:>18.0f}")
    print(
        f"{'wall time (s)':32}{earmark['seconds']:>18.1f}{baseline['seconds']:>18.1f}"
        f"{earmark['seconds'] / baseline['seconds']:>8.2f}"
    )
    for name in ("loudness_lufs", "snr_db", "silence_ratio", "clipped_ratio", "rms_dbfs", "peak_dbfs"):
        print(f"{name:32}{earmark[name]!s:>18.10}{baseline[name]!s:>18.10}")
    same = similarity(
        Fingerprint.from_bytes(bytes.fromhex(earmark["fingerprint"])),
        Fingerprint.from_bytes(bytes.fromhex(baseline["fingerprint"])),
    )
    print(f"{'fingerprint similarity':32}{same:>18.4f}")


if __name__ == "__main__":
    main()
