"""Voice activity detection with Silero VAD (its ONNX model, run by onnxruntime on the CPU).

The model ships inside the ``silero-vad`` wheel; we find the file with ``importlib.util.find_spec`` and never
import the package itself (its ``__init__`` imports torch, which the web and worker processes do not need).
Nothing is downloaded at run time. Arrays in, numbers out: no Django, no storage (STYLE.md §4).

The model reads 16 kHz mono in frames of 512 samples (32 ms), each with the previous 64 samples as context,
and carries a recurrent state from frame to frame; it returns the probability that the frame holds speech.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

SR = 16000
FRAME = 512
CONTEXT = 64
FRAME_SECONDS = FRAME / SR
MODEL_FILE = "silero_vad.onnx"


class VadUnavailable(RuntimeError):
    """The silero-vad wheel (its model file) or onnxruntime is not installed."""


def model_path() -> Path:
    """The ONNX model inside the installed silero-vad wheel (found without importing the package)."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or spec.origin is None:
        raise VadUnavailable("silero-vad is not installed (requirements/vad.txt, installed with --no-deps)")
    path = Path(spec.origin).parent / "data" / MODEL_FILE
    if not path.exists():
        raise VadUnavailable(f"the Silero VAD model file is missing: {path}")
    return path


@lru_cache(maxsize=1)
def _session():
    try:
        import onnxruntime
    except ImportError as exc:  # pragma: no cover - pinned in requirements
        raise VadUnavailable("onnxruntime is not installed") from exc
    opts = onnxruntime.SessionOptions()
    opts.inter_op_num_threads = 1  # one core per worker process: the dsp queue runs one job per process
    opts.intra_op_num_threads = 1
    return onnxruntime.InferenceSession(str(model_path()), sess_options=opts, providers=["CPUExecutionProvider"])


def _mono_16k(y: np.ndarray, sr: int) -> np.ndarray:
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 2:
        y = y.mean(axis=0)
    if y.ndim != 1:
        raise ValueError("audio must be mono (n,) or channels-first (c, n)")
    if sr != SR:
        g = np.gcd(int(sr), SR)
        y = resample_poly(y, SR // g, int(sr) // g).astype(np.float32)
    return y


def speech_probabilities(y: np.ndarray, sr: int) -> np.ndarray:
    """Speech probability (0..1) of every 32 ms frame of ``y`` (resampled to 16 kHz mono first)."""
    return speech_probabilities_stream([_mono_16k(y, sr)])


def speech_probabilities_stream(blocks) -> np.ndarray:
    """The same for 16 kHz mono blocks read one after another (bounded memory for hour-long recordings): the
    model's state and 64-sample context carry across blocks; a last partial frame is zero-padded."""
    session = _session()
    state = np.zeros((2, 1, 128), dtype=np.float32)
    rate = np.array(SR, dtype=np.int64)
    context = np.zeros(CONTEXT, dtype=np.float32)
    pending = np.zeros(0, dtype=np.float32)
    out: list[float] = []
    for block in blocks:
        x = np.concatenate([pending, np.asarray(block, dtype=np.float32)])
        whole = len(x) // FRAME * FRAME
        for i in range(0, whole, FRAME):
            window = np.concatenate([context, x[i : i + FRAME]])[None, :]  # 64 samples of context + the frame
            prob, state = session.run(None, {"input": window, "state": state, "sr": rate})
            out.append(float(prob[0, 0]))
            context = x[i + FRAME - CONTEXT : i + FRAME]
        pending = x[whole:]
    if len(pending):
        window = np.concatenate([context, pending, np.zeros(FRAME - len(pending), dtype=np.float32)])[None, :]
        prob, state = session.run(None, {"input": window, "state": state, "sr": rate})
        out.append(float(prob[0, 0]))
    return np.asarray(out, dtype=np.float32)


@dataclass(frozen=True)
class SpeechRegion:
    start: float  # seconds
    end: float
    probability: float  # mean speech probability over the region's frames


def speech_regions(
    probs: np.ndarray,
    *,
    threshold: float = 0.5,
    min_speech_s: float = 0.25,
    min_silence_s: float = 0.1,
    pad_s: float = 0.03,
) -> list[SpeechRegion]:
    """Regions where the probability stays above ``threshold`` (hysteresis: it ends below threshold - 0.15),
    gaps shorter than ``min_silence_s`` bridged, regions shorter than ``min_speech_s`` dropped, edges padded."""
    low = max(threshold - 0.15, 0.01)
    raw: list[list[int]] = []
    start = None
    for i, p in enumerate(probs):
        if start is None and p >= threshold:
            start = i
        elif start is not None and p < low:
            raw.append([start, i])
            start = None
    if start is not None:
        raw.append([start, len(probs)])
    merged: list[list[int]] = []
    gap = min_silence_s / FRAME_SECONDS
    for s, e in raw:
        if merged and s - merged[-1][1] < gap:
            merged[-1][1] = e
        else:
            merged.append([s, e])
    total = len(probs) * FRAME_SECONDS
    out = []
    for s, e in merged:
        if (e - s) * FRAME_SECONDS < min_speech_s:
            continue
        out.append(
            SpeechRegion(
                start=round(max(s * FRAME_SECONDS - pad_s, 0.0), 3),
                end=round(min(e * FRAME_SECONDS + pad_s, total), 3),
                probability=round(float(np.mean(probs[s:e])), 3),
            )
        )
    return out


@dataclass(frozen=True)
class VoiceActivity:
    regions: list[SpeechRegion]
    speech_seconds: float
    max_probability: float
    frame_seconds: float = FRAME_SECONDS


def voice_activity(y: np.ndarray, sr: int, *, threshold: float = 0.5) -> VoiceActivity:
    """Speech regions with probabilities, total speech time and the peak probability of a recording."""
    return voice_activity_of(speech_probabilities(y, sr), threshold=threshold)


def voice_activity_of(probs: np.ndarray, *, threshold: float = 0.5) -> VoiceActivity:
    """Regions, speech time and peak probability from per-frame probabilities."""
    regions = speech_regions(probs, threshold=threshold)
    return VoiceActivity(
        regions=regions,
        speech_seconds=round(sum(r.end - r.start for r in regions), 3),
        max_probability=round(float(probs.max()) if len(probs) else 0.0, 3),
    )
