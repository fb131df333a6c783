"""Serving a recording's artifacts: peaks, features, spectrogram preview and tiles (docs/annotator-api.md).

Every view first loads the recording through the consent selector; artifacts are found by its bytes.
"""

import io
import json
import math
import re

import numpy as np
from django.http import Http404, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.catalog.streaming import ranged_response
from apps.consent.purposes import Purpose
from apps.consent.selectors import recording_get_usable
from apps.core.errors import DomainError
from apps.processing import selectors
from apps.processing.serializers import PeaksQuery

NPY_KINDS = re.compile(r"^(spectrogram|mel|mfcc|mfcc_delta|mfcc_delta2|chroma|mel_specaug_\d+)$")
JSON_KINDS = {"voiced_segments", "voice_activity", "qa"}
AUDIO_KINDS = re.compile(r"^(audio|audio_aug_\d+)$")
JSON_MAX_VALUES = 16 * 1024
DEFAULT_MAX_LENGTH = 20000


def _recording(request, recording_id):
    return recording_get_usable(request.user, Purpose.STORE, recording_id, stream=True)


class RecordingPeaksView(APIView):
    """Waveform peaks as BBC audiowaveform JSON, at the finest stored resolution that fits max_length."""

    @extend_schema(parameters=[PeaksQuery], responses=OpenApiTypes.OBJECT)
    def get(self, request, recording_id):
        recording = _recording(request, recording_id)
        query = PeaksQuery.parse(request.query_params)
        max_length, spp = query.get("max_length", DEFAULT_MAX_LENGTH), query.get("samples_per_pixel")
        if spp is None:  # the annotator page embeds the same answer for its first item (apps.annotation.pages)
            return Response(selectors.peaks_json(recording=recording, max_length=max_length))
        peaks = selectors.peaks_for(artifact=selectors.artifact_get(recording=recording, kind="peaks"))
        try:
            level = peaks.level(spp)
        except KeyError:
            stored = ", ".join(str(p.samples_per_pixel) for p in peaks.levels)
            raise DomainError(f"samples_per_pixel={spp} is not stored; choose one of {stored}.") from None
        return Response({**level.to_audiowaveform_json(), "duration": peaks.duration})


class RecordingFeatureView(APIView):
    """A feature: .npy download (?format=json for small slices; ?start=&end= in seconds pick frames), JSON for
    voiced_segments, voice_activity (Silero VAD's speech regions) and qa. Chunked artifacts are read only as far
    as the slice needs."""

    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=["npy", "json"]),
            OpenApiParameter("start", float, description="seconds; slices the frames"),
            OpenApiParameter("end", float, description="seconds; slices the frames"),
        ],
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            (200, "application/json"): OpenApiTypes.OBJECT,
        },
    )
    def get(self, request, recording_id, kind):
        recording = _recording(request, recording_id)
        if kind in JSON_KINDS:
            artifact = selectors.artifact_get(recording=recording, kind=kind)
            return Response(json.loads(selectors.artifact_read(artifact=artifact)))
        if AUDIO_KINDS.match(kind):
            artifact = selectors.artifact_get(recording=recording, kind=kind)
            return ranged_response(
                request, artifact.key, "audio/flac", filename=f"recording-{recording.id}-{kind}.flac"
            )
        if not NPY_KINDS.match(kind):
            raise Http404(f"There is no feature called {kind!r}.")
        artifact = selectors.artifact_get(recording=recording, kind=kind)
        if kind.startswith("mel_specaug_"):  # whole-signal recipes only: a plain .npy
            return ranged_response(
                request, artifact.key, "application/octet-stream", filename=f"recording-{recording.id}-{kind}.npy"
            )
        array = selectors.feature_open(artifact=artifact)
        first, last = self._frames(request, artifact, array.frames)
        shape = tuple(array.shape[:-1]) + (last - first,)
        dtype = np.dtype(artifact.meta.get("dtype") or "float32")
        if request.query_params.get("format") == "json":
            if math.prod(shape) > JSON_MAX_VALUES:
                raise DomainError(
                    f"The {kind} slice holds {math.prod(shape):,} values, too many for JSON (limit "
                    f"{JSON_MAX_VALUES:,}); ask for a shorter start/end range or download the .npy."
                )
            data = array.read(first, last).astype(dtype)
            return Response(
                {
                    "kind": kind,
                    "shape": list(shape),
                    "dtype": str(dtype),
                    "first_frame": first,
                    "data": data.astype(np.float64).round(6).tolist(),
                    **_meta(artifact),
                }
            )
        # Streamed in Fortran order (frames last and slowest), so each stored chunk goes out as it is decoded.
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            header, {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": True, "shape": shape}
        )

        def body():
            yield header.getvalue()
            for part in array.iter_slices(first, last):
                yield np.ascontiguousarray(part.astype(dtype).T).tobytes()

        response = StreamingHttpResponse(body(), content_type="application/octet-stream")
        response["Content-Length"] = str(len(header.getvalue()) + math.prod(shape) * dtype.itemsize)
        response["Content-Disposition"] = f'attachment; filename="recording-{recording.id}-{kind}.npy"'
        response["X-Feature-First-Frame"] = str(first)
        return response

    @staticmethod
    def _frames(request, artifact, frames: int) -> tuple[int, int]:
        def seconds(name):
            raw = request.query_params.get(name)
            if raw in (None, ""):
                return None
            try:
                value = float(raw)
            except ValueError:
                value = -1.0
            if not math.isfinite(value) or value < 0:
                raise DomainError(f"'{name}' must be a number of seconds (0 or more), not {raw!r}.")
            return value

        start, end = seconds("start") or 0.0, seconds("end")
        if end is not None and end <= start:
            raise DomainError(f"'end' ({end:g} s) must come after 'start' ({start:g} s).")
        meta = artifact.meta
        return selectors.feature_frame_range(
            start=start,
            end=end,
            hop_length=int(meta.get("hop_length") or 1),
            sample_rate=int(meta.get("sample_rate") or 1),
            frames=frames,
        )


def _meta(artifact):
    return {k: v for k, v in artifact.meta.items() if k in ("hop_length", "sample_rate", "tuning")}


class RecordingSpectrogramView(APIView):
    """The labelled preview PNG (?kind=mel, the default, or linear)."""

    @extend_schema(
        parameters=[OpenApiParameter("kind", str, enum=["mel", "linear"])],
        responses={(200, "image/png"): OpenApiTypes.BINARY},
    )
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
            tile = selectors.artifact_get(
                recording=recording, kind=f"tile_{level}_{index}", recipe_hash=tiles.recipe_hash
            )
        except Http404:
            raise Http404(
                f"There is no spectrogram tile {index} at level {level} for recording {recording.id}."
            ) from None
        return ranged_response(request, tile.key, "image/png")
