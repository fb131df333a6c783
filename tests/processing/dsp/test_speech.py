"""Speech engines on espeak-ng speech made in the test (no fixtures, nothing downloaded)."""

from __future__ import annotations

import io
import subprocess

import jiwer
import numpy as np
import pytest
import soundfile as sf

from apps.processing.dsp import speech


def say(text: str, voice: str = "en-us") -> tuple[np.ndarray, int]:
    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", "140", "--stdout", text], capture_output=True, check=True)
    y, sr = sf.read(io.BytesIO(wav.stdout), dtype="float32")
    return y, sr


def trim(y: np.ndarray, level: float = 0.01) -> np.ndarray:
    idx = np.flatnonzero(np.abs(y) > level)
    return y[idx[0] : idx[-1] + 1]


def joined(words: list[str], gap_s: float = 0.15) -> tuple[np.ndarray, int, list[tuple[float, float]]]:
    """Single-word recordings joined with measured gaps: the true word boundaries are known."""
    parts, bounds, t = [], [], 0.2
    sr = 22050
    parts.append(np.zeros(int(0.2 * sr), np.float32))
    for w in words:
        y, sr = say(w)
        y = trim(y)
        bounds.append((t, t + len(y) / sr))
        parts += [y, np.zeros(int(gap_s * sr), np.float32)]
        t += len(y) / sr + int(gap_s * sr) / sr
    return np.concatenate(parts), sr, bounds


def test_recogniser_drafts_english_with_word_times():
    y, sr = say("please call me tomorrow morning")
    rec = speech.recogniser_for("en-US")
    assert rec is not None and rec.name == "pocketsphinx" and rec.version
    out = rec.recognise(y, sr)
    assert jiwer.wer("please call me tomorrow morning", out.text) <= 0.4
    starts = [w.start for w in out.words]
    assert starts == sorted(starts)
    assert all(0 <= w.start < w.end <= len(y) / sr + 1e-6 for w in out.words)
    assert out.text == " ".join(w.word for w in out.words)


def test_aligner_places_known_words_near_their_true_boundaries():
    words = ["seven", "green", "apples", "under", "water"]
    y, sr, truth = joined(words)
    aligned = speech.aligner_for("en").align(y, sr, "Seven green apples, under water!")
    assert [w.word for w in aligned] == words
    errors = [abs(a.start - t0) for a, (t0, _) in zip(aligned, truth, strict=True)]
    errors += [abs(a.end - t1) for a, (_, t1) in zip(aligned, truth, strict=True)]
    assert float(np.median(errors)) < 0.06
    assert all(w.score <= 0 for w in aligned)


def test_aligner_refuses_unknown_words_and_empty_text_with_a_sentence():
    y, sr = say("hello world")
    aligner = speech.aligner_for("en")
    with pytest.raises(speech.AlignmentFailed, match="dictionary lacks: qwxzzy"):
        aligner.align(y, sr, "hello qwxzzy")
    with pytest.raises(speech.AlignmentFailed, match="no words"):
        aligner.align(y, sr, " ... ")


def test_registry_serves_a_site_engine_and_unknown_languages_get_none():
    class Echo:
        name, version = "echo", "1"

        def recognise(self, audio, sr):
            return speech.Recognition(text="hallo", words=[speech.Word("hallo", 0.0, len(audio) / sr)])

    assert speech.recogniser_for("de") is None
    speech.recogniser_register("de", Echo)
    try:
        assert speech.recogniser_for("de-AT").recognise(np.zeros(800, np.float32), 8000).text == "hallo"
        assert "de" in speech.speech_languages()
    finally:
        speech._recognisers.pop("de")
        speech._instances.pop(("rec", "de"), None)
    assert speech.aligner_for("fr") is None


def test_words_of_normalises_transcripts():
    assert speech.words_of("Don't STOP, now!  ") == ["don't", "stop", "now"]
    assert speech.words_of("") == []
