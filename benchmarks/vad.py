"""Speech / non-speech: Silero VAD (apps/processing/dsp/vad.py) beside the current energy detector.

    .venv/bin/python benchmarks/vad.py [--seconds 3]

A generated set, made fresh in a temp folder on every run (nothing downloaded):

- speech: espeak-ng, several voices and languages (en, en-us, de, fr, es, it, nl, pl), two sentences each;
- non-speech: music-like tones (chords with harmonics and note envelopes, arpeggios), white and pink
  noise, and near-silence;
- every clip mixed with a background noise (pink) at 20, 10 and 0 dB SNR relative to the speech level
  (the non-speech clips get the same background at the same absolute level).

Each detector answers per clip "is there speech?" (speech found for at least 0.3 s, the quarantine question);
F1 is for the speech class. Real-time factor per core = audio seconds / CPU seconds of the detector alone,
in this process (one thread). Nothing passes or fails on time (benchmarks/ rule); figures go in the README.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apps.processing.dsp.preprocess import voiced_segments  # noqa: E402
from apps.processing.dsp.vad import voice_activity  # noqa: E402

SR = 16000
VOICES = ["en", "en-us", "de", "fr", "es", "it", "nl", "pl"]
SENTENCES = {
    "en": ["The weather was cold and the station was almost empty.", "Please bring three apples and a loaf."],
    "en-us": ["We drove along the coast until the sun went down.", "Her phone rang twice before anyone moved."],
    "de": ["Der Zug nach Berlin hat heute leider Verspätung.", "Wir treffen uns morgen früh am Marktplatz."],
    "fr": ["Le petit chat dort tranquillement sur le canapé.", "Nous avons visité le musée hier après-midi."],
    "es": ["Mañana vamos a la playa con toda la familia.", "El libro que me prestaste es muy interesante."],
    "it": ["La cena sarà pronta tra venti minuti circa.", "Abbiamo camminato a lungo lungo il fiume."],
    "nl": ["De fiets staat al de hele dag buiten in de regen.", "Wij gaan volgende week naar de bioscoop."],
    "pl": ["Jutro rano pojedziemy pociągiem do Krakowa.", "Ta książka leży na stole w kuchni."],
}
SPEECH_MIN_S = 0.3
SNRS = [20, 10, 0]


def _espeak(voice: str, text: str, folder: Path, n: int) -> np.ndarray:
    path = folder / f"{voice}-{n}.wav"
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", "150", "-w", str(path), text],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    y, sr = sf.read(path, dtype="float32")
    return resample_poly(y, SR, sr).astype(np.float32) if sr != SR else y


def _pink(n: int, rng) -> np.ndarray:
    white = rng.standard_normal(n)
    spectrum = np.fft.rfft(white)
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    pink = np.fft.irfft(spectrum, n)
    return (pink / np.abs(pink).max()).astype(np.float32)


def _music(seconds: float, rng, arpeggio: bool) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    y = np.zeros_like(t)
    base = rng.choice([110.0, 130.8, 146.8, 164.8, 196.0])
    notes = [base * r for r in (1, 1.25, 1.5, 2.0)]
    step = 0.25 if arpeggio else seconds
    for k, start in enumerate(np.arange(0, seconds, step)):
        chord = [notes[k % len(notes)]] if arpeggio else notes
        seg = (t >= start) & (t < start + step)
        env = np.exp(-3 * (t[seg] - start))
        for f in chord:
            for h, a in ((1, 1.0), (2, 0.4), (3, 0.2), (4, 0.1)):
                y[seg] += a * env * np.sin(2 * np.pi * f * h * t[seg])
    return (0.3 * y / np.abs(y).max()).astype(np.float32)


def make_set(folder: Path, seconds: float, rng) -> tuple[list[np.ndarray], list[np.ndarray]]:
    speech = []
    for voice in VOICES:
        for n, text in enumerate(SENTENCES[voice]):
            y = _espeak(voice, text, folder, n)
            speech.append(0.3 * y / max(np.abs(y).max(), 1e-6))
    other = []
    n = int(seconds * SR)
    for k in range(6):
        other.append(_music(seconds, rng, arpeggio=bool(k % 2)))
    for _ in range(3):
        other.append((0.1 * rng.standard_normal(n)).astype(np.float32))
        other.append(0.1 * _pink(n, rng))
        other.append((1e-4 * rng.standard_normal(n)).astype(np.float32))
    return speech, other


def _rms(y):
    return float(np.sqrt(np.mean(y.astype(np.float64) ** 2)) + 1e-12)


def mix(clip: np.ndarray, level: float, snr_db: float, rng) -> np.ndarray:
    noise = _pink(len(clip), rng)
    noise *= level / (10 ** (snr_db / 20)) / _rms(noise)
    return (clip + noise).astype(np.float32)


def silero(y):
    return voice_activity(y, SR).speech_seconds >= SPEECH_MIN_S


def energy(y):
    return sum(e - s for s, e in voiced_segments(y, SR)) >= SPEECH_MIN_S


def f1(truth, guess) -> tuple[float, float, float]:
    tp = sum(t and g for t, g in zip(truth, guess))
    fp = sum((not t) and g for t, g in zip(truth, guess))
    fn = sum(t and (not g) for t, g in zip(truth, guess))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return (2 * p * r / (p + r) if p + r else 0.0), p, r


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each non-speech clip")
    args = parser.parse_args()
    rng = np.random.default_rng(12)
    with tempfile.TemporaryDirectory() as tmp:
        speech, other = make_set(Path(tmp), args.seconds, rng)
    level = float(np.median([_rms(s) for s in speech]))
    silero(speech[0])  # load the model before timing
    print(
        f"{len(speech)} speech clips ({len(VOICES)} voices/languages), {len(other)} non-speech clips "
        f"(tones, arpeggios, white/pink noise, near-silence); background pink noise"
    )
    print(f"{'SNR dB':>7} {'detector':>10} {'F1':>6} {'precision':>9} {'recall':>7} {'x real time/core':>17}")
    for snr in SNRS:
        clips = [mix(c, level, snr, rng) for c in speech + other]
        truth = [True] * len(speech) + [False] * len(other)
        audio_s = sum(len(c) for c in clips) / SR
        for name, detect in (("energy", energy), ("silero", silero)):
            start = time.process_time()
            guess = [detect(c) for c in clips]
            cpu = time.process_time() - start
            score, p, r = f1(truth, guess)
            print(f"{snr:>7} {name:>10} {score:>6.3f} {p:>9.3f} {r:>7.3f} {audio_s / max(cpu, 1e-9):>17.0f}")


if __name__ == "__main__":
    main()
