"""Predictions of a ready model: region suggestions for the annotator (with provenance) and clip labels."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from django.http import Http404

from apps.learning.backends import Example
from apps.learning.models import ModelState, ProjectModel, Task
from apps.learning.services.data import RecordingInputs
from apps.learning.services.training import model_load
from apps.processing.selectors import artifact_get, artifact_read

WINDOW_S, HOP_S = 1.0, 0.5
MAX_SUGGESTIONS = 2000


def model_latest_ready(*, project_id: int, task: str = Task.REGION) -> ProjectModel | None:
    """The newest ready model of the project for ``task`` (release baselines excluded); stale ones never."""
    return (
        ProjectModel.objects.filter(project_id=project_id, task=task, state=ModelState.READY, release_id__isnull=True)
        .order_by("-version")
        .first()
    )


def _segments(recording, seconds: float) -> tuple[list[tuple[float, float]], bool]:
    """Voice-activity regions when processing found any, else fixed windows (merged after prediction)."""
    try:
        body = json.loads(artifact_read(artifact=artifact_get(recording=recording, kind="voiced_segments")))
        segs = [(float(a), float(b)) for a, b in body.get("segments", []) if b > a]
    except Http404:
        segs = []
    if segs:
        return segs[:MAX_SUGGESTIONS], False
    starts = np.arange(0.0, max(seconds - WINDOW_S, 0.0) + 1e-9, HOP_S)
    return [(float(s), float(min(seconds, s + WINDOW_S))) for s in starts][:MAX_SUGGESTIONS], True


def _merge(regions: list[dict]) -> list[dict]:
    """Overlapping windows with the same label become one region (confidence: their mean)."""
    out: list[dict] = []
    for r in regions:
        last = out[-1] if out else None
        if last and last["label"] == r["label"] and r["start"] <= last["end"]:
            n = last.pop("_n", 1)
            last["confidence"] = (last["confidence"] * n + r["confidence"]) / (n + 1)
            last["end"], last["_n"] = r["end"], n + 1
        else:
            out.append(dict(r))
    for r in out:
        r.pop("_n", None)
    return out


def recording_examples(
    *, model: ProjectModel, recording, inputs: RecordingInputs
) -> tuple[list[tuple[float, float]], list[Example], bool]:
    """(spans, examples, windowed): what the model reads of one recording the caller read through the consent
    selector: the whole clip, or its voice-activity regions (else fixed windows)."""
    if model.task == Task.CLIP:
        return [(0.0, float(recording.duration))], [inputs.example(recording, None, None)], False
    _, _, seconds = inputs.rate(recording)
    spans, windowed = _segments(recording, seconds)
    return spans, [inputs.example(recording, a, b) for a, b in spans], windowed


def predictions_for(
    *, model: ProjectModel, recording, engine=None, inputs: RecordingInputs | None = None
) -> tuple[list[tuple[float, float]], np.ndarray, bool]:
    """(spans, probabilities, windowed) of one recording the caller read through the consent selector."""
    engine = engine or model_load(model)
    inputs = inputs or RecordingInputs(project_id=model.project_id)
    spans, examples, windowed = recording_examples(model=model, recording=recording, inputs=inputs)
    return spans, engine.predict_proba(examples), windowed


def recording_suggestions(*, recording) -> dict:
    """The project's latest ready model's suggestions for a recording already checked by the consent selector.

    ``{"model": {"id", "version", "backend"} | null, "regions": [{start, end, label, label_name, confidence}],
    "clip": {label, label_name, confidence} | null}``. No ready model (or only stale ones): no suggestions.
    """
    model = model_latest_ready(project_id=recording.project_id)
    if model is None or model.artifact_key == "":
        return {"model": None, "regions": [], "clip": None}
    names = {int(i): n for i, n in model.classes}
    order = [int(i) for i, _ in model.classes]
    spans, proba, windowed = predictions_for(model=model, recording=recording)
    regions: list[dict[str, Any]] = []
    for (a, b), p in zip(spans, proba):
        k = int(np.argmax(p))
        regions.append({"start": round(a, 3), "end": round(b, 3), "label": order[k], "confidence": float(p[k])})
    if windowed:
        regions = _merge(regions)
    for r in regions:
        r["confidence"] = round(r["confidence"], 3)
        r["label_name"] = names[r["label"]]
    return {
        "model": {"id": model.pk, "version": model.version, "backend": model.backend},
        "regions": regions,
        "clip": None,
    }
