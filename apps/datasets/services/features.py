"""Feature arrays in releases: the processing app's `.npy` artifacts of the project's active recipe.

A release spec's `features` names artifact kinds (mel, mfcc, chroma, spectrogram, and mfcc_delta /
mfcc_delta2 when the recipe makes deltas). Each example carries each kind as a numpy array:

- unit `recording`: the whole artifact, exactly as stored;
- unit `region`: the frames covering [start, end) of the example (margin included), on the last
  (frames) axis: frame ``t`` sits at ``t * hop_length / sample_rate`` seconds (librosa, centred), so
  the slice is ``floor(start * sr / hop) : ceil(end * sr / hop)``, clipped to the array, with the
  artifact's own ``hop_length`` and ``sample_rate`` (its meta, else the recipe's).

`features_require` checks at create time that every selected recording has every requested kind
(a 400 naming the kind and how many lack it, or saying processing is still running);
`FeatureReader` loads them during the build, one recording at a time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from apps.core.errors import DomainError
from apps.processing.models import (
    ACTIVE_STATUSES,
    Artifact,
    ProcessingJob,
    ProjectProcessing,
)
from apps.processing.selectors import feature_frame_range, feature_open

FEATURE_KINDS = ("spectrogram", "mel", "mfcc", "mfcc_delta", "mfcc_delta2", "chroma")
ID_CHUNK = 2000


def feature_kinds_validate(kinds: list[str]) -> list[str]:
    bad = [k for k in kinds if k not in FEATURE_KINDS]
    if bad:
        raise DomainError(f"Unknown feature {bad[0]!r}; choose from {', '.join(FEATURE_KINDS)}.")
    return [k for k in FEATURE_KINDS if k in kinds]


def _active_recipe(project_id: int) -> Any:
    pp = ProjectProcessing.objects.filter(project_id=project_id).select_related("active_recipe").first()
    if pp is None:
        raise DomainError(
            "This project has no processing recipe yet, so it has no feature files; process its "
            "recordings first or leave features empty."
        )
    return pp.active_recipe


def _check_recipe(recipe, spec: dict) -> None:
    if spec["unit"] == "region" and (
        recipe.spec.get("trim") or recipe.spec.get("length", {}).get("mode", "none") != "none"
    ):
        raise DomainError(
            "The active recipe trims or cuts the recordings, so region times do not match its feature "
            "frames; use unit 'recording' or a recipe without trim and length policy for features."
        )


def frame_range(*, start: float, end: float | None, hop_length: int, sample_rate: int, frames: int) -> tuple[int, int]:
    """Frames covering [start, end) seconds (see the module docstring)."""
    return feature_frame_range(start=start, end=end, hop_length=hop_length, sample_rate=sample_rate, frames=frames)


def features_require(*, project_id: int, spec: dict, recordings: list[tuple[int, str]]) -> None:
    """400 unless every (recording id, sha256) has every requested feature artifact of the active recipe."""
    kinds = spec.get("features") or []
    if not kinds:
        return
    recipe = _active_recipe(project_id)
    _check_recipe(recipe, spec)
    shas = sorted({sha for _, sha in recordings})
    have: dict[str, set[str]] = {}
    for i in range(0, len(shas), ID_CHUNK):
        rows = Artifact.objects.filter(
            recipe_hash=recipe.spec_hash, kind__in=kinds, source_sha256__in=shas[i : i + ID_CHUNK]
        )
        for sha, kind in rows.values_list("source_sha256", "kind"):
            have.setdefault(sha, set()).add(kind)
    lacking = [(rid, sha) for rid, sha in recordings if not set(kinds) <= have.get(sha, set())]
    if not lacking:
        return
    ids = [rid for rid, _ in lacking]
    running = sum(
        ProcessingJob.objects.filter(recording_id__in=ids[i : i + ID_CHUNK], status__in=ACTIVE_STATUSES)
        .values("recording_id")
        .distinct()
        .count()
        for i in range(0, len(ids), ID_CHUNK)
    )
    if running:
        raise DomainError(
            f"Processing is still running for {running} recording(s) of this release, so their "
            f"feature files are not ready yet; create the release when processing has finished."
        )
    for kind in kinds:
        n = sum(1 for _, sha in lacking if kind not in have.get(sha, set()))
        if n:
            raise DomainError(
                f"{n} of {len(recordings)} recording(s) in this release have no {kind!r} feature file for the "
                f"project's active recipe; reprocess the project (POST /api/v1/projects/{project_id}/reprocess/ "
                f'with {{"only_missing": true}}, after adding {kind!r} to the recipe if it lacks it) or leave '
                f"{kind!r} out of features."
            )


class FeatureReader:
    """Loads a recording's requested feature artifacts (one recording cached) and cuts them per example."""

    def __init__(self, *, project_id: int, spec: dict) -> None:
        self.kinds = list(spec.get("features") or [])
        self.recipe: Any = _active_recipe(project_id) if self.kinds else None
        if self.recipe is not None:
            _check_recipe(self.recipe, spec)
        self._sha: str | None = None
        self._arrays: dict[str, tuple] = {}
        self._rows: dict[str, dict[str, Artifact]] | None = None  # prefetched: sha256 -> kind -> artifact

    def prefetch(self, recordings) -> None:
        """Look up the feature artifacts of these recordings (those about to be read) in one query, not one
        query per example."""
        if not self.kinds:
            return
        self._rows = {}
        for art in Artifact.objects.filter(
            source_sha256__in=sorted({r.sha256 for r in recordings}),
            kind__in=self.kinds,
            recipe_hash=self.recipe.spec_hash,
        ):
            self._rows.setdefault(art.source_sha256, {})[art.kind] = art

    def _load(self, recording) -> None:
        if self._rows is not None and recording.sha256 in self._rows:
            rows = self._rows[recording.sha256]
        else:
            rows = {
                a.kind: a
                for a in Artifact.objects.filter(
                    source_sha256=recording.sha256, kind__in=self.kinds, recipe_hash=self.recipe.spec_hash
                )
            }
        f = self.recipe.spec["features"]
        arrays = {}
        for kind in self.kinds:
            art = rows.get(kind)
            if art is None:
                raise DomainError(
                    f"Recording {recording.id} has no {kind!r} feature file for the project's active "
                    "recipe any more; reprocess it or leave the kind out of features."
                )
            # Chunked artifacts: only the chunks an example's frames fall in are fetched and decoded.
            arr = feature_open(artifact=art)
            hop = int(art.meta.get("hop_length") or f["hop_length"])
            rate = int(art.meta.get("sample_rate") or self.recipe.spec["target_sample_rate"])
            arrays[kind] = (arr, hop, rate)
        self._sha, self._arrays = recording.sha256, arrays

    def for_example(self, recording, *, start: float, end: float | None) -> dict[str, np.ndarray]:
        if not self.kinds:
            return {}
        if recording.sha256 != self._sha:
            self._load(recording)
        out = {}
        dtype = np.dtype(self.recipe.spec.get("feature_dtype") or "float32")
        for kind, (arr, hop, rate) in self._arrays.items():
            if start == 0.0 and end is None:
                first, last = 0, arr.frames
            else:
                first, last = frame_range(start=start, end=end, hop_length=hop, sample_rate=rate, frames=arr.frames)
            out[kind] = arr.read(first, last).astype(dtype, copy=False)
        return out
