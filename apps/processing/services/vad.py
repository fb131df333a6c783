"""Voice activity of recordings that name no speaker: Silero VAD's speech regions as an artifact, and the
verdict handed to consent (which holds the recording when it finds speech with no speaker named)."""

import hashlib
import json
import logging
from pathlib import Path

from apps.consent.services.speech import recording_speech_check
from apps.processing.dsp.io import iter_blocks
from apps.processing.dsp.vad import (
    SR,
    VadUnavailable,
    VoiceActivity,
    speech_probabilities_stream,
    voice_activity_of,
)
from apps.processing.services.artifacts import ArtifactWriter

log = logging.getLogger(__name__)
# Artifacts are keyed by (source bytes, recipe, kind): the detector and its version stand in for the recipe.
VAD_RECIPE = hashlib.sha256(b"silero-vad 6.2.3 silero_vad.onnx threshold-free probabilities").hexdigest()
BLOCK_FRAMES = 512 * 1024  # ~33 s of 16 kHz audio per block: memory stays flat whatever the length


def recording_voice_activity(*, recording, original: Path | None) -> str:
    """Silero VAD's speech probabilities and regions as the ``voice_activity`` artifact (JSON) of every processed
    recording: the annotator offers its regions as suggestions in place of the energy detector's where it hears
    speech. For a recording with no speaker, then consent's verdict (held or clear). Returns the verdict ('' for
    a recording that names a speaker, or when not run)."""
    if original is None:
        return ""
    if recording.speaker_id is not None:
        try:
            _voice_activity_store(recording, original)
        except VadUnavailable:  # suggestions fall back to the energy detector; nothing else needs it
            log.warning("recording %s: Silero VAD is not installed; no voice_activity artifact", recording.id)
        return ""
    activity = _voice_activity_store(recording, original)
    return recording_speech_check(
        recording_id=recording.id, speech_seconds=activity.speech_seconds, max_probability=activity.max_probability
    )


def _voice_activity_store(recording, original: Path) -> VoiceActivity:
    probs = speech_probabilities_stream(iter_blocks(str(original), block_frames=BLOCK_FRAMES, sr=SR))
    activity = voice_activity_of(probs)
    body = {
        "detector": "silero-vad 6.2.3 (onnx)",
        "frame_seconds": activity.frame_seconds,
        "speech_seconds": activity.speech_seconds,
        "max_probability": activity.max_probability,
        "regions": [{"start": r.start, "end": r.end, "probability": r.probability} for r in activity.regions],
    }
    ArtifactWriter(recording=recording, recipe_hash=VAD_RECIPE).put_bytes(
        "voice_activity", json.dumps(body).encode(), "json", meta={"speech_seconds": activity.speech_seconds}
    )
    return activity
