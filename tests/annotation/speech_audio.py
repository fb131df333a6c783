"""A recording for speech-suggestion tests: a tone burst, espeak-ng speech, another tone burst, with silence
between. The energy detector finds all three; Silero VAD hears speech only in the middle."""

import io
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 16000


def speech_between_tones() -> tuple[bytes, tuple[float, float]]:
    """WAV bytes and the (start, end) seconds of the speech in them."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "speech.wav"
        subprocess.run(
            ["espeak-ng", "-v", "en", "-s", "150", "-w", str(path), "The quick brown fox jumps over the lazy dog."],
            check=True,
        )
        speech, sr = sf.read(path, dtype="float32")
    if sr != SR:
        import librosa

        speech = librosa.resample(speech, orig_sr=sr, target_sr=SR)
    speech = 0.5 * speech / max(1e-6, float(np.abs(speech).max()))
    t = np.arange(SR) / SR
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    gap = np.zeros(SR, dtype=np.float32)
    y = np.concatenate([tone, gap, speech.astype(np.float32), gap, tone])
    y += 0.001 * np.random.default_rng(0).standard_normal(len(y)).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, y, SR, format="WAV", subtype="PCM_16")
    return buf.getvalue(), (2.0, 2.0 + len(speech) / SR)
