"""Serving a recording's artifacts: peaks, features, spectrogram preview and tiles (docs/annotator-api.md).

Every view first loads the recording through the consent selector; artifacts are found by its bytes.
"""

import io
import json
import re

import numpy as np
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.catalog.streaming import ranged_response
from apps.consent.purposes import Purpose
from apps.consent.selectors import recording_get_usable
from apps.core.errors import DomainError
from apps.processing import selectors

NPY_KINDS = re.compile(r"^(spectrogram|mel|mfcc|mfcc_delta|mfcc_delta2|chroma|mel_specaug_\d+)$")
JSON_KINDS = {"voiced_segments", "qa"}
AUDIO_KINDS = re.compile(r"^(audio|audio_aug_\d+)$")
JSON_NPY_MAX_BYTES = 64 * 1024
DEFAULT_MAX_LENGTH = 20000


def _recording(request, recording_id):
    return recording_get_usable(request.user, Purpose.STORE, recording_id)


def _positive_int(request, name, default=None, *, high=10**8):
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= high:
        raise DomainError(f"'{name}' must be a whole number between 1 and {high}, not {raw!r}.")
    return value


class RecordingPeaksView(APIView):
    """Waveform peaks as BBC audiowaveform JSON, at the finest stored resolution that fits max_length."""

    @extend_schema(parameters=[OpenApiParameter("max_length", int), OpenApiParameter("samples_per_pixel", int)],
                   responses=OpenApiTypes.OBJECT)
    def get(self, request, recording_id):
        recording = _recording(request, recording_id)
        max_length = _positive_int(request, "max_length", DEFAULT_MAX_LENGTH)
        spp = _positive_int(request, "samples_per_pixel")
        peaks = selectors.peaks_for(artifact=selectors.artifact_get(recording=recording, kind="peaks"))
        if spp is not None:
            try:
                level = peaks.level(spp)
            except KeyError:
                stored = ", ".join(str(p.samples_per_pixel) for p in peaks.levels)
                raise DomainError(f"samples_per_pixel={spp} is not stored; choose one of {stored}.") from None
        else:
            level = peaks.best(max_length)
        return Response({**level.to_audiowaveform_json(), "duration": peaks.duration})


class RecordingFeatureView(APIView):
    """A feature: .npy download (?format=json for small arrays), JSON for voiced_segments and qa."""

    @extend_schema(parameters=[OpenApiParameter("format", str, enum=["npy", "json"])],
                   responses={(200, "application/octet-stream"): OpenApiTypes.BINARY,
                              (200, "application/json"): OpenApiTypes.OBJECT})
    def get(self, request, recording_id, kind):
        recording = _recording(request, recording_id)
        if kind in JSON_KINDS:
            artifact = selectors.artifact_get(recording=recording, kind=kind)
            return Response(json.loads(selectors.artifact_read(artifact=artifact)))
        if AUDIO_KINDS.match(kind):
            artifact = selectors.artifact_get(recording=recording, kind=kind)
            return ranged_response(request, artifact.key, "audio/flac", filename=f"recording-{recording.id}-{kind}.flac")
        if not NPY_KINDS.match(kind):
            raise Http404(f"There is no feature called {kind!r}.")
        artifact = selectors.artifact_get(recording=recording, kind=kind)
        if request.query_params.get("format") == "json":
            if artifact.bytes > JSON_NPY_MAX_BYTES:
                raise DomainError(f"The {kind} array is {artifact.bytes} bytes, too large for JSON "
                                  f"(limit {JSON_NPY_MAX_BYTES}); download the .npy instead.")
            array = np.load(io.BytesIO(selectors.artifact_read(artifact=artifact)))
            return Response({"kind": kind, "shape": list(array.shape), "dtype": str(array.dtype),
                             "data": array.astype(np.float64).round(6).tolist(), **_meta(artifact)})
        return ranged_response(request, artifact.key, "application/octet-stream",
                               filename=f"recording-{recording.id}-{kind}.npy")


def _meta(artifact):
    return {k: v for k, v in artifact.meta.items() if k in ("hop_length", "sample_rate", "tuning")}


class RecordingSpectrogramView(APIView):
    """The labelled preview PNG (?kind=mel, the default, or linear)."""

    @extend_schema(parameters=[OpenApiParameter("kind", str, enum=["mel", "linear"])],
                   responses={(200, "image/png"): OpenApiTypes.BINARY})
    def get(self, request, recording_id):
        recording = _recording(request, recording_id)
        which = request.query_params.get("kind", "mel")
        if which not in ("mel", "linear"):
            raise DomainError(f"'kind' must be mel or linear, not {which!r}.")
        kind = "preview_mel" if which == "mel" else "preview_spectrogram"
        artifact = selectors.artifact_get(recording=recording, kind=kind)
        return ranged_response(request, artifact.key, "image/png")


class RecordingTileIndexView(APIView):
    """Which spectrogram tiles exist, per zoom level."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, recording_id):
        recording = _recording(request, recording_id)
        artifact = selectors.artifact_get(recording=recording, kind="tiles_index")
        return Response(json.loads(selectors.artifact_read(artifact=artifact)))


class RecordingTileView(APIView):
    """One spectrogram tile PNG, from the same recipe as the index."""

    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY})
    def get(self, request, recording_id, level, index):
        recording = _recording(request, recording_id)
        tiles = selectors.artifact_get(recording=recording, kind="tiles_index")
        try:
            tile = selectors.artifact_get(recording=recording, kind=f"tile_{level}_{index}",
                                          recipe_hash=tiles.recipe_hash)
        except Http404:
            raise Http404(f"There is no spectrogram tile {index} at level {level} for recording {recording.id}.") from None
        return ranged_response(request, tile.key, "image/png")
