"""Voice activity of recordings that name no speaker: Silero VAD's speech regions as an artifact, and the
verdict handed to consent (which holds the recording when it finds speech with no speaker named)."""

import hashlib
import json
import logging
from pathlib import Path

from django.core.files.storage import default_storage

from apps.consent.services.speech import recording_speech_check
from apps.processing.dsp.io import iter_blocks
from apps.processing.dsp.vad import (
    SR,
    VadUnavailable,
    VoiceActivity,
    speech_probabilities_stream,
    voice_activity_of,
)
from apps.processing.services.artifacts import ArtifactWriter, artifact_key
from apps.processing.services.pipeline import local_original, original_fetch

log = logging.getLogger(__name__)
# Artifacts are keyed by (source bytes, recipe, kind): the detector and its version stand in for the recipe.
VAD_RECIPE = hashlib.sha256(b"silero-vad 6.2.3 silero_vad.onnx threshold-free probabilities").hexdigest()
KIND = "voice_activity"
BLOCK_FRAMES = 512 * 1024  # ~33 s of 16 kHz audio per block: memory stays flat whatever the length


def recording_voice_activity(*, recording, workdir: Path) -> tuple[float, float] | None:
    """Silero VAD's speech probabilities and regions as the ``voice_activity`` artifact (JSON) of every processed
    recording: the annotator offers its regions as suggestions in place of the energy detector's where it hears
    speech. Uses the original a pipeline run left in ``workdir``, or fetches it there. For a recording with no
    speaker returns (speech seconds, highest probability), also when the artifact came from earlier
    bytes-identical work, for ``recording_speech_verdict``; None for one that names a speaker."""
    speakerless = recording.speaker_id is None
    writer = ArtifactWriter(recording=recording, recipe_hash=VAD_RECIPE)
    if writer.has(KIND):
        if not speakerless:
            return None
        key = artifact_key(source_sha256=recording.sha256, recipe_hash=VAD_RECIPE, kind=KIND, ext="json")
        with default_storage.open(key, "rb") as fh:
            body = json.load(fh)
        return body["speech_seconds"], body["max_probability"]
    try:
        activity = _voice_activity_store(writer, local_original(workdir) or original_fetch(recording, workdir))
    except VadUnavailable:
        if speakerless:  # consent cannot judge its speech: the job fails rather than pass it unchecked
            raise
        log.warning("recording %s: Silero VAD is not installed; no voice_activity artifact", recording.id)
        return None
    return (activity.speech_seconds, activity.max_probability) if speakerless else None


def recording_speech_verdict(*, recording_id: int, activity: tuple[float, float] | None) -> str:
    """Hand a speakerless recording's voice activity to consent, which holds it when it hears speech. Returns the
    verdict ('' when there was nothing to judge: the recording names a speaker)."""
    if activity is None:
        return ""
    speech_seconds, max_probability = activity
    return recording_speech_check(
        recording_id=recording_id, speech_seconds=speech_seconds, max_probability=max_probability
    )


def _voice_activity_store(writer: ArtifactWriter, original: Path) -> VoiceActivity:
    probs = speech_probabilities_stream(iter_blocks(str(original), block_frames=BLOCK_FRAMES, sr=SR))
    activity = voice_activity_of(probs)
    body = {
        "detector": "silero-vad 6.2.3 (onnx)",
        "frame_seconds": activity.frame_seconds,
        "speech_seconds": activity.speech_seconds,
        "max_probability": activity.max_probability,
        "regions": [{"start": r.start, "end": r.end, "probability": r.probability} for r in activity.regions],
    }
    writer.put_bytes(KIND, json.dumps(body).encode(), "json", meta={"speech_seconds": activity.speech_seconds})
    return activity
