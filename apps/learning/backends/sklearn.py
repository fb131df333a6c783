"""scikit-learn on summary statistics of a log-mel patch: trains in seconds, needs nothing extra."""

from __future__ import annotations

import io
import pickle
from collections.abc import Sequence

import numpy as np

from apps.learning.backends import Example, FitResult, Progress

BANDS = 40  # mel bands pooled to this many before the statistics
SEGMENTS = 3  # the patch's mean spectrum in this many equal time slices (coarse temporal shape)


def summary(mel: np.ndarray) -> np.ndarray:
    """Per pooled band: mean, std, 10th/90th percentile, mean |delta|, and the mean in each time slice."""
    n_mels, frames = mel.shape
    pooled = mel[: n_mels - n_mels % BANDS].reshape(BANDS, -1, frames).mean(axis=1) if n_mels >= BANDS else mel
    pooled = pooled - pooled.max()  # level-free: a louder take of the same word looks the same
    parts = [
        pooled.mean(axis=1),
        pooled.std(axis=1),
        *np.percentile(pooled, [10, 90], axis=1),
        np.abs(np.diff(pooled, axis=1)).mean(axis=1) if frames > 1 else np.zeros(len(pooled)),
    ]
    for piece in np.array_split(pooled, SEGMENTS, axis=1):
        parts.append(piece.mean(axis=1) if piece.shape[1] else pooled.mean(axis=1))
    return np.concatenate(parts).astype(np.float32)


class SklearnModel:
    backend = "sklearn"

    def __init__(self):
        self.pipeline = None
        self.n_classes = 0

    def _make(self, recipe: dict):
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        seed = int(recipe.get("seed", 0))
        if recipe.get("classifier", "logistic") == "gradient_boosting":
            clf = HistGradientBoostingClassifier(
                max_iter=int(recipe.get("max_iter", 200)),
                learning_rate=float(recipe.get("learning_rate", 0.1)),
                random_state=seed,
            )
        else:
            clf = LogisticRegression(C=float(recipe.get("C", 1.0)), max_iter=int(recipe.get("max_iter", 2000)))
        return make_pipeline(StandardScaler(), clf)

    def fit(self, train, y, *, n_classes, recipe, sr, feature_params, progress: Progress, holdout=None) -> FitResult:
        X = np.stack([summary(e.mel) for e in train])
        self.n_classes = n_classes
        curve = []
        # The training curve of a one-shot fit: held-out accuracy with 25/50/75/100 % of the training set.
        rng = np.random.default_rng(int(recipe.get("seed", 0)))
        order = rng.permutation(len(y))
        fractions = (0.25, 0.5, 0.75, 1.0) if holdout is not None and len(holdout[1]) else (1.0,)
        Xh = np.stack([summary(e.mel) for e in holdout[0]]) if holdout is not None and len(holdout[1]) else None
        for i, frac in enumerate(fractions):
            idx = order[: max(n_classes, int(round(frac * len(y))))]
            if len(set(y[idx].tolist())) < 2:
                continue
            self.pipeline = self._make(recipe).fit(X[idx], y[idx])
            if Xh is not None:
                acc = float((self._proba(Xh).argmax(axis=1) == holdout[1]).mean())
                curve.append({"step": int(len(idx)), "accuracy": acc, "unit": "training examples"})
            progress("fit", 100.0 * (i + 1) / len(fractions))
        if self.pipeline is None or len(order) != len(idx):
            self.pipeline = self._make(recipe).fit(X, y)
        return FitResult(curve=curve)

    def _proba(self, X: np.ndarray) -> np.ndarray:
        out = np.zeros((len(X), self.n_classes), dtype=np.float64)
        classes = self.pipeline.classes_
        out[:, classes] = self.pipeline.predict_proba(X)
        return out

    def predict_proba(self, examples: Sequence[Example]) -> np.ndarray:
        if not len(examples):
            return np.zeros((0, self.n_classes))
        return self._proba(np.stack([summary(e.mel) for e in examples]))

    def embed(self, examples: Sequence[Example]) -> np.ndarray:
        """The statistics the classifier reads, standardised by the scaler fitted on its training set."""
        if not len(examples):
            return np.zeros((0, 0))
        return self.pipeline[0].transform(np.stack([summary(e.mel) for e in examples]))

    def payload(self) -> tuple[dict, bytes]:
        buf = io.BytesIO()
        pickle.dump(self.pipeline, buf, protocol=pickle.HIGHEST_PROTOCOL)
        return {"n_classes": self.n_classes}, buf.getvalue()

    def restore(self, meta: dict, payload: bytes) -> None:
        # Artifacts are written only by Earmark's own training service, into its own storage.
        self.pipeline = pickle.loads(payload)  # noqa: S301
        self.n_classes = int(meta["n_classes"])
