"""Speech engines: draft recognition and forced alignment behind a small interface.

Two roles, each a plain object a site can replace:

- a **recogniser** turns audio into a draft: ``recognise(audio, sr) -> Recognition``
  (text plus word times);
- an **aligner** places a known transcript on the audio:
  ``align(audio, sr, text) -> [Word(word, start, end, score)]``, or raises
  ``AlignmentFailed`` when the text cannot be placed (a word the engine does not know,
  audio that does not match).

Engines are found per language code in a registry.  English ("en", "en-us", …) uses
PocketSphinx: its en-us acoustic model, dictionary and language model ship inside the
PyPI wheel, so nothing is downloaded.  Another engine (a Vosk or whisper.cpp model a
site installs itself) is registered once at start-up, e.g. in an ``AppConfig.ready``, with
``recogniser_register(language, factory)`` (a factory: called once per process) or
``aligner_register``; docs/review.md shows a whole example. This module never imports the app
that registers: dependencies point one way.

``audio`` is a float mono numpy array with full scale at 1.0, at any sample rate; engines
resample as they need.  Times are seconds from the start of ``audio``.  ``Word.score`` is
the engine's per-frame log-likelihood (higher is better, 0 is perfect); engines without
scores give 0.0.  Pure module: no Django.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

ENGINE_SR = 16000
_PAD_S = 0.5


class AlignmentFailed(ValueError):
    """The aligner could not place the text on the audio (the sentence says why)."""


@dataclass(frozen=True)
class Word:
    word: str
    start: float
    end: float
    score: float = 0.0


@dataclass(frozen=True)
class Recognition:
    text: str
    words: list[Word] = field(default_factory=list)


class Recogniser(Protocol):
    name: str
    version: str

    def recognise(self, audio: np.ndarray, sr: int) -> Recognition: ...


class Aligner(Protocol):
    name: str
    version: str

    def align(self, audio: np.ndarray, sr: int, text: str) -> list[Word]: ...


_recognisers: dict[str, Callable[[], Recogniser]] = {}
_aligners: dict[str, Callable[[], Aligner]] = {}
_instances: dict[tuple[str, str], object] = {}
_lock = threading.RLock()


def _lang_key(language: str) -> str:
    return (language or "").strip().lower().replace("_", "-")


def recogniser_register(language: str, factory: Callable[[], Recogniser]) -> None:
    """Register a recogniser factory for a language code ("en" also serves "en-gb")."""
    _recognisers[_lang_key(language)] = factory
    _instances.pop(("rec", _lang_key(language)), None)


def aligner_register(language: str, factory: Callable[[], Aligner]) -> None:
    """Register an aligner factory for a language code."""
    _aligners[_lang_key(language)] = factory
    _instances.pop(("ali", _lang_key(language)), None)


def _lookup(kind: str, table: dict, language: str):
    key = _lang_key(language)
    for candidate in (key, key.split("-")[0]):
        if candidate in table:
            with _lock:
                inst = _instances.get((kind, candidate))
                if inst is None:
                    inst = _instances[(kind, candidate)] = table[candidate]()
            return inst
    return None


def recogniser_for(language: str) -> Recogniser | None:
    """The recogniser for a language code, or None when no engine serves it."""
    return _lookup("rec", _recognisers, language)


def aligner_for(language: str) -> Aligner | None:
    """The aligner for a language code, or None when no engine serves it."""
    return _lookup("ali", _aligners, language)


def speech_languages() -> list[str]:
    """Language codes with a registered recogniser."""
    return sorted(_recognisers)


def to_pcm16(audio: np.ndarray, sr: int, target_sr: int = ENGINE_SR) -> bytes:
    """Mono float audio → little-endian int16 bytes at ``target_sr``."""
    y = np.asarray(audio, dtype=np.float32)
    if y.ndim > 1:
        y = y.mean(axis=0)
    if sr != target_sr and y.size:
        import soxr  # light, but only engines that resample need it

        y = soxr.resample(y, sr, target_sr).astype(np.float32)
    return (np.clip(y, -1.0, 1.0) * 32767).astype("<i2").tobytes()


_WORD_RE = re.compile(r"[^\w']+", re.UNICODE)


def words_of(text: str) -> list[str]:
    """Lower-case word tokens of a transcript (apostrophes kept: "don't")."""
    return [w for w in _WORD_RE.sub(" ", (text or "").lower()).split() if w.strip("'")]


class PocketSphinx:
    """English recogniser and aligner on PocketSphinx's bundled en-us model."""

    name = "pocketsphinx"

    def __init__(self) -> None:
        import pocketsphinx  # heavy C extension: loaded only when an English engine is used

        self.version = f"{getattr(pocketsphinx, '__version__', '5.1.1')}+en-us"
        self._decoder = pocketsphinx.Decoder(samprate=ENGINE_SR, loglevel="FATAL")
        self._frate = int(self._decoder.config["frate"] or 100)
        self._lm = self._decoder.current_search()
        self._mutex = threading.Lock()

    def _segments(self, include_fillers: bool = False) -> list[Word]:
        out = []
        for seg in self._decoder.seg():
            word = seg.word
            if word.startswith("<") or word.startswith("[") or word.startswith("++"):
                continue
            word = re.sub(r"\(\d+\)$", "", word)  # alternate pronunciations: "the(2)"
            frames = seg.end_frame - seg.start_frame + 1
            score = math.log(max(seg.ascore, 1e-300)) / max(frames, 1)
            out.append(Word(word, seg.start_frame / self._frate, (seg.end_frame + 1) / self._frate, score))
        return out

    def _pcm(self, audio: np.ndarray, sr: int) -> bytes:
        # Half a second of faint noise on each side: the decoder's cepstral mean and voice
        # detection settle on it, which short clips otherwise never give them.
        y = np.asarray(audio, dtype=np.float32)
        if y.ndim > 1:
            y = y.mean(axis=0)
        pad = int(_PAD_S * sr)
        noise = np.random.default_rng(0).normal(0.0, 0.002, y.size + 2 * pad).astype(np.float32)
        padded = np.concatenate([np.zeros(pad, np.float32), y, np.zeros(pad, np.float32)]) + noise
        return to_pcm16(padded, sr)

    def _shift(self, words: list[Word], duration: float) -> list[Word]:
        return [
            Word(w.word, _clamp(w.start - _PAD_S, duration), _clamp(w.end - _PAD_S, duration), w.score) for w in words
        ]

    def _run(self, pcm: bytes) -> None:
        self._decoder.start_utt()
        self._decoder.process_raw(pcm, full_utt=True)
        self._decoder.end_utt()

    def recognise(self, audio: np.ndarray, sr: int) -> Recognition:
        pcm = self._pcm(audio, sr)
        with self._mutex:
            self._decoder.activate_search(self._lm)
            self._run(pcm)
            hyp = self._decoder.hyp()
            words = self._shift(self._segments(), len(audio) / sr) if hyp is not None else []
        return Recognition(text=" ".join(w.word for w in words), words=words)

    def align(self, audio: np.ndarray, sr: int, text: str) -> list[Word]:
        tokens = words_of(text)
        if not tokens:
            raise AlignmentFailed("The transcript has no words to align.")
        unknown = [t for t in tokens if self._decoder.lookup_word(t) is None]
        if unknown:
            raise AlignmentFailed(f"The aligner's dictionary lacks: {', '.join(sorted(set(unknown))[:5])}.")
        pcm = self._pcm(audio, sr)
        with self._mutex:
            try:
                self._decoder.set_align_text(" ".join(tokens))
                self._run(pcm)
                words = self._shift(self._segments(), len(audio) / sr) if self._decoder.hyp() is not None else []
            finally:
                self._decoder.activate_search(self._lm)
        if len(words) != len(tokens):
            raise AlignmentFailed("The transcript could not be placed on the audio.")
        return words


def voiced_coverage(words: list[Word], audio: np.ndarray, sr: int) -> float | None:
    """Share of the voiced audio (energy within 35 dB of the peak) that aligned words cover; None if none is voiced.

    A transcript that lacks words leaves their speech to the aligner's silence model (or stretched neighbours): its
    coverage falls far below the ~0.9-1.0 of a complete one, which is how dropped words show.
    """
    from . import preprocess  # same package; librosa loads only when this is used

    voiced = preprocess.voiced_segments(
        np.asarray(audio, dtype=np.float32), sr, top_db=35.0, min_silence_s=0.05, min_segment_s=0.02
    )
    total = sum(e - s for s, e in voiced)
    if total <= 0:
        return None
    covered = sum(max(0.0, min(e, w.end) - max(s, w.start)) for s, e in voiced for w in words)
    return round(min(covered / total, 1.0), 3)


def _clamp(t: float, duration: float) -> float:
    return round(min(max(t, 0.0), duration), 3)


def _pocketsphinx() -> PocketSphinx:
    return _lookup_shared()


_shared: dict[str, PocketSphinx] = {}


def _lookup_shared() -> PocketSphinx:
    # one decoder serves both roles: the model loads once per process
    with _lock:
        if "ps" not in _shared:
            _shared["ps"] = PocketSphinx()
        return _shared["ps"]


recogniser_register("en", _pocketsphinx)
aligner_register("en", _pocketsphinx)
