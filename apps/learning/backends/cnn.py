"""A small CNN on fixed-length log-mel patches, PyTorch on CPU (requirements/ml.txt).

By default training augments on the fly: every example in every batch is warped along the mel axis by a
factor drawn from the recipe's ``warp`` range (vocal-tract-length perturbation, dsp.specaugment.mel_warp),
so an augmented run takes exactly as many optimisation steps as one without and sees a new voice-length
each epoch. The variation that matters on a keyword set is across voices (its splits are speaker-disjoint),
and this is the augmentation that measured ahead of none at 0 dB (README, Project models). A recipe can
add SpecAugment masks per batch (``spec_augment``) and ``copies`` fixed waveform variants per example from
Earmark's dsp augmentations (time shift, pitch shift, noise, gain; ``augment_specs``), drawn once from the
seed; both were level or worse at 0 dB and are off by default.

Two details decide whether those help or hurt (measured in benchmarks/models.py):
- masks are filled with the normalised patch's zero (the training set's mean level, the paper's choice),
  never with the -100 dB floor: a noisy recording's quietest cell sits near -45 dB, so floor-filled masks
  are blocks 55 dB below anything real, and the network learned those instead of the words (0.15
  held-out accuracy with floor-filled masks vs 0.88 without SpecAugment, 10 dB set);
- time shifts roll the clip round instead of zero-filling it, for the same reason (digital silence inside
  a noisy clip is a -100 dB block too).
The augmented copies' log-mel is computed by ``audio_mel_db`` from audio that carries its own context,
so it is on exactly the stored features' scale (tests/learning/test_features_paths.py).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from apps.learning.backends import Example, FitResult, Progress, audio_mel_db, fix_length
from apps.processing.dsp.augment import augment_chain
from apps.processing.dsp.specaugment import mel_warp, spec_augment

DEFAULT_AUGMENT = [
    {"kind": "time_shift", "seconds": [-0.1, 0.1], "rollover": True},
    {"kind": "pitch_shift", "semitones": [-2.0, 2.0]},
    {"kind": "gain", "db": [-6.0, 6.0]},
    {"kind": "noise", "snr_db": [0.0, 20.0]},
]
# On-the-fly augmentation, drawn afresh for every example in every batch (no copies, so an augmented run takes
# exactly as many steps as one without): vocal-tract-length perturbation of the mel axis, then SpecAugment if set.
DEFAULT_WARP = [0.9, 1.1]
# SpecAugment is off unless a recipe sets ``spec_augment`` (masks as dsp.specaugment takes them): at 0 dB it was
# level or worse (README, Project models).
DEFAULT_SPEC_AUGMENT = None


def _mel_params(feature_params, sr: int) -> dict:
    """The mel bands' layout ``mel_warp`` needs (the project's feature parameters; librosa's defaults without)."""
    if feature_params is None:
        return {"sr": int(sr or 16000)}
    p = feature_params
    return {"sr": p.sr, "fmin": p.fmin, "fmax": p.fmax, "htk": p.htk}


class Net(nn.Module):
    def __init__(self, n_mels: int, n_classes: int, width: int = 16):
        super().__init__()
        # Halve both axes first (80 mels x 100 frames -> 40 x 50): a ninth of the compute, same accuracy on words.
        self.pool_in = nn.AvgPool2d(2)

        def block(cin, cout):
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2)
            )

        self.features = nn.Sequential(
            block(1, width),
            block(width, 2 * width),
            block(2 * width, 4 * width),
            nn.Conv2d(4 * width, 4 * width, 3, padding=1),
            nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(8 * width, n_classes))

    def embed(self, x):
        """What the head reads: the last convolution's maps averaged over frequency, then averaged and maxed over
        time."""
        h = self.features(self.pool_in(x.unsqueeze(1)))
        h = h.mean(dim=2)  # over frequency
        return torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1)  # average and max over time

    def forward(self, x):
        return self.head(self.embed(x))


class CnnModel:
    backend = "cnn"

    def __init__(self):
        self.net: Net | None = None
        self.meta: dict = {}

    # --- inputs -------------------------------------------------------------------------------------

    def _norm(self, mel: np.ndarray) -> np.ndarray:
        return (mel - self.meta["mean"]) / self.meta["std"]

    def _patches(self, examples: Sequence[Example]) -> tuple[np.ndarray, list[int]]:
        """Every example cut into patch-long windows (hop half a patch); returns windows and their owner."""
        frames = self.meta["frames"]
        out, owner = [], []
        for i, e in enumerate(examples):
            n = e.mel.shape[-1]
            starts = [0] if n <= frames else list(range(0, n - frames + 1, max(1, frames // 2)))
            if n > frames and starts[-1] != n - frames:
                starts.append(n - frames)
            for s in starts:
                out.append(self._norm(fix_length(e.mel, frames, offset=s)))
                owner.append(i)
        return np.stack(out).astype(np.float32), owner

    def _augmented(self, examples, y, recipe, sr, feature_params, rng, progress) -> tuple[list[np.ndarray], list]:
        specs = recipe.get("augment_specs") or DEFAULT_AUGMENT
        copies = int(recipe.get("copies", 0))
        mels, labels = [], []
        for i, (e, label) in enumerate(zip(examples, y)):
            if e.audio is None:
                continue
            for _ in range(copies):
                wav = augment_chain(e.audio.astype(np.float32), sr, specs, seed=rng)
                mels.append(audio_mel_db(wav, feature_params))
                labels.append(label)
            if i % 50 == 0:
                progress("augment", 100.0 * i / max(1, len(examples)))
        return mels, labels

    # --- the interface --------------------------------------------------------------------------------

    def fit(self, train, y, *, n_classes, recipe, sr, feature_params, progress: Progress, holdout=None) -> FitResult:
        seed = int(recipe.get("seed", 0))
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        torch.set_num_threads(int(recipe.get("threads", 2)))
        hop = feature_params.hop_length if feature_params is not None else 160
        frames = int(round(float(recipe.get("patch_seconds", 1.0)) * sr / hop)) if sr else 100
        mels, labels = [e.mel for e in train], list(map(int, y))
        # One level and spread for every input, from the stored features alone (the same with or without
        # augmentation, so the two recipes differ only in what they train on).
        stacked = np.concatenate([m.reshape(m.shape[0], -1) for m in mels], axis=1)
        if recipe.get("augment", True) and int(recipe.get("copies", 0)) > 0:
            more, more_y = self._augmented(train, y, recipe, sr, feature_params, rng, progress)
            mels, labels = mels + more, labels + more_y
        # Random crops for long examples at training time; centred (and windowed) at prediction.
        self.meta = {
            "frames": frames,
            "n_mels": int(mels[0].shape[0]),
            "n_classes": n_classes,
            "mean": float(stacked.mean()),
            "std": float(stacked.std() or 1.0),
        }
        self.net = Net(self.meta["n_mels"], n_classes, width=int(recipe.get("width", 16)))
        epochs, batch = int(recipe.get("epochs", 20)), int(recipe.get("batch_size", 64))
        opt = torch.optim.AdamW(self.net.parameters(), lr=float(recipe.get("lr", 3e-3)), weight_decay=1e-3)
        steps = epochs * ((len(mels) + batch - 1) // batch)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=float(recipe.get("lr", 3e-3)), total_steps=steps)
        loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
        labels_t = np.asarray(labels)
        augment = bool(recipe.get("augment", True))
        specaug = recipe.get("spec_augment", DEFAULT_SPEC_AUGMENT) if augment else None
        warp = recipe.get("warp", DEFAULT_WARP) if augment else None
        mel_params = _mel_params(feature_params, sr)
        curve = []
        for epoch in range(epochs):
            self.net.train()
            order = rng.permutation(len(mels))
            total = 0.0
            for b in range(0, len(order), batch):
                idx = order[b : b + batch]
                xb = []
                for i in idx:
                    m = mels[i]
                    off = int(rng.integers(0, m.shape[-1] - frames + 1)) if m.shape[-1] > frames else None
                    m = fix_length(m, frames, offset=off)
                    if warp:  # before normalising: the dB values move between bands, the level stays
                        m = mel_warp(m, float(rng.uniform(*warp)), **mel_params)
                    patch = self._norm(m)
                    if specaug:  # on the normalised patch, masks at 0: the mean level, not the floor
                        patch = spec_augment(patch, rng=rng, mask_value=0.0, **specaug)
                    xb.append(patch)
                x = torch.from_numpy(np.stack(xb).astype(np.float32))
                loss = loss_fn(self.net(x), torch.from_numpy(labels_t[idx]).long())
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                total += float(loss.detach()) * len(idx)
            point = {"step": epoch + 1, "train_loss": total / len(order), "unit": "epoch"}
            if holdout is not None and len(holdout[1]):
                point["accuracy"] = float((self.predict_proba(holdout[0]).argmax(axis=1) == holdout[1]).mean())
            curve.append(point)
            progress("fit", 100.0 * (epoch + 1) / epochs)
        return FitResult(curve=curve)

    @torch.no_grad()
    def _per_example(self, examples: Sequence[Example], head: bool) -> np.ndarray:
        """Softmax outputs (``head``) or embeddings of every patch window, averaged per example."""
        self.net.eval()
        x, owner = self._patches(examples)
        rows = []
        for b in range(0, len(x), 256):
            batch = torch.from_numpy(x[b : b + 256])
            rows.append((torch.softmax(self.net(batch), dim=1) if head else self.net.embed(batch)).numpy())
        windows = np.concatenate(rows)
        out = np.zeros((len(examples), windows.shape[1]))
        np.add.at(out, np.asarray(owner), windows)
        return out / np.bincount(owner, minlength=len(examples))[:, None]

    def predict_proba(self, examples: Sequence[Example]) -> np.ndarray:
        if not len(examples):
            return np.zeros((0, self.meta["n_classes"]))
        return self._per_example(examples, head=True)

    def embed(self, examples: Sequence[Example]) -> np.ndarray:
        """What the network's head reads (pooled activations of its last convolution), averaged per example."""
        if not len(examples):
            return np.zeros((0, 0))
        return self._per_example(examples, head=False)

    def payload(self) -> tuple[dict, bytes]:
        buf = io.BytesIO()
        torch.save(self.net.state_dict(), buf)
        return {**self.meta, "width": self.net.head[1].in_features // 8}, buf.getvalue()

    def restore(self, meta: dict, payload: bytes) -> None:
        self.meta = meta
        self.net = Net(meta["n_mels"], meta["n_classes"], width=int(meta.get("width", 16)))
        self.net.load_state_dict(torch.load(io.BytesIO(payload), weights_only=True))
        self.net.eval()
