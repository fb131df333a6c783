"""Transcript QA: checks that a transcript matches its audio, on plain numbers and strings (no Django).

``transcript_flags(item, context, thresholds)`` names each tripped check, in ``TRANSCRIPT_FLAGS`` order:

- ``transcript_empty``: nothing was transcribed;
- ``transcript_duplicate``: the same (normalised) text is the transcript of different audio;
- ``transcript_script``: too many letters outside the writing system(s) of the recording's language;
- ``transcript_rate``: characters per second outside the speaker's normal range, or the project's while the
  speaker has fewer than 8 transcripts (median ± ``rate_mads`` scaled median absolute deviations of the rates);
- ``transcript_draft_wer``: WER between the transcript and the recogniser's draft of the same audio above
  ``max_draft_wer`` and above the project's normal range (a weak recogniser's drafts are far off everywhere);
- ``transcript_alignment_failed``: the forced aligner could not place the words on the audio;
- ``transcript_alignment_low``: it placed them, but they fit the audio far worse than the project's other
  transcripts do. The fit is ``align_score - draft_score`` when a draft exists (both mean per-frame
  log-likelihoods from one engine on the same audio, so the gap measures the text, not the recording's quality),
  else ``align_score``; or the words leave much of the voiced audio uncovered (``coverage``, what dropped words
  do); "far worse" is below median - ``score_mads`` scaled MADs of the project's values.

Ranges are robust (median and median absolute deviation) so the corrupted transcripts they are meant to find
barely move them; with fewer than 8 values there is no range and those checks stay quiet.

Text normalisation for WER/CER is a list of jiwer transform names (``TEXT_TRANSFORMS``), set per project.
"""

from __future__ import annotations

import functools
import re
import statistics
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import jiwer

TRANSCRIPT_FLAGS = (
    "transcript_empty",
    "transcript_duplicate",
    "transcript_script",
    "transcript_rate",
    "transcript_draft_wer",
    "transcript_alignment_failed",
    "transcript_alignment_low",
)


class _RemovePunctuation(jiwer.RemovePunctuation):
    """jiwer's RemovePunctuation (every Unicode "P*" character) as one ``str.translate`` (same result, far faster:
    jiwer's version calls ``str.replace`` once per punctuation character)."""

    def __init__(self):
        super().__init__()
        self._table = dict.fromkeys(map(ord, self.tokens_to_remove))

    def process_string(self, s: str) -> str:
        return s.translate(self._table)


# name → jiwer transform (a project lists names; the release card shows them).
TEXT_TRANSFORMS = {
    "lowercase": jiwer.ToLowerCase,
    "remove_punctuation": _RemovePunctuation,
    "expand_common_english_contractions": jiwer.ExpandCommonEnglishContractions,
    "remove_kaldi_non_words": jiwer.RemoveKaldiNonWords,
    "remove_multiple_spaces": jiwer.RemoveMultipleSpaces,
    "strip": jiwer.Strip,
}
DEFAULT_TRANSFORMS = ("lowercase", "remove_punctuation", "remove_multiple_spaces", "strip")


def transforms_check(names: Sequence[str]) -> tuple[str, ...]:
    """The names as a tuple, or ValueError naming the first unknown one."""
    for name in names:
        if name not in TEXT_TRANSFORMS:
            raise ValueError(f"Unknown text transform {name!r}; choose from {', '.join(TEXT_TRANSFORMS)}.")
    return tuple(names)


@functools.cache
def text_transforms(names: tuple[str, ...] = DEFAULT_TRANSFORMS) -> tuple[jiwer.Compose, jiwer.Compose]:
    """(words, characters) jiwer transforms for these names (built once per list: punctuation tables are slow)."""
    steps = [TEXT_TRANSFORMS[n]() for n in transforms_check(names)]
    return (
        jiwer.Compose([*steps, jiwer.ReduceToListOfListOfWords()]),
        jiwer.Compose([*steps, jiwer.ReduceToListOfListOfChars()]),
    )


def normalise(text: str, names: tuple[str, ...] = DEFAULT_TRANSFORMS) -> str:
    """The text as WER sees it: the transforms applied, words joined by single spaces."""
    words, _ = text_transforms(names)
    out = words(text or "")
    return " ".join(out[0]) if out else ""


def word_error_rate(reference: str, hypothesis: str, names: tuple[str, ...] = DEFAULT_TRANSFORMS) -> float:
    """WER of ``hypothesis`` against ``reference`` after the transforms; 1.0 for an empty reference with words."""
    ref, hyp = normalise(reference, names), normalise(hypothesis, names)
    if not ref:
        return 0.0 if not hyp else 1.0
    words, _ = text_transforms(names)
    return float(jiwer.wer(ref, hyp or "", reference_transform=words, hypothesis_transform=words))


# Language (ISO 639-1 primary subtag) → the Unicode scripts its transcripts are written in.
LANGUAGE_SCRIPTS: dict[str, frozenset[str]] = {
    **dict.fromkeys(
        "en de fr es it pt nl sv da no nb nn fi et pl cs sk sl hr bs sq ro hu tr az lt lv is ga cy eu ca gl mt id "
        "ms tl vi sw yo ha ig zu xh af so eo la".split(),
        frozenset({"LATIN"}),
    ),
    **dict.fromkeys("ru uk be bg mk kk ky tg mn".split(), frozenset({"CYRILLIC"})),
    "sr": frozenset({"CYRILLIC", "LATIN"}),
    "el": frozenset({"GREEK"}),
    **dict.fromkeys("ar fa ur ps".split(), frozenset({"ARABIC"})),
    **dict.fromkeys("he yi".split(), frozenset({"HEBREW"})),
    **dict.fromkeys("hi mr ne".split(), frozenset({"DEVANAGARI"})),
    "bn": frozenset({"BENGALI"}),
    "ta": frozenset({"TAMIL"}),
    "te": frozenset({"TELUGU"}),
    "th": frozenset({"THAI"}),
    "ka": frozenset({"GEORGIAN"}),
    "hy": frozenset({"ARMENIAN"}),
    "am": frozenset({"ETHIOPIC"}),
    "ko": frozenset({"HANGUL", "CJK"}),
    "zh": frozenset({"CJK"}),
    "ja": frozenset({"CJK", "HIRAGANA", "KATAKANA"}),
}


def char_script(ch: str) -> str:
    """The first word of a letter's Unicode name ("LATIN", "CYRILLIC", "CJK", ...)."""
    try:
        return unicodedata.name(ch).split(" ")[0]
    except ValueError:
        return ""


def foreign_script_share(text: str, language: str | None) -> float | None:
    """Share of the letters written outside the language's scripts; None when the language's scripts are unknown."""
    scripts = LANGUAGE_SCRIPTS.get((language or "").lower().replace("_", "-").split("-")[0])
    if scripts is None:
        return None
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 0.0
    return sum(char_script(ch) not in scripts for ch in letters) / len(letters)


_SPACE = re.compile(r"\s+")


def chars_per_second(text: str, duration: float) -> float | None:
    """Letters and digits per second of audio (spaces and punctuation do not count); None for no duration."""
    if duration <= 0:
        return None
    return sum(ch.isalnum() for ch in text) / duration


def normal_range(values: Sequence[float], mads: float, min_count: int = 8) -> tuple[float, float] | None:
    """median ± ``mads`` scaled MADs (floored at 10 % of the median); None with fewer than ``min_count`` values."""
    if len(values) < min_count:
        return None
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values) * 1.4826
    spread = mads * max(mad, 0.1 * abs(median))
    return median - spread, median + spread


@dataclass(frozen=True)
class TranscriptThresholds:
    max_draft_wer: float = 0.8  # and above the project's normal range of draft WERs
    rate_mads: float = 3.5  # chars/s outside median ± this many scaled MADs (speaker's, project's)
    score_mads: float = 3.5  # alignment fit below median - this many scaled MADs (project's)
    max_foreign_script: float = 0.2  # share of letters outside the language's scripts


@dataclass(frozen=True)
class TranscriptItem:
    """One transcript to check: an annotation's text over the audio it covers."""

    text: str
    duration: float  # seconds of audio the text covers
    language: str | None = None
    draft_text: str | None = None  # the recogniser's words over the same audio, when a draft exists
    draft_score: float | None = None  # their mean per-frame log-likelihood
    alignment_status: str | None = None  # "aligned", "failed", "no_engine", or None (not aligned yet)
    align_score: float | None = None  # the aligned words' mean per-frame log-likelihood
    coverage: float | None = None  # share of the voiced audio the aligned words cover (speech.voiced_coverage)
    transforms: tuple[str, ...] = DEFAULT_TRANSFORMS


@dataclass(frozen=True)
class TranscriptContext:
    """What an item is compared with: normal ranges (``normal_range`` of the others' measures) and duplicates."""

    project_rate: tuple[float, float] | None = None
    speaker_rate: tuple[float, float] | None = None
    score_gap: tuple[float, float] | None = None  # of (align score - draft score)
    align_score: tuple[float, float] | None = None  # of align score, for items without a draft
    coverage: tuple[float, float] | None = None
    draft_wer: tuple[float, float] | None = None
    duplicate: bool = False


def transcript_measures(item: TranscriptItem) -> dict:
    """The numbers the checks read (stored beside the flags, so reviewers see why, and ranges are built from them)."""
    draft_wer = (
        round(word_error_rate(item.text, item.draft_text, item.transforms), 3) if item.draft_text is not None else None
    )
    gap = (
        round(item.align_score - item.draft_score, 3)
        if item.align_score is not None and item.draft_score is not None
        else None
    )
    rate = chars_per_second(item.text, item.duration)
    foreign = foreign_script_share(item.text, item.language)
    return {
        "chars_per_second": None if rate is None else round(rate, 3),
        "draft_wer": draft_wer,
        "align_score": None if item.align_score is None else round(item.align_score, 3),
        "score_gap": gap,
        "foreign_script": None if foreign is None else round(foreign, 3),
        "coverage": item.coverage,
        "alignment": item.alignment_status,
        "normalised_text": normalise(item.text, item.transforms),
    }


def transcript_context(
    measures: dict, others: Sequence[dict], speaker_others: Sequence[dict], thresholds: TranscriptThresholds
) -> TranscriptContext:
    """Normal ranges from the measures of the project's (and the speaker's) other transcripts, this one included."""

    def values(rows, key):
        return [r[key] for r in [*rows, measures] if r.get(key) is not None]

    return TranscriptContext(
        project_rate=normal_range(values(others, "chars_per_second"), thresholds.rate_mads),
        speaker_rate=normal_range(values(speaker_others, "chars_per_second"), thresholds.rate_mads),
        score_gap=normal_range(values(others, "score_gap"), thresholds.score_mads),
        align_score=normal_range(values(others, "align_score"), thresholds.score_mads),
        coverage=normal_range(values(others, "coverage"), thresholds.score_mads),
        draft_wer=normal_range(values(others, "draft_wer"), thresholds.rate_mads),
    )


def _outside(value: float | None, span: tuple[float, float] | None) -> bool:
    return value is not None and span is not None and not (span[0] <= value <= span[1])


def _below(value: float | None, span: tuple[float, float] | None) -> bool:
    return value is not None and span is not None and value < span[0]


def transcript_flags(measures: dict, context: TranscriptContext, thresholds: TranscriptThresholds) -> list[str]:
    """The checks a transcript with these ``transcript_measures`` trips, in TRANSCRIPT_FLAGS order."""
    if not measures["normalised_text"]:
        return ["transcript_empty"]
    rate, wer, gap = measures["chars_per_second"], measures["draft_wer"], measures["score_gap"]
    low_fit = (
        _below(gap, context.score_gap) if gap is not None else _below(measures["align_score"], context.align_score)
    )
    tripped = {
        "transcript_duplicate": context.duplicate,
        "transcript_script": (measures["foreign_script"] or 0.0) > thresholds.max_foreign_script,
        # the speaker's own range once they have one (a slow speaker is not an error), else the project's
        "transcript_rate": _outside(rate, context.speaker_rate or context.project_rate),
        "transcript_draft_wer": wer is not None
        and wer > thresholds.max_draft_wer
        and (context.draft_wer is None or wer > context.draft_wer[1]),
        "transcript_alignment_failed": measures["alignment"] == "failed",
        "transcript_alignment_low": measures["alignment"] == "aligned"
        and (low_fit or _below(measures.get("coverage"), context.coverage)),
    }
    return [f for f in TRANSCRIPT_FLAGS if tripped.get(f)]
