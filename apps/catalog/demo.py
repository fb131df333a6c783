"""Generated demo audio: speech-like harmonic bursts with pauses, no files shipped."""

import io

import numpy as np
import soundfile as sf


def demo_clip(seed: int, *, seconds: float = 6.0, sr: int = 16000, channels: int = 1) -> bytes:
    """A WAV with voiced-looking bursts separated by silence (so trimming and segments have work)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    y = np.zeros_like(t)
    pos = 0.3
    while pos < seconds - 0.6:
        length = rng.uniform(0.4, 1.2)
        f0 = rng.uniform(110, 240)
        mask = (t >= pos) & (t < pos + length)
        env = np.sin(np.pi * (t[mask] - pos) / length) ** 2
        burst = sum(
            np.sin(2 * np.pi * f0 * k * t[mask] * (1 + 0.03 * np.sin(2 * np.pi * 3 * t[mask]))) / k for k in range(1, 6)
        )
        y[mask] += 0.25 * env * burst
        pos += length + rng.uniform(0.2, 0.6)
    y += 0.002 * rng.standard_normal(len(y))
    data = np.stack([y * (0.8 + 0.2 * c) for c in range(channels)], axis=1) if channels > 1 else y
    buf = io.BytesIO()
    sf.write(buf, data.astype(np.float32), sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()
