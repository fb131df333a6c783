"""Active learning: the queue order a project chose, and the ready model's scores that drive it."""

from __future__ import annotations

from collections import Counter

import numpy as np
from django.db import transaction
from django.db.models import F, OuterRef, QuerySet, Subquery

from apps.annotation.models import Assignment, AssignmentStatus
from apps.consent.purposes import Purpose
from apps.consent.selectors import recordings_usable
from apps.core.errors import DomainError
from apps.learning.active import active_learning_order
from apps.learning.models import (
    LearningSettings,
    ProjectModel,
    QueueOrder,
    RecordingScore,
    TrainingExample,
    Uncertainty,
)
from apps.learning.services.data import RecordingInputs
from apps.learning.services.predict import model_latest_ready, recording_examples

MAX_POOL = 5000  # recordings scored after each training run
QUEUE_BATCH = 10  # recordings per active-learning batch (the benchmark's step)
QUEUE_BATCHES = 50  # batches chosen one by one (500 recordings); the rest follow in score order


def learning_settings_get(project_id: int) -> LearningSettings:
    return LearningSettings.objects.filter(project_id=project_id).first() or LearningSettings(project_id=project_id)


@transaction.atomic
def learning_settings_set(
    *,
    project_id: int,
    queue_order: str | None = None,
    uncertainty: str | None = None,
    coverage_weight: float | None = None,
) -> LearningSettings:
    """Choose the project's queue order (id, random, uncertainty) and uncertainty measure. Writes LearningSettings."""
    row, _ = LearningSettings.objects.select_for_update().get_or_create(project_id=project_id)
    if queue_order is not None:
        if queue_order not in QueueOrder.values:
            raise DomainError(f"queue_order must be one of {', '.join(QueueOrder.values)}.")
        row.queue_order = queue_order
    if uncertainty is not None:
        if uncertainty not in Uncertainty.values:
            raise DomainError(f"uncertainty must be one of {', '.join(Uncertainty.values)}.")
        row.uncertainty = uncertainty
    if coverage_weight is not None:
        if not 0.0 <= coverage_weight <= 1.0:
            raise DomainError("coverage_weight must be between 0 and 1.")
        row.coverage_weight = coverage_weight
    row.save()
    return row


def model_score_pool(*, model: ProjectModel, engine) -> int:
    """Score the recordings still waiting for labels and write the queue's order as their priorities.

    The order is ``active_learning_order`` (apps/learning/active.py, the same function the benchmark
    simulates): batches of ``QUEUE_BATCH`` recordings, each the most uncertain (the project's margin or
    entropy, averaged over a recording's windows) balanced with coverage of labels, speakers and languages
    the model's training examples lack (the project's coverage weight), spread over clusters of the model's
    own features. Priority falls by one per place, so the queue serves the first batch, then the next.
    Only recordings usable for annotation are read. Replaces the model's RecordingScore rows; returns how many.
    """
    cfg = learning_settings_get(model.project_id)
    done = Assignment.objects.filter(status=AssignmentStatus.DONE).values("recording_id")
    pool = list(
        recordings_usable(None, Purpose.ANNOTATE)
        .filter(project_id=model.project_id)
        .exclude(pk__in=done)
        .order_by("id")[:MAX_POOL]
    )
    order = [int(i) for i, _ in model.classes]
    index = {label_id: i for i, label_id in enumerate(order)}
    seen = TrainingExample.objects.filter(model=model, split="train")
    labelled: dict[str, Counter] = {
        "label": Counter(index[i] for i in seen.values_list("label_id", flat=True) if i in index),
        "speaker": Counter(seen.values_list("speaker_id", flat=True)),
        "language": Counter(seen.values_list("recording__language_id", flat=True)),
    }
    inputs = RecordingInputs(project_id=model.project_id)
    scored, proba, features = [], [], []
    for recording in pool:
        try:
            _, examples, _ = recording_examples(model=model, recording=recording, inputs=inputs)
        except LookupError:  # not processed yet: it keeps its place at the end
            continue
        if not examples:
            continue
        scored.append(recording)
        proba.append(engine.predict_proba(examples))
        features.append(engine.embed(examples).mean(axis=0))  # one row per recording: bounded memory
    rows = []
    if scored:
        ranked = active_learning_order(
            proba,
            np.stack(features),
            groups={
                "speaker": [r.speaker_id for r in scored],
                "language": [r.language_id for r in scored],
            },
            labelled=labelled,
            measure=cfg.uncertainty,
            coverage_weight=cfg.coverage_weight,
            batch_size=QUEUE_BATCH,
            seed=cfg.seed,
            max_batches=QUEUE_BATCHES,
        )
        place = np.empty(len(scored), dtype=np.int64)
        place[ranked.order] = np.arange(len(scored))
        rows = [
            RecordingScore(
                model=model,
                recording=recording,
                predicted_label_id=order[int(ranked.predicted[i])],
                margin=float(ranked.margin[i]),
                entropy=float(ranked.entropy[i]),
                priority=float(len(scored) - place[i]),
            )
            for i, recording in enumerate(scored)
        ]
    with transaction.atomic():
        RecordingScore.objects.filter(model=model).delete()
        RecordingScore.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def queue_order_for(*, project_id: int, candidates: QuerySet) -> QuerySet | None:
    """Hook QUEUE_ORDER: the candidates in the project's chosen order; None keeps annotation's id order."""
    cfg = learning_settings_get(project_id)
    if cfg.queue_order == QueueOrder.RANDOM:
        return candidates.order_by("?")
    if cfg.queue_order == QueueOrder.UNCERTAINTY:
        model = model_latest_ready(project_id=project_id)
        if model is None:
            return None
        score = RecordingScore.objects.filter(model=model, recording_id=OuterRef("pk")).values("priority")[:1]
        return candidates.annotate(_priority=Subquery(score)).order_by(F("_priority").desc(nulls_last=True), "id")
    return None


def queue_order_describe(project_id: int) -> dict:
    """What the queue does now, in words and ids, for the queue and model pages."""
    cfg = learning_settings_get(project_id)
    model = model_latest_ready(project_id=project_id)
    uses = model if cfg.queue_order == QueueOrder.UNCERTAINTY else None
    text: dict[str, str] = {
        QueueOrder.ID: "Recordings come in id order.",
        QueueOrder.RANDOM: "Recordings come in random order.",
        QueueOrder.UNCERTAINTY: (
            f"Most uncertain first ({cfg.get_uncertainty_display().lower()}) by model "
            f"v{model.version}, balanced with coverage of rare labels, speakers and languages "
            f"(weight {cfg.coverage_weight:g}), in batches of {QUEUE_BATCH} spread over clusters of "
            "recordings the model finds alike."
            if model
            else "Most uncertain first once a model is ready; until then in id order."
        ),
    }
    return {
        "queue_order": cfg.queue_order,
        "uncertainty": cfg.uncertainty,
        "coverage_weight": cfg.coverage_weight,
        "model": uses.pk if uses else None,
        "model_version": uses.version if uses else None,
        "text": text[cfg.queue_order],
    }
