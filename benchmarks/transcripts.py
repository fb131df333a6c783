"""Draft recognition and forced alignment on an English set made with espeak-ng (nothing downloaded).

Each example joins single-word espeak-ng recordings with measured gaps, so every word's true start and end
are known. Prints, beside a baseline measured in the same run:

- draft WER of the recogniser vs. an empty draft (WER 1.0 by definition, computed the same way);
- forced-alignment boundary error (median, 90th percentile, ms) vs. spreading the words evenly over the clip;
- recogniser and aligner real-time factor on one core (audio seconds per CPU second; higher is faster);
- transcript-QA precision and recall on a copy of the set where 20 % of the transcripts were corrupted (swapped
  between clips, half the words dropped, a sentence of another language), with the project defaults of
  ``apps.processing.dsp.transcript_qa`` (the code review runs), beside a naive check (draft WER > 0.5 alone).

The set has n clips (default 60): the 20 sentences below, then sentences made up of their words, each spoken at
one of three speeds. Run: ``.venv/bin/python benchmarks/transcripts.py [n]``. Figures only; never pass/fail.
"""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jiwer  # noqa: E402
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from apps.processing.dsp import speech  # noqa: E402
from apps.processing.dsp import transcript_qa as tq  # noqa: E402

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
SPEEDS = (140, 120, 165)
# "Wrong language" corruptions: sentences of other languages (Latin and Cyrillic script).
FOREIGN = [
    "bitte ruf mich morgen früh an",
    "el tren sale a las nueve de la mañana",
    "ouvre la fenêtre avant le dîner",
    "мой брат любит свежий хлеб",
    "die kinder spielen im park",
    "nous nous verrons à la gare ce soir",
]
CORRUPT_SHARE = 0.2


def say(text: str, speed: int = 140) -> tuple[np.ndarray, int]:
    out = subprocess.run(
        ["espeak-ng", "-v", "en-us", "-s", str(speed), "--stdout", text], capture_output=True, check=True
    )
    return sf.read(io.BytesIO(out.stdout), dtype="float32")


def trimmed(y: np.ndarray, level: float = 0.01) -> np.ndarray:
    idx = np.flatnonzero(np.abs(y) > level)
    return y[idx[0] : idx[-1] + 1]


def example(sentence: str, k: int, speed: int = 140) -> tuple[np.ndarray, int, list[tuple[float, float]]]:
    sr, t, parts, bounds = 22050, 0.3, [], []
    parts.append(np.zeros(int(0.3 * sr), np.float32))
    for i, word in enumerate(sentence.split()):
        y, sr = say(word, speed)
        y = trimmed(y)
        gap = GAPS[(i + k) % len(GAPS)]
        bounds.append((t, t + len(y) / sr))
        parts += [y, np.zeros(int(gap * sr), np.float32)]
        t += (len(y) + int(gap * sr)) / sr
    return np.concatenate(parts), sr, bounds


def cpu() -> float:
    return time.process_time()


def corrupt(texts: list[str], seed: int = 7) -> tuple[list[str], dict[int, str]]:
    """A copy of ``texts`` with CORRUPT_SHARE of them corrupted; returns it and {index: kind}."""
    rng = random.Random(seed)
    chosen = rng.sample(range(len(texts)), round(CORRUPT_SHARE * len(texts)))
    kinds = ["swap", "swap", "drop", "wrong_language"]
    out, truth = list(texts), {}
    swaps = []
    for n, i in enumerate(chosen):
        kind = kinds[n % len(kinds)]
        truth[i] = kind
        if kind == "swap":
            swaps.append(i)
        elif kind == "drop":
            out[i] = " ".join(texts[i].split()[::2])  # every other word dropped
        else:
            out[i] = FOREIGN[n % len(FOREIGN)]
    for a, b in zip(swaps[::2], swaps[1::2], strict=False):
        out[a], out[b] = texts[b], texts[a]
    if len(swaps) % 2:  # an odd one out takes another (uncorrupted) clip's text
        i = swaps[-1]
        out[i] = next(texts[j] for j in range(len(texts)) if texts[j] != texts[i] and j not in truth)
    return out, truth


def qa_figures(clips: list[dict], ali) -> None:
    """Transcript QA on a corrupted copy: per-clip measures, ranges over the set, flags; precision and recall."""
    texts, truth = corrupt([c["text"] for c in clips])
    measures = []
    for clip, text in zip(clips, texts, strict=True):
        try:
            words = ali.align(clip["y"], clip["sr"], text)
            status, score = "aligned", float(np.mean([w.score for w in words]))
            coverage = speech.voiced_coverage(words, clip["y"], clip["sr"])
        except speech.AlignmentFailed:
            status, score, coverage = "failed", None, None
        item = tq.TranscriptItem(
            text=text,
            duration=len(clip["y"]) / clip["sr"],
            language="en",
            draft_text=clip["draft"],
            draft_score=clip["draft_score"],
            alignment_status=status,
            align_score=score,
            coverage=coverage,
        )
        measures.append(tq.transcript_measures(item))
    thresholds = tq.TranscriptThresholds()
    seen: dict[str, int] = {}
    for m in measures:
        seen[m["normalised_text"]] = seen.get(m["normalised_text"], 0) + 1
    flagged, by_flag = set(), {}
    for i, m in enumerate(measures):
        others = measures[:i] + measures[i + 1 :]
        context = tq.transcript_context(m, others, others, thresholds)  # one espeak voice: speaker = project
        context = tq.TranscriptContext(**{**context.__dict__, "duplicate": seen[m["normalised_text"]] > 1})
        flags = tq.transcript_flags(m, context, thresholds)
        for f in flags:
            by_flag.setdefault(f, set()).add(i)
        if flags:
            flagged.add(i)
    naive = {i for i, m in enumerate(measures) if (m["draft_wer"] or 0) > 0.5}

    def pr(found: set[int]) -> str:
        tp = len(found & set(truth))
        precision = tp / len(found) if found else 0.0
        return (
            f"precision {precision:.2f} recall {tp / len(truth):.2f} ({tp} of {len(truth)} found, {len(found)} flagged)"
        )

    print(f"transcript QA:       {len(truth)} of {len(clips)} transcripts corrupted ({CORRUPT_SHARE:.0%})")
    print(f"  flags (defaults):  {pr(flagged)}")
    print(f"  naive baseline:    draft WER > 0.5 alone: {pr(naive)}")
    kinds = sorted(set(truth.values()))
    print(
        "  recall by kind:    "
        + ", ".join(
            f"{k} {sum(i in flagged for i, v in truth.items() if v == k)}/{sum(v == k for v in truth.values())}"
            for k in kinds
        )
    )
    print(
        "  per flag:          "
        + ", ".join(
            f"{f.removeprefix('transcript_')} {len(ids)} ({len(ids & set(truth))} corrupted)"
            for f, ids in sorted(by_flag.items())
        )
    )


def sentences(n: int, seed: int = 3) -> list[str]:
    """The first n SENTENCES, then (past 20) made-up ones of 5 to 7 words from their vocabulary, all different."""
    out = list(SENTENCES[:n])
    vocabulary = sorted({w for s in SENTENCES for w in s.split()})
    rng = random.Random(seed)
    while len(out) < n:
        made = " ".join(rng.sample(vocabulary, rng.randint(5, 7)))
        if made not in out:
            out.append(made)
    return out


def main(n: int) -> None:
    rec, ali = speech.recogniser_for("en"), speech.aligner_for("en")
    rec.recognise(np.zeros(16000, np.float32), 16000)  # load the model outside the timings
    refs, hyps, errors, even_errors, failures, clips = [], [], [], [], 0, []
    audio_s = rec_cpu = ali_cpu = 0.0
    for k, sentence in enumerate(sentences(n)):
        y, sr, truth = example(sentence, k, SPEEDS[k % len(SPEEDS)])
        dur = len(y) / sr
        audio_s += dur
        t0 = cpu()
        draft = rec.recognise(y, sr)
        rec_cpu += cpu() - t0
        hyps.append(draft.text)
        refs.append(sentence)
        scores = [w.score for w in draft.words]
        clips.append(
            {
                "y": y,
                "sr": sr,
                "text": sentence,
                "draft": draft.text,
                "draft_score": np.mean(scores) if scores else None,
            }
        )
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
    print(
        f"examples: {len(refs)} clips ({min(n, len(SENTENCES))} sentences, {max(0, n - len(SENTENCES))} made up of "
        f"their words; speeds {SPEEDS}), {audio_s:.1f} s of espeak-ng speech "
        "(en-us), one core of a shared machine"
    )
    print(f"engine: {rec.name} {rec.version}")
    print(
        f"draft WER:           recogniser {jiwer.wer(refs, hyps):.3f}   empty-draft baseline "
        f"{jiwer.wer(refs, [''] * len(refs)):.3f}"
    )
    real = min(n, len(SENTENCES))  # the made-up sentences have no grammar for the language model to lean on
    print(f"  on the {real} real sentences only: recogniser {jiwer.wer(refs[:real], hyps[:real]):.3f}")
    print(
        f"boundary error (ms): aligner median {ms(errors, 50):.0f}, p90 {ms(errors, 90):.0f}   "
        f"even-spread baseline median {ms(even_errors, 50):.0f}, p90 {ms(even_errors, 90):.0f}"
    )
    print(f"alignment failures:  {failures}")
    print(f"real-time factor:    recogniser {audio_s / rec_cpu:.1f}x   aligner {audio_s / ali_cpu:.1f}x")
    qa_figures(clips, ali)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 60)
