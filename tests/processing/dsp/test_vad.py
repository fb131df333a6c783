"""Silero VAD on onnxruntime: speech found in espeak-ng speech, not in tones, noise or silence (no Django)."""

import subprocess

import numpy as np
import pytest
import soundfile as sf

from apps.processing.dsp.vad import FRAME_SECONDS, model_path, speech_probabilities, speech_regions, voice_activity

SR = 16000


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    path = tmp_path_factory.mktemp("vad") / "speech.wav"
    subprocess.run(
        ["espeak-ng", "-v", "en", "-w", str(path), "Please call Stella and ask her to bring these things."], check=True
    )
    y, sr = sf.read(path, dtype="float32")
    return y, sr


def test_model_file_comes_from_the_wheel_without_importing_the_package():
    import sys

    assert model_path().name == "silero_vad.onnx" and model_path().stat().st_size > 1_000_000
    assert "silero_vad" not in sys.modules  # found with find_spec, never imported (it would import torch)


def test_speech_is_found_with_regions_and_probabilities(speech):
    y, sr = speech  # espeak-ng writes 22050 Hz: resampled inside
    va = voice_activity(np.concatenate([np.zeros(sr, dtype=np.float32), y, np.zeros(sr, dtype=np.float32)]), sr)
    assert va.max_probability > 0.9 and va.regions
    first, last = va.regions[0], va.regions[-1]
    assert 0.8 < first.start < 1.3  # a second of silence comes first
    assert abs(last.end - (1.0 + len(y) / sr)) < 0.5
    assert all(0.5 <= r.probability <= 1.0 for r in va.regions)


@pytest.mark.parametrize("kind", ["silence", "white", "chord"])
def test_no_speech_in_silence_noise_or_tones(kind):
    rng = np.random.default_rng(3)
    t = np.arange(3 * SR) / SR
    y = {
        "silence": np.zeros(3 * SR),
        "white": 0.1 * rng.standard_normal(3 * SR),
        "chord": sum(0.2 * np.sin(2 * np.pi * f * t) for f in (220, 277, 330)),
    }[kind].astype(np.float32)
    va = voice_activity(y, SR)
    assert va.regions == [] and va.speech_seconds == 0.0 and va.max_probability < 0.5


def test_regions_bridge_short_gaps_and_drop_blips():
    probs = np.array([0.9] * 10 + [0.1] * 2 + [0.9] * 10 + [0.1] * 30 + [0.9] * 3 + [0.1] * 10, dtype=np.float32)
    regions = speech_regions(probs, min_silence_s=0.1, min_speech_s=0.25)
    assert len(regions) == 1  # the 2-frame gap (64 ms) is bridged; the 3-frame blip (96 ms) is dropped
    assert regions[0].start == 0.0 and abs(regions[0].end - (22 * FRAME_SECONDS + 0.03)) < 1e-3


def test_empty_and_stereo_input(speech):
    assert speech_probabilities(np.zeros(0, dtype=np.float32), SR).shape == (0,)
    y, sr = speech
    stereo = np.stack([y, y])
    assert voice_activity(stereo, sr).regions
