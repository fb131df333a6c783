"""What a model learns from: labelled examples of consented recordings, and their log-mel patches and audio.

Every recording is read through the consent selector: ``recordings_usable(None, "train_models")`` at the
moment of the call, so a recording whose speaker has not consented to model training (or withdrew) is
never loaded, whatever labels it carries.
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass
from typing import cast

import numpy as np
import soundfile as sf
from django.http import Http404

from apps.annotation.models import Annotation, AnnotationStatus, LabelKind, Region
from apps.catalog.models import Project
from apps.consent.purposes import Purpose
from apps.consent.selectors import recordings_usable
from apps.learning.backends import Example, audio_span, mel_db
from apps.processing.selectors import artifact_get, artifact_read, feature_open
from apps.processing.services.plan import PROCESSED_AUDIO_KIND, feature_params
from apps.processing.services.recipes import project_recipe_get


@dataclass(frozen=True)
class LabelledSpan:
    """One labelled example: a region (or the whole clip) of a recording."""

    recording_id: int
    speaker_id: int | None
    language: str | None
    region_id: int | None
    label_id: int
    start: float | None
    end: float | None

    @property
    def key(self) -> str:
        return f"r{self.region_id}" if self.region_id is not None else f"c{self.recording_id}"


def usable_for_training(project_id: int, recording_ids=None):
    """Recordings of the project usable for ``train_models`` now (optionally only these ids)."""
    qs = recordings_usable(None, Purpose.TRAIN_MODELS).filter(project_id=project_id)
    return qs if recording_ids is None else qs.filter(pk__in=list(recording_ids))


def labelled_spans(*, project_id: int, task: str, recording_ids=None) -> list[LabelledSpan]:
    """Accepted labels of recordings usable for training: regions with a region label, or single clip labels."""
    rows: dict[int, tuple[int | None, str | None]] = {  # recording id: (speaker id, language tag)
        r[0]: r[1:]
        for r in usable_for_training(project_id, recording_ids).values_list("id", "speaker_id", "language__tag")
    }
    if not rows:
        return []
    accepted = Annotation.objects.filter(
        project_id=project_id, status=AnnotationStatus.ACCEPTED, recording_id__in=list(rows)
    )
    spans = []
    if task == "region":
        regions = (
            Region.objects.filter(annotation__in=accepted, label__isnull=False, label__kind=LabelKind.REGION)
            .order_by("id")
            .values_list("id", "annotation__recording_id", "label_id", "start", "end")
        )
        for region_id, rec_id, label_id, start, end in regions:
            spans.append(LabelledSpan(rec_id, *rows[rec_id], region_id, label_id, start, end))
    else:
        through = Annotation.clip_labels.through
        per = defaultdict(set)
        for ann_id, rec_id, label_id in through.objects.filter(annotation__in=accepted).values_list(
            "annotation_id", "annotation__recording_id", "label_id"
        ):
            per[(ann_id, rec_id)].add(label_id)
        seen = set()
        for (_, rec_id), labels in sorted(per.items()):
            if len(labels) == 1 and rec_id not in seen:  # one clear label per clip; first annotation wins
                seen.add(rec_id)
                spans.append(LabelledSpan(rec_id, *rows[rec_id], None, next(iter(labels)), None, None))
    return spans


class RecordingInputs:
    """Loads each recording's stored mel (and processed audio, when asked) once, and cuts spans from it."""

    def __init__(self, *, project_id: int, with_audio: bool = False):
        self.project_id = project_id
        self.with_audio = with_audio
        self.params = feature_params(project_recipe_get(project=Project.objects.get(pk=project_id)).spec)
        self._cache: dict[int, tuple] = {}

    def _load(self, recording) -> tuple:
        if recording.id not in self._cache:
            try:
                art = artifact_get(recording=recording, kind="mel")
            except Http404:
                raise LookupError(
                    f"recording {recording.id} has no stored mel features yet "
                    "(its processing has not finished or its recipe makes none)"
                ) from None
            mel = mel_db(feature_open(artifact=art).read())  # chunked half-precision files, read as float32
            if mel.ndim == 3:  # kept channels: average them
                mel = mel.mean(axis=0)
            sr, hop = int(art.meta.get("sample_rate", 16000)), int(art.meta.get("hop_length", 160))
            audio = None
            if self.with_audio:
                raw = artifact_read(artifact=artifact_get(recording=recording, kind=PROCESSED_AUDIO_KIND))
                audio, _ = sf.read(io.BytesIO(raw), dtype="float32", always_2d=True)
                audio = audio.mean(axis=1)
            self._cache = {recording.id: (mel, sr, hop, audio)}  # one recording at a time keeps memory flat
        return self._cache[recording.id]

    def example(self, recording, start: float | None, end: float | None) -> Example:
        mel, sr, hop, audio = self._load(recording)
        a = 0 if start is None else int(round(start * sr / hop))
        b = mel.shape[-1] if end is None else max(a + 1, int(round(end * sr / hop)))
        b = min(b, mel.shape[-1])
        clip = None
        if audio is not None and b > a:
            clip = self._audio_span(audio, a, b - a)
        return Example(mel=mel[:, a:b], audio=clip)

    def _audio_span(self, audio, first: int, frames: int):
        """The samples under frames [first, first + frames) with half an FFT either side, zeros past the ends.

        The stored features come from a centred STFT over the whole recording (zero padded only at its
        ends), so this span gives the very same frames again, uncentred (``backends.audio_mel_db``).
        """
        half = self.params.n_fft // 2
        lo = first * self.params.hop_length - half
        n = audio_span(frames, self.params)
        out = np.zeros(n, dtype=np.float32)
        src = audio[max(0, lo) : max(0, lo + n)]
        out[max(0, -lo) : max(0, -lo) + len(src)] = src
        return out

    def rate(self, recording) -> tuple[int, int, float]:
        """(sample rate, hop, seconds) of the recording's stored features."""
        mel, sr, hop, _ = self._load(recording)
        return sr, hop, mel.shape[-1] * hop / sr


def examples_load(
    *, project_id: int, spans: list[LabelledSpan], with_audio: bool, progress=None
) -> tuple[list[Example], RecordingInputs]:
    """The examples of ``spans`` (in order), read recording by recording; recordings re-checked for consent."""
    inputs = RecordingInputs(project_id=project_id, with_audio=with_audio)
    recordings = {r.id: r for r in usable_for_training(project_id, {s.recording_id for s in spans})}
    missing = {s.recording_id for s in spans} - set(recordings)
    if missing:
        raise LookupError(f"{len(missing)} recording(s) stopped being usable for model training while loading")
    order = sorted(range(len(spans)), key=lambda i: (spans[i].recording_id, i))
    out: list[Example | None] = [None] * len(spans)
    for n, i in enumerate(order):
        s = spans[i]
        out[i] = inputs.example(recordings[s.recording_id], s.start, s.end)
        if progress and n % 200 == 0:
            progress("load", 100.0 * n / max(1, len(spans)))
    return cast(list[Example], out), inputs  # order covers every index, so no slot is left None
