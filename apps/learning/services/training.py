"""Training and scoring project models: consented data only, a speaker-disjoint held-out split, a seed."""

from __future__ import annotations

import functools
import hashlib
import logging
import resource
import secrets
import time
from datetime import timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from apps.annotation.models import Label, LabelKind
from apps.core.errors import DomainError
from apps.core.hooks import MODEL_READY, hook_call
from apps.core.splits import assign_splits
from apps.learning import backends
from apps.learning.models import Backend, ModelState, ProjectModel, Task, TrainingExample
from apps.learning.services.data import LabelledSpan, examples_load, labelled_spans

log = logging.getLogger(__name__)

MODEL_PREFIX = "models/"
# Hyperparameters each backend takes, with defaults; a request may set only these keys.
RECIPE_DEFAULTS: dict[str, dict[str, Any]] = {
    "sklearn": {"classifier": "logistic", "C": 1.0, "max_iter": 2000, "learning_rate": 0.1},
    "cnn": {
        "epochs": 30,
        "batch_size": 64,
        "lr": 3e-3,
        "width": 16,
        "patch_seconds": 1.0,
        "augment": True,
        "copies": 0,  # waveform copies (augment_specs, default cnn.DEFAULT_AUGMENT); 0: on-the-fly warp only
        "warp": [0.9, 1.1],  # vocal-tract-length perturbation of the mel axis, drawn per example and batch
        "threads": 2,
    },
}
COMMON_DEFAULTS = {"seed": 0, "test_ratio": 0.2}
CLASSIFIERS = ("logistic", "gradient_boosting")
MAX_ATTEMPTS = 3


def _lease():
    return timezone.now() + timedelta(seconds=int(settings.EARMARK_TRAIN_LEASE_SECONDS))


class MemoryLimit(Exception):
    pass


def recipe_clean(backend: str, recipe: dict | None) -> dict:
    """The full recipe (defaults filled in) or DomainError naming the bad key."""
    recipe = dict(recipe or {})
    allowed = {**COMMON_DEFAULTS, **RECIPE_DEFAULTS[backend]}
    unknown = sorted(set(recipe) - set(allowed) - {"augment_specs", "spec_augment"})
    if unknown:
        raise DomainError(
            f"recipe: {', '.join(unknown)} is not a setting of the {backend} backend; "
            f"it takes {', '.join(sorted(allowed))}."
        )
    out = {**allowed, **recipe, "backend": backend}
    for key, default in allowed.items():
        value = out[key]
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise DomainError(f"recipe.{key} must be true or false.")
        elif isinstance(default, (int, float)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise DomainError(f"recipe.{key} must be a number of at least 0.")
            out[key] = type(default)(value)
    if not 0.05 <= out["test_ratio"] <= 0.5:
        raise DomainError("recipe.test_ratio must be between 0.05 and 0.5 (the held-out share).")
    if backend == "sklearn" and out["classifier"] not in CLASSIFIERS:
        raise DomainError(f"recipe.classifier must be one of {', '.join(CLASSIFIERS)}.")
    if backend == "cnn" and not 1 <= out["epochs"] <= 500:
        raise DomainError("recipe.epochs must be between 1 and 500.")
    if backend == "cnn" and out.get("warp") is not None:
        warp = out["warp"]
        if not (
            isinstance(warp, (list, tuple))
            and len(warp) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in warp)
            and 0.5 <= warp[0] <= warp[1] <= 2.0
        ):
            raise DomainError("recipe.warp must be null or [low, high] with 0.5 <= low <= high <= 2 (mel factors).")
        out["warp"] = [float(v) for v in warp]
    return out


def model_create(
    *,
    project_id: int,
    actor,
    task: str = Task.REGION,
    backend: str = Backend.SKLEARN,
    recipe: dict | None = None,
    retrain_of: ProjectModel | None = None,
    release_id: int | None = None,
    enqueue: bool = True,
) -> ProjectModel:
    """Create a model in state training and queue it on the ``train`` queue after commit. Writes ProjectModel."""
    if task not in Task.values:
        raise DomainError(f"task must be one of {', '.join(Task.values)}.")
    if backend not in Backend.values:
        raise DomainError(f"backend must be one of {', '.join(Backend.values)}.")
    if backend == Backend.CNN and not backends.cnn_available():
        raise DomainError(
            "The CNN backend needs the ML extra (pip install -r requirements/ml.txt), "
            "which this server does not have; use the sklearn backend."
        )
    kind = LabelKind.REGION if task == Task.REGION else LabelKind.CLIP
    if Label.objects.filter(project_id=project_id, kind=kind).count() < 2:
        raise DomainError(f"A {task} model needs at least two {kind} labels in the project's schema.")
    clean = recipe_clean(backend, recipe)
    for _ in range(5):
        version = (ProjectModel.objects.filter(project_id=project_id).aggregate(m=Max("version"))["m"] or 0) + 1
        try:
            with transaction.atomic():
                model = ProjectModel.objects.create(
                    project_id=project_id,
                    version=version,
                    task=task,
                    backend=backend,
                    recipe=clean,
                    retrain_of=retrain_of,
                    release_id=release_id,
                    created_by=actor if getattr(actor, "is_authenticated", False) else None,
                )
            break
        except IntegrityError:  # another request took this version number
            continue
    else:
        raise DomainError("Could not number the new model; try again.", status_code=409)
    if enqueue:
        from apps.learning.tasks import train_model

        transaction.on_commit(lambda: train_model.delay(model.id))
    return model


def _progress_writer(model_id: int, token: str):
    limit_mb = float(settings.EARMARK_TRAIN_MAX_MEMORY_MB)
    last = [0.0]
    weights = {"load": (0, 25), "augment": (25, 45), "fit": (45, 90), "evaluate": (90, 95), "score": (95, 100)}

    def report(stage: str, pct: float) -> None:
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if limit_mb and rss_mb > limit_mb:
            raise MemoryLimit(
                f"training used {rss_mb:.0f} MB, over this server's limit of {limit_mb:.0f} MB "
                "(EARMARK_TRAIN_MAX_MEMORY_MB); train on fewer examples or a smaller model"
            )
        now = time.monotonic()
        if now - last[0] < 0.5 and pct < 100:
            return
        last[0] = now
        lo, hi = weights.get(stage, (0, 100))
        ProjectModel.objects.filter(pk=model_id, claim_token=token).update(
            stage=stage, percent=round(lo + (hi - lo) * min(max(pct, 0.0), 100.0) / 100.0, 1), lease_expires_at=_lease()
        )

    return report


def _split(spans: list[LabelledSpan], recipe: dict, fixed: dict[int, str] | None) -> list[str]:
    """train/test per span: speaker-disjoint (the release split code), or as a release fixed them."""
    if fixed is not None:
        return [fixed.get(s.recording_id, "") for s in spans]
    items = [
        {
            "key": s.key,
            "speaker": f"s{s.speaker_id}" if s.speaker_id else None,
            "labels": (str(s.label_id),),
            "language": s.language,
            "duration": 1.0,
            "recording_id": str(s.recording_id),
        }
        for s in spans
    ]
    ratio = recipe["test_ratio"]
    assignment = assign_splits(items, {"train": 1 - ratio, "test": ratio}, seed=recipe["seed"])
    return [assignment[s.key] for s in spans]


def _artifact_save(model: ProjectModel, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    key = f"{MODEL_PREFIX}{model.project_id}/{model.id}-v{model.version}-{digest[:16]}.model"
    if default_storage.exists(key):
        default_storage.delete(key)
    saved = default_storage.save(key, ContentFile(data))
    if saved != key:
        default_storage.delete(saved)
    return key


def model_train(*, model_id: int, split: dict[int, str] | None = None) -> ProjectModel | None:
    """Train a queued model: claim it, record its exact training set, fit, score the held-out split, store it.

    Reads only recordings usable for train_models at this moment. Writes TrainingExample rows, the model's
    artifact in storage, metrics and state (ready; stale stays stale if a speaker withdrew meanwhile).
    ``split`` (recording id → train/test) replaces the speaker-disjoint split (release baselines).
    Returns None when another worker holds the model or it is no longer waiting.
    """
    token = secrets.token_hex(8)
    free = Q(claim_token="") | Q(lease_expires_at__lt=timezone.now())
    if not ProjectModel.objects.filter(free, pk=model_id, state=ModelState.TRAINING).update(
        claim_token=token,
        started_at=timezone.now(),
        stage="starting",
        lease_expires_at=_lease(),
        attempts=F("attempts") + 1,
    ):
        return None
    model = ProjectModel.objects.get(pk=model_id)
    report = _progress_writer(model_id, token)
    try:
        return _train(model, token, report, split)
    except (ValueError, LookupError, MemoryLimit) as exc:  # the data or the limits: a sentence, no retry
        model_fail(model_id=model_id, error=_sentence(exc))
        return ProjectModel.objects.get(pk=model_id)
    except Exception as exc:  # anything else fails the model too, and reaches the worker's log
        model_fail(model_id=model_id, error=_sentence(exc))
        raise


def _sentence(exc: Exception) -> str:
    if isinstance(exc, (DomainError,)):
        return exc.message if hasattr(exc, "message") else str(exc)
    if type(exc).__name__ == "SoftTimeLimitExceeded":
        return "training took longer than this server's time limit (EARMARK_TRAIN_SOFT_TIME_LIMIT)"
    if isinstance(exc, (MemoryLimit, LookupError, ValueError)):
        return str(exc)[:500]
    return f"training stopped: {type(exc).__name__}"


def _train(model: ProjectModel, token: str, report, split) -> ProjectModel:
    recipe = model.recipe
    spans = labelled_spans(
        project_id=model.project_id, task=model.task, recording_ids=None if split is None else list(split)
    )
    kind = LabelKind.REGION if model.task == Task.REGION else LabelKind.CLIP
    names = dict(Label.objects.filter(project_id=model.project_id, kind=kind).values_list("id", "name"))
    present = sorted({s.label_id for s in spans} & set(names))
    if len(present) < 2:
        raise ValueError(
            f"there are accepted {kind} labels of {len(present)} kind(s) on recordings usable for model "
            "training; a model needs examples of at least two labels"
        )
    index = {label_id: i for i, label_id in enumerate(present)}
    parts = _split(spans, recipe, split)
    # The exact training set, recorded before anything is read: a withdrawal from now on finds this model.
    with transaction.atomic():
        TrainingExample.objects.filter(model=model).delete()
        TrainingExample.objects.bulk_create(
            [
                TrainingExample(
                    model=model,
                    recording_id=s.recording_id,
                    speaker_id=s.speaker_id,
                    region_id=s.region_id,
                    label_id=s.label_id,
                    split=p,
                )
                for s, p in zip(spans, parts)
                if p
            ],
            batch_size=1000,
        )
        ProjectModel.objects.filter(pk=model.pk).update(classes=[[i, names[i]] for i in present])
    train_idx = [i for i, p in enumerate(parts) if p == "train"]
    test_idx = [i for i, p in enumerate(parts) if p == "test"]
    if len({spans[i].label_id for i in train_idx}) < 2:
        raise ValueError("the training split holds examples of fewer than two labels; label more recordings")
    # Audio only for waveform copies; the default on-the-fly augmentation works on the stored mel.
    want_audio = model.backend == Backend.CNN and recipe.get("augment", True) and int(recipe.get("copies", 0)) > 0
    examples, inputs = examples_load(project_id=model.project_id, spans=spans, with_audio=want_audio, progress=report)
    y = np.array([index[s.label_id] for s in spans])
    engine = backends.backend_new(model.backend)
    started = time.monotonic()
    fit = engine.fit(
        [examples[i] for i in train_idx],
        y[train_idx],
        n_classes=len(present),
        recipe=recipe,
        sr=inputs.params.sr,
        feature_params=inputs.params,
        progress=report,
        holdout=([examples[i] for i in test_idx], y[test_idx]),
    )
    seconds = time.monotonic() - started
    report("evaluate", 0)
    metrics = backends.evaluate(engine, [examples[i] for i in test_idx], y[test_idx], len(present))
    metrics.update({"curve": fit.curve, "train_seconds": round(seconds, 2)})
    data = backends.dumps(engine)
    key = _artifact_save(model, data)
    counts = _counts(spans, parts)
    with transaction.atomic():
        ProjectModel.objects.filter(pk=model.pk).update(
            artifact_key=key, artifact_bytes=len(data), metrics=metrics, counts=counts, finished_at=timezone.now()
        )
        became = ProjectModel.objects.filter(pk=model.pk, state=ModelState.TRAINING, claim_token=token).update(
            state=ModelState.READY, stage="done", percent=100.0
        )
        if became:
            hook_call(MODEL_READY, model_id=model.pk, project_id=model.project_id)  # events: webhooks
    model.refresh_from_db()
    if became:
        from apps.learning.services.queue import model_score_pool

        model_score_pool(model=model, engine=engine)
        log.info("model %s v%s ready: accuracy %s", model.pk, model.version, metrics.get("accuracy"))
    return model


def _counts(spans, parts) -> dict:
    out = {}
    for name in ("train", "test"):
        mine = [s for s, p in zip(spans, parts) if p == name]
        out[name] = {
            "examples": len(mine),
            "recordings": len({s.recording_id for s in mine}),
            "speakers": len({s.speaker_id for s in mine if s.speaker_id}),
        }
    return out


def models_requeue_stale(*, now=None) -> dict:
    """Sweeper: training models whose worker died (lease expired) are sent again, or failed after 3 attempts."""
    from apps.learning.tasks import train_model

    now = now or timezone.now()
    lost = ProjectModel.objects.filter(state=ModelState.TRAINING, lease_expires_at__lt=now).exclude(claim_token="")
    given_up = list(lost.filter(attempts__gte=MAX_ATTEMPTS).values_list("pk", flat=True))
    for model_id in given_up:
        model_fail(
            model_id=model_id,
            error=f"training was interrupted {MAX_ATTEMPTS} times (the worker stopped); start a new model",
        )
    resent = list(lost.exclude(pk__in=given_up).values_list("pk", flat=True))
    for model_id in resent:
        transaction.on_commit(functools.partial(train_model.delay, model_id))
    return {"resent": len(resent), "failed": len(given_up)}


def model_fail(*, model_id: int, error: str) -> None:
    """Mark a training model failed with a sentence (the task's failure hook); a stale one stays stale."""
    ProjectModel.objects.filter(pk=model_id, state=ModelState.TRAINING).update(
        state=ModelState.FAILED, error=error[:1000], stage="failed", finished_at=timezone.now()
    )


def model_load(model: ProjectModel):
    """The model's predictor, read from storage (any worker, any machine)."""
    return _load_cached(model.artifact_key)


_CACHE: dict[str, object] = {}


def _load_cached(key: str):
    # Keys carry the artifact's hash, so a cached predictor can never be out of date.
    if key not in _CACHE:
        if len(_CACHE) > 8:
            _CACHE.clear()
        with default_storage.open(key, "rb") as fh:
            _CACHE[key] = backends.backend_loads(fh.read())
    return _CACHE[key]
