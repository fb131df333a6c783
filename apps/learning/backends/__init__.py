"""Model backends behind one interface. No Django here: arrays in, probabilities out.

Every backend takes examples as log-mel patches (``Example.mel``: dB, shape (n_mels, frames), the project's
stored ``mel`` feature converted to decibels) and, for training with waveform augmentation, the example's
audio with half an FFT of context either side, so ``audio_mel_db(example.audio, params)`` gives back the
stored frames exactly (no zero padding at the cut). Both export the same predict interface
(``predict_proba``) and serialise to bytes (``dumps`` / ``backend_loads``), so a worker loads any model
from storage the same way, and give the features their classifier reads (``embed``), which the
active-learning order (apps/learning/active.py) clusters.
"""

from __future__ import annotations

import importlib.util
import io
import json
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from apps.processing.dsp import compute_features

# Silence in dB that pads short patches (the stored mel's floor is 10*log10(1e-10) = -100 dB).
FLOOR_DB = -100.0
Progress = Callable[[str, float], None]


@dataclass
class Example:
    """One input: a log-mel patch, and (for augmented training) its mono audio at ``sr``.

    ``audio`` spans the patch's frames plus ``n_fft // 2`` samples either side (zeros beyond the recording,
    as the stored features' centred STFT had), so ``audio_mel_db(audio, params)`` equals ``mel``.
    """

    mel: np.ndarray
    audio: np.ndarray | None = None


@dataclass
class FitResult:
    curve: list[dict] = field(default_factory=list)  # [{"step", "train_loss"?, "accuracy"}] for the page


class Model(Protocol):
    backend: str

    def fit(
        self,
        train: Sequence[Example],
        y: np.ndarray,
        *,
        n_classes: int,
        recipe: dict,
        sr: int,
        feature_params: Any,
        progress: Progress,
        holdout: tuple[Sequence[Example], np.ndarray] | None,
    ) -> FitResult: ...

    def predict_proba(self, examples: Sequence[Example]) -> np.ndarray: ...

    def embed(self, examples: Sequence[Example]) -> np.ndarray:
        """The model's own features of each example (what its classifier reads): active learning's clusters."""
        ...

    def payload(self) -> tuple[dict, bytes]: ...

    def restore(self, meta: dict, payload: bytes) -> None: ...


def mel_db(mel_power: np.ndarray) -> np.ndarray:
    """The stored mel power spectrogram in dB, floored like librosa's power_to_db(top_db=None)."""
    return (10.0 * np.log10(np.maximum(np.asarray(mel_power, dtype=np.float32), 1e-10))).astype(np.float32)


def audio_span(frames: int, params: Any) -> int:
    """Samples of ``Example.audio`` that cover ``frames`` feature frames (context included)."""
    return (frames - 1) * params.hop_length + params.n_fft


def audio_mel_db(audio: np.ndarray, params: Any) -> np.ndarray:
    """The log-mel of an ``Example.audio`` span: the same frames as the stored feature, computed in memory.

    The span carries its own context, so the STFT runs uncentred: frame ``t`` is centred on sample
    ``n_fft // 2 + t * hop``, which is where the stored (centred) frame sat in the recording. Augmented copies
    go through this function, so they are on exactly the stored features' scale.
    """
    mel = compute_features(np.asarray(audio, dtype=np.float32), params.replace(center=False), ("mel",))["mel"]
    return mel_db(mel)


def cnn_available() -> bool:
    """Whether the CNN extra (requirements/ml.txt: PyTorch) is installed."""
    return importlib.util.find_spec("torch") is not None


def backend_new(name: str) -> Model:
    if name == "sklearn":
        from apps.learning.backends.sklearn import SklearnModel

        return SklearnModel()
    if name == "cnn":
        if not cnn_available():
            raise RuntimeError("The CNN backend needs the ML extra: pip install -r requirements/ml.txt")
        from apps.learning.backends.cnn import CnnModel

        return CnnModel()
    raise ValueError(f"unknown backend {name!r}")


def dumps(model: Model) -> bytes:
    """One zip: ``meta.json`` (backend and what it needs to predict) and ``payload.bin``."""
    meta, payload = model.payload()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("meta.json", json.dumps({"backend": model.backend, **meta}))
        zf.writestr("payload.bin", payload)
    return buf.getvalue()


def backend_loads(data: bytes) -> Model:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        meta = json.loads(zf.read("meta.json"))
        payload = zf.read("payload.bin")
    model = backend_new(meta.pop("backend"))
    model.restore(meta, payload)
    return model


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, labels=list(range(n_classes)), average="macro", zero_division=0))


def evaluate(model: Model, examples: Sequence[Example], y: np.ndarray, n_classes: int) -> dict:
    """Held-out figures: accuracy, macro-F1, chance (majority class share), per class, confusion matrix."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    if not len(examples):
        return {"accuracy": None, "macro_f1": None, "chance": None, "n": 0}
    proba = model.predict_proba(examples)
    pred = proba.argmax(axis=1)
    labels = list(range(n_classes))
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    counts = np.bincount(y, minlength=n_classes)
    return {
        "n": int(len(y)),
        "accuracy": float((pred == y).mean()),
        "macro_f1": macro_f1(y, pred, n_classes),
        "chance": float(counts.max() / counts.sum()),
        "per_class": [
            {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])} for i in labels
        ],
        "confusion": confusion_matrix(y, pred, labels=labels).tolist(),
    }


def uncertainty(proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(margin, entropy) per row: a small margin or a high entropy means the model is unsure."""
    top = np.sort(proba, axis=1)
    margin = top[:, -1] - (top[:, -2] if proba.shape[1] > 1 else 0.0)
    entropy = -(proba * np.log(np.clip(proba, 1e-12, 1.0))).sum(axis=1)
    return margin, entropy


def fix_length(mel: np.ndarray, frames: int, *, offset: int | None = None) -> np.ndarray:
    """Crop (centre, or from ``offset``) or pad with the floor to exactly ``frames`` columns."""
    n = mel.shape[-1]
    if n >= frames:
        start = (n - frames) // 2 if offset is None else min(max(0, offset), n - frames)
        return mel[:, start : start + frames]
    out = np.full((mel.shape[0], frames), FLOOR_DB, dtype=np.float32)
    left = (frames - n) // 2
    out[:, left : left + n] = mel
    return out
