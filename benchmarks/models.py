"""Project models on a keyword set built here: held-out accuracy beside chance, augmentation, active learning.

espeak-ng says ten words in ten voices and variants, at five speeds and four pitches (2,000 one-second
clips), mixed with white noise at 20, 10 and 0 dB. Each voice becomes one recording of its 200 clips (a
"speaker" with consent to model training), ingested and processed by Earmark's own services, with its
words labelled as accepted regions. Models train through ``model_create`` + ``model_train`` (the train
queue's service), whose speaker-disjoint split keeps every voice in one split only.

Prints per noise level: held-out accuracy and macro-F1 beside chance (the commonest word's share), for
scikit-learn and for the CNN with and without augmentation, and training time on this machine. Then
simulates active learning on the 10 dB set: labels needed to reach 90 % of the full-pool accuracy when
the next labels are the first batch of the product's queue order (``active_learning_order``: uncertainty
and coverage, spread over clusters, with a project's settings) vs random ones (mean of 3 seeds; same seed
set, pool, model and stopping rule for both).

    .venv/bin/python benchmarks/models.py            # the full run (~15 min on 2 idle cores)
    .venv/bin/python benchmarks/models.py --snr 10   # one noise level (and active learning)
    .venv/bin/python benchmarks/models.py --quick    # 4 voices, 2 speeds, 2 pitches: a smoke run
    .venv/bin/python benchmarks/models.py --no-cnn --snr 10 --coverage-weight 0.5 0   # active learning
    .venv/bin/python benchmarks/models.py --snr 0 --seeds 6   # augmentation at 0 dB, paired over 6 splits
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
VOICES = [
    "en-gb",
    "en-us",
    "en-gb-scotland",
    "en-gb-x-gbclan",
    "en-gb-x-rp",
    "en-gb-x-gbcwmd",
    "en-029",
    "en-us+f2",
    "en-gb+f4",
    "en+m3",
]
SPEEDS = [120, 145, 170, 195, 220]
PITCHES = [30, 45, 60, 75]
SR = 16000
GAP_S = 0.25


def say(args) -> np.ndarray:
    """One word from espeak-ng as 1 s of 16 kHz float audio (centred, trimmed of silence)."""
    import librosa

    word, voice, speed, pitch = args
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", word],
        check=True,
        capture_output=True,
    ).stdout
    y, sr = sf.read(io.BytesIO(wav), dtype="float32")
    y = librosa.resample(y, orig_sr=sr, target_sr=SR)
    y, _ = librosa.effects.trim(y, top_db=35)
    y = y[:SR]
    out = np.zeros(SR, dtype=np.float32)
    start = (SR - len(y)) // 2
    out[start : start + len(y)] = y / (np.abs(y).max() + 1e-9) * 0.5
    return out


def synthesize(voices, speeds, pitches) -> dict[str, list[tuple[str, np.ndarray]]]:
    jobs = [(w, v, s, p) for v in voices for w in WORDS for s in speeds for p in pitches]
    with ProcessPoolExecutor(2) as pool:
        clips = list(pool.map(say, jobs, chunksize=20))
    per_voice: dict[str, list] = {v: [] for v in voices}
    for (w, v, _, _), y in zip(jobs, clips):
        per_voice[v].append((w, y))
    return per_voice


def recording_of(clips, snr_db: float, seed: int) -> tuple[bytes, list[tuple[float, float, str]]]:
    """The voice's clips in a shuffled row with gaps, white noise at ``snr_db`` over the whole recording."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(clips))
    step = SR + int(GAP_S * SR)
    y = np.zeros(step * len(clips), dtype=np.float32)
    spans = []
    for n, i in enumerate(order):
        word, clip = clips[i]
        y[n * step : n * step + SR] = clip
        spans.append((n * step / SR, n * step / SR + 1.0, word))
    speech = np.concatenate([c for _, c in clips])
    power = float(np.mean(speech[np.abs(speech) > 1e-4] ** 2))
    y += rng.standard_normal(len(y)).astype(np.float32) * np.sqrt(power / 10 ** (snr_db / 10))
    buf = io.BytesIO()
    sf.write(buf, np.clip(y, -1, 1), SR, format="FLAC")
    return buf.getvalue(), spans


def build_project(name: str, per_voice, snr_db: float, manager):
    """Ingest and process one recording per voice through Earmark's services; label its words (accepted)."""
    from django.utils import timezone

    from apps.annotation.models import Annotation, Label, Region
    from apps.catalog.models import Speaker
    from apps.catalog.services import project_create
    from apps.catalog.services.ingest import recording_ingest
    from apps.consent.models import ConsentRecord
    from apps.consent.purposes import ALL_PURPOSES_MASK
    from apps.processing.services import project_recipe_set

    project = project_create(name=name, created_by=manager)
    project_recipe_set(project=project, spec={"artifacts": ["mel", "processed_audio"]})
    labels = {w: Label.objects.create(project=project, kind="region", name=w, order=i) for i, w in enumerate(WORDS)}
    for i, (voice, clips) in enumerate(per_voice.items()):
        speaker = Speaker.objects.create(project=project, code=f"voice-{i}")
        ConsentRecord.objects.create(speaker=speaker, purpose_mask=ALL_PURPOSES_MASK, granted_at=timezone.now())
        data, spans = recording_of(clips, snr_db, seed=1000 * i + int(snr_db))
        result = recording_ingest(
            project=project,
            fileobj=io.BytesIO(data),
            name=f"{voice}-{snr_db}.flac",
            created_by=manager,
            speaker_code=speaker.code,
        )
        assert result.status == "accepted", result
        ann = Annotation.objects.create(
            project=project,
            recording_id=result.recording_id,
            annotator=manager,
            status="accepted",
            version=1,
            submitted_at=timezone.now(),
        )
        Region.objects.bulk_create(
            [
                Region(annotation=ann, uid=f"{ann.id}-{n}", start=a, end=b, label=labels[w])
                for n, (a, b, w) in enumerate(spans)
            ]
        )
    return project


def train(project, manager, backend: str, **recipe):
    from apps.learning.services import model_create, model_train

    model = model_create(
        project_id=project.id, actor=manager, backend=backend, recipe={"test_ratio": 0.3, **recipe}, enqueue=False
    )
    started, cpu = time.perf_counter(), time.process_time()
    model = model_train(model_id=model.id)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert model.state == "ready", model.error
    return model, seconds, cpu


def active_learning(project, seeds=(0, 1, 2), per_label=1, step=None, weights=None, measure=None):
    """Labels needed to reach 90 % of full-pool accuracy: the queue's uncertainty order vs random order (sklearn).

    Both orders start from the same seed set (``per_label`` random clips of every word, drawn per seed),
    add ``step`` labels per round and retrain after each round, on the same pool, test split and model, and
    stop at the first round whose held-out accuracy reaches the goal. Uncertainty order labels the first
    batch of ``active_learning_order``, the function whose order the product's queue serves
    (``model_score_pool``), with the project's settings (margin or entropy, coverage weight; a new project's
    defaults unless given) and the queue's batch size; an item is a clip, its speaker the voice, and the
    labelled counts are the labelled clips', as a model's training examples are in the product. Random
    order takes random clips. ``weights``: the coverage weights to simulate (each against the same random runs).
    """
    from apps.core.splits import assign_splits
    from apps.learning.active import active_learning_order
    from apps.learning.backends.sklearn import SklearnModel
    from apps.learning.services import learning_settings_get
    from apps.learning.services.data import examples_load, labelled_spans
    from apps.learning.services.queue import QUEUE_BATCH

    cfg = learning_settings_get(project.id)
    measure = measure or cfg.uncertainty
    weights = list(weights) if weights else [cfg.coverage_weight]
    step = step or QUEUE_BATCH
    spans = labelled_spans(project_id=project.id, task="region")
    examples, _ = examples_load(project_id=project.id, spans=spans, with_audio=False)
    items = [{"key": s.key, "speaker": str(s.speaker_id), "labels": (str(s.label_id),)} for s in spans]
    split = assign_splits(items, {"train": 0.7, "test": 0.3}, seed=0)
    index = {lab: i for i, lab in enumerate(sorted({s.label_id for s in spans}))}
    y = np.array([index[s.label_id] for s in spans])
    pool = [i for i, s in enumerate(spans) if split[s.key] == "train"]
    test = [i for i, s in enumerate(spans) if split[s.key] == "test"]
    k = len(index)

    def fit(ids):
        m = SklearnModel()
        m.fit(
            [examples[i] for i in ids],
            y[ids],
            n_classes=k,
            recipe={},
            sr=SR,
            feature_params=None,
            progress=lambda *_: None,
            holdout=None,
        )
        return m

    def accuracy(m):
        return float((m.predict_proba([examples[i] for i in test]).argmax(1) == y[test]).mean())

    def counts(ids, of):
        return Counter(of(i) for i in ids)

    full = accuracy(fit(pool))
    goal = 0.9 * full
    needed: dict = {"random": [], **{w: [] for w in weights}}
    for seed in seeds:
        for strategy in needed:
            rng = np.random.default_rng(seed)
            labelled = [int(i) for c in range(k) for i in rng.choice([j for j in pool if y[j] == c], per_label, False)]
            while True:
                model = fit(labelled)
                if accuracy(model) >= goal or len(labelled) >= len(pool):
                    break
                rest = np.array(sorted(set(pool) - set(labelled)))
                n = min(step, len(rest))
                if strategy == "random":
                    pick = rng.choice(rest, size=n, replace=False)
                else:
                    shown = [examples[i] for i in rest]
                    ranked = active_learning_order(
                        model.predict_proba(shown),
                        model.embed(shown),
                        groups={
                            "speaker": [spans[i].speaker_id for i in rest],
                            "language": [spans[i].language for i in rest],
                        },
                        labelled={
                            "label": counts(labelled, lambda i: int(y[i])),
                            "speaker": counts(labelled, lambda i: spans[i].speaker_id),
                            "language": counts(labelled, lambda i: spans[i].language),
                        },
                        measure=measure,
                        coverage_weight=strategy,
                        batch_size=n,
                        seed=seed,
                        max_batches=1,  # the queue's first batch; the product orders 50 batches, this one first
                    )
                    pick = rest[ranked.order[:n]]
                labelled += [int(i) for i in pick]
            needed[strategy].append(len(labelled))
    return full, len(pool), needed, measure


def paired_difference(a: list[float], b: list[float], draws: int = 10000) -> str:
    """Augmented minus not, paired by seed (same split, same initial weights): mean, 95 % bootstrap interval
    over seeds, and how many seeds each way. "Measurably better" = the interval lies above zero."""
    diff = np.asarray(a) - np.asarray(b)
    boot = np.random.default_rng(0).choice(diff, size=(draws, len(diff))).mean(axis=1)
    low, high = np.percentile(boot, [2.5, 97.5])
    verdict = "above zero: measurably better" if low > 0 else ("below zero" if high < 0 else "includes zero")
    return (
        f"augmented - none, paired by seed: {diff.mean():+.3f} (95 % bootstrap interval {low:+.3f} to {high:+.3f}, "
        f"{verdict}); better on {int((diff > 0).sum())} of {len(diff)} seeds, worse on {int((diff < 0).sum())}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--epochs", type=int, default=30, help="CNN epochs, both recipes")
    parser.add_argument("--threads", type=int, default=2, help="PyTorch threads per CNN training")
    parser.add_argument(
        "--augmented-recipe",
        type=json.loads,
        default={},
        help="JSON recipe keys for the augmented CNN run beyond the default recipe, e.g. '{\"copies\": 1}'",
    )
    parser.add_argument(
        "--snr", type=int, nargs="+", default=[20, 10, 0], help="noise levels to run (dB); active learning at 10"
    )
    parser.add_argument("--no-cnn", action="store_true", help="scikit-learn only (no PyTorch runs)")
    parser.add_argument("--no-active", action="store_true", help="skip the active-learning simulation")
    parser.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="CNN runs per recipe, seeds 0..N-1 (each seed also draws its own speaker-disjoint split); the mean "
        "accuracy of each recipe is printed after them, paired by seed",
    )
    parser.add_argument(
        "--first-seed",
        type=int,
        default=0,
        help="start the seeds here (seeds FIRST..FIRST+N-1), so a long --seeds run can be split over processes: "
        "a seed holds out the same voices in every process",
    )
    parser.add_argument(
        "--coverage-weight",
        type=float,
        nargs="+",
        help="coverage weights the active-learning simulation tries (default: a new project's setting)",
    )
    parser.add_argument(
        "--variants",
        type=int,
        nargs=2,
        metavar=("SPEEDS", "PITCHES"),
        help="use only the first SPEEDS speeds and PITCHES pitches (all ten voices)",
    )
    args = parser.parse_args()
    voices, speeds, pitches = (VOICES[:4], SPEEDS[:2], PITCHES[:2]) if args.quick else (VOICES, SPEEDS, PITCHES)
    if args.variants:
        speeds, pitches = SPEEDS[: args.variants[0]], PITCHES[: args.variants[1]]
    var = Path(tempfile.mkdtemp(prefix="earmark-models-bench-"))
    os.environ.update(
        {
            "EARMARK_VAR_DIR": str(var),
            "DJANGO_SETTINGS_MODULE": "benchmarks.bench_settings",
            "SECRET_KEY": "benchmark-only-secret-key-000000000000000000000",
            "EARMARK_ENV_FILE": "/nonexistent",
            "CELERY_TASK_ALWAYS_EAGER": "true",
        }
    )
    for key in ("DATABASE_URL", "CELERY_BROKER_URL", "EARMARK_STORAGE", "MEDIA_ROOT"):
        os.environ.pop(key, None)
    started = time.perf_counter()
    per_voice = synthesize(voices, speeds, pitches)
    n = sum(len(c) for c in per_voice.values())
    print(
        f"keyword set: {len(WORDS)} words x {len(voices)} voices x {len(speeds)} speeds x {len(pitches)} pitches "
        f"= {n} one-second clips, synthesised in {time.perf_counter() - started:.0f} s"
    )

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    manager = get_user_model().objects.create_user("bench-manager")
    epochs = 3 if args.quick else args.epochs
    augmented = args.augmented_recipe
    print(
        f"{'noise':>6} {'model':<24} {'accuracy':>8} {'macro-F1':>8} {'chance':>7} {'wall s':>8} {'cpu s':>7} "
        f"{'train/test clips':>17}"
    )
    projects = {}
    for snr in args.snr:
        t0 = time.perf_counter()
        project = projects[snr] = build_project(f"keywords {snr} dB", per_voice, snr, manager)
        print(f"  ({snr} dB set ingested and processed by Earmark's services in {time.perf_counter() - t0:.0f} s)")
        runs = [("sklearn (logistic)", "sklearn", {})]
        if snr in (10, 0) and not args.no_cnn:
            runs += [
                ("CNN, augmented", "cnn", {"epochs": epochs, "threads": args.threads, **augmented}),
                ("CNN, no augmentation", "cnn", {"epochs": epochs, "threads": args.threads, "augment": False}),
            ]
        means: dict[str, list[float]] = {}
        # Seed by seed, both CNN recipes back to back: each seed's pair is complete before the next seed starts.
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            for label, backend, recipe in runs:
                if backend != "cnn" and seed != args.first_seed:
                    continue
                model, seconds, cpu = train(project, manager, backend, **recipe, seed=seed)
                m, c = model.metrics, model.counts
                means.setdefault(label, []).append(m["accuracy"])
                print(
                    f"{snr:>4}dB {label + (f' s{seed}' if args.seeds > 1 and backend == 'cnn' else ''):<24} "
                    f"{m['accuracy']:8.3f} {m['macro_f1']:8.3f} {m['chance']:7.3f} "
                    f"{seconds:8.1f} {cpu:7.1f} {c['train']['examples']:>8}/{c['test']['examples']}",
                    flush=True,
                )
        if args.seeds > 1:
            for label, accs in means.items():
                if len(accs) > 1:
                    print(
                        f"{snr:>4}dB {label:<24} mean accuracy {np.mean(accs):.3f} "
                        f"(sd {np.std(accs):.3f}, n={len(accs)})"
                    )
            if "CNN, augmented" in means and "CNN, no augmentation" in means:
                print(f"{snr:>4}dB {paired_difference(means['CNN, augmented'], means['CNN, no augmentation'])}")
    if 10 not in projects or args.no_active:
        print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (2 cores, shared)")
        print(f"total {time.perf_counter() - started:.0f} s (no active-learning simulation: it runs on the 10 dB set)")
        return
    cpu = time.process_time()
    full, pool, needed, measure = active_learning(projects[10], weights=args.coverage_weight)
    cpu = time.process_time() - cpu
    needed_random = needed.pop("random")
    rnd = np.mean(needed_random)
    print(f"active learning (10 dB, sklearn, pool {pool} clips, full-pool accuracy {full:.3f}, goal {0.9 * full:.3f}):")
    print("  both from one clip per word, 10 labels per round, retrained each round")
    print(f"  labels needed, random order: {rnd:.0f} (seeds: {needed_random})")
    for weight, runs in needed.items():
        unc = np.mean(runs)
        print(
            f"  labels needed, the queue's order ({measure}, coverage weight {weight:g}): {unc:.0f} (seeds: {runs}): "
            f"{100 * (1 - unc / rnd):.0f} % fewer than random"
        )
    print(f"  simulation: {cpu:.0f} s CPU")
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (2 cores, shared)")
    print(f"total {time.perf_counter() - started:.0f} s; threads: torch {os.environ.get('OMP_NUM_THREADS', 'default')}")


if __name__ == "__main__":
    main()
