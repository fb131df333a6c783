"""Synthetic test signals built to trip (or not trip) each QA check."""

import io

import numpy as np
import soundfile as sf

SR = 16000


def speech_like(seconds=4.0, sr=SR, seed=0, noise=3e-3, level=0.3):
    """Tone bursts with pauses over a low noise floor: the clean signal that trips no check."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    y = np.zeros(n)
    pos = 0
    while pos < n:
        length = int(rng.uniform(0.15, 0.35) * sr)
        t = np.arange(length) / sr
        f = rng.uniform(150, 900)
        burst = (np.sin(2 * np.pi * f * t) + 0.4 * np.sin(2 * np.pi * 2.7 * f * t)) * np.hanning(length) * level
        y[pos : pos + length] += burst[: n - pos]
        pos += length + int(rng.uniform(0.1, 0.3) * sr)
    return y + noise * rng.standard_normal(n)


def encode(y, sr=SR, fmt="WAV", subtype="PCM_16") -> bytes:
    buf = io.BytesIO()
    data = np.asarray(y, dtype=np.float32)
    data = data.T if data.ndim == 2 else data
    sf.write(buf, data, sr, format=fmt, **({"subtype": subtype} if subtype else {}))
    return buf.getvalue()
