"""Draft recognition and forced alignment on an English set made with espeak-ng (nothing downloaded).

Each example joins single-word espeak-ng recordings with measured gaps, so every word's true start and end
are known. Prints, beside a baseline measured in the same run:

- draft WER of the recogniser vs. an empty draft (WER 1.0 by definition, computed the same way);
- forced-alignment boundary error (median, 90th percentile, ms) vs. spreading the words evenly over the clip;
- recogniser and aligner real-time factor on one core (audio seconds per CPU second; higher is faster).

Run: ``.venv/bin/python benchmarks/transcripts.py [n_sentences]``. Figures only; never pass/fail.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jiwer  # noqa: E402
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from apps.processing.dsp import speech  # noqa: E402

SENTENCES = [
    "please call me tomorrow morning",
    "the cat sat on the mat",
    "one two three four five six",
    "seven green apples under water",
    "we will meet at the station tonight",
    "open the window before dinner",
    "my brother likes fresh bread",
    "the train leaves at nine",
    "she bought a small red car",
    "turn left at the next corner",
    "the weather is cold today",
    "bring me a cup of coffee",
    "children play in the park",
    "the meeting starts after lunch",
    "read the first page again",
    "he writes letters every week",
    "the river runs past the old mill",
    "put the books on the table",
    "our garden needs more water",
    "listen to the music carefully",
]
GAPS = (0.08, 0.15, 0.25)


def say(text: str) -> tuple[np.ndarray, int]:
    out = subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "--stdout", text], capture_output=True, check=True)
    return sf.read(io.BytesIO(out.stdout), dtype="float32")


def trimmed(y: np.ndarray, level: float = 0.01) -> np.ndarray:
    idx = np.flatnonzero(np.abs(y) > level)
    return y[idx[0] : idx[-1] + 1]


def example(sentence: str, k: int) -> tuple[np.ndarray, int, list[tuple[float, float]]]:
    sr, t, parts, bounds = 22050, 0.3, [], []
    parts.append(np.zeros(int(0.3 * sr), np.float32))
    for i, word in enumerate(sentence.split()):
        y, sr = say(word)
        y = trimmed(y)
        gap = GAPS[(i + k) % len(GAPS)]
        bounds.append((t, t + len(y) / sr))
        parts += [y, np.zeros(int(gap * sr), np.float32)]
        t += (len(y) + int(gap * sr)) / sr
    return np.concatenate(parts), sr, bounds


def cpu() -> float:
    return time.process_time()


def main(n: int) -> None:
    rec, ali = speech.recogniser_for("en"), speech.aligner_for("en")
    rec.recognise(np.zeros(16000, np.float32), 16000)  # load the model outside the timings
    refs, hyps, errors, even_errors, failures = [], [], [], [], 0
    audio_s = rec_cpu = ali_cpu = 0.0
    for k, sentence in enumerate(SENTENCES[:n]):
        y, sr, truth = example(sentence, k)
        dur = len(y) / sr
        audio_s += dur
        t0 = cpu()
        hyps.append(rec.recognise(y, sr).text)
        rec_cpu += cpu() - t0
        refs.append(sentence)
        t0 = cpu()
        try:
            words = ali.align(y, sr, sentence)
        except speech.AlignmentFailed:
            failures += 1
            continue
        finally:
            ali_cpu += cpu() - t0
        step = dur / len(truth)
        for i, (w, (t_start, t_end)) in enumerate(zip(words, truth, strict=True)):
            errors += [abs(w.start - t_start), abs(w.end - t_end)]
            even_errors += [abs(i * step - t_start), abs((i + 1) * step - t_end)]
    ms = lambda xs, q: 1000 * float(np.percentile(xs, q))  # noqa: E731
    print(f"examples: {len(refs)} sentences, {audio_s:.1f} s of espeak-ng speech (en-us), one core")
    print(f"engine: {rec.name} {rec.version}")
    print(
        f"draft WER:           recogniser {jiwer.wer(refs, hyps):.3f}   empty-draft baseline "
        f"{jiwer.wer(refs, [''] * len(refs)):.3f}"
    )
    print(
        f"boundary error (ms): aligner median {ms(errors, 50):.0f}, p90 {ms(errors, 90):.0f}   "
        f"even-spread baseline median {ms(even_errors, 50):.0f}, p90 {ms(even_errors, 90):.0f}"
    )
    print(f"alignment failures:  {failures}")
    print(f"real-time factor:    recogniser {audio_s / rec_cpu:.1f}x   aligner {audio_s / ali_cpu:.1f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else len(SENTENCES))
