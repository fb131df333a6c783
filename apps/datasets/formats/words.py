"""Word timings in the release formats: CTM lines, Praat TextGrids, and the per-format fields.

An example's ``words`` are ``(word, start, end, score)`` tuples in seconds from the start of the example's own
audio file (the cut), from the forced aligner; ``score`` is the aligner's mean per-frame log-likelihood (0 is
perfect) or None. Where they go:

- jsonl (NeMo): ``words`` inline in every manifest line, and for aligned examples ``word_level_ctm_filepath``
  (relative to the manifest, like ``audio_filepath``) naming a CTM file, which is the field and file NeMo
  Forced Aligner writes into its output manifest, so NeMo tools that read NFA output read these;
- lhotse: ``alignment["word"]`` of the supervision (``AlignmentItem`` rows ``[symbol, start, duration, score]``);
- hf-parquet: a ``words`` column, a list of ``{word, start, end}``;
- csv: a ``words`` column holding that list as JSON;
- webdataset: ``words`` in the sample's ``.json`` and a ``.textgrid`` member;
- and a TextGrid per aligned example (tiers ``utterance`` and ``words``, silences as empty intervals) under
  ``textgrid/{split}/{key}.TextGrid`` in the file-per-example formats.
"""

from __future__ import annotations

from praatio import textgrid
from praatio.data_classes.textgrid import _tgToDictionary  # the dict Textgrid.save renders (praatio==6.2.2)
from praatio.utilities import textgrid_io

Word = tuple[str, float, float, float | None]


def words_check(key: str, words, duration: float) -> tuple[Word, ...]:
    """The words as tuples, or ValueError naming the example when one is out of order or outside its audio."""
    out = []
    last_end = 0.0
    for item in words:
        word, start, end, *rest = item
        score = rest[0] if rest else None
        if not isinstance(word, str) or not word.strip() or any(c.isspace() for c in word):
            raise ValueError(f"Example {key}: every aligned word must be one non-empty token without spaces.")
        if not (0.0 <= start <= end <= duration + 1e-3) or start < last_end - 1e-3:
            raise ValueError(
                f"Example {key}: word {word!r} at {start}-{end} s must lie inside the audio and after the previous one."
            )
        last_end = end
        out.append((word, float(start), float(min(end, duration)), None if score is None else float(score)))
    return tuple(out)


def words_clip(words, duration: float) -> tuple[Word, ...]:
    """Words that start inside ``duration`` seconds, ends clamped to it (the encoded audio may be a few ms shorter
    than the span the words were aligned on)."""
    return tuple((w, s, min(e, duration), score) for w, s, e, score in words if s < duration)


def words_json(words: tuple[Word, ...]) -> list[dict]:
    """``[{word, start, end}]``: the shape of the jsonl, csv, webdataset and hf-parquet ``words`` field."""
    return [{"word": w, "start": s, "end": e} for w, s, e, _ in words]


def lhotse_alignment(words: tuple[Word, ...]) -> dict:
    """A supervision's ``alignment`` dict as lhotse serialises ``AlignmentItem``s."""
    return {
        "word": [
            [w, s, round(e - s, 6), score] if score is not None else [w, s, round(e - s, 6)] for w, s, e, score in words
        ]
    }


def ctm_text(key: str, words: tuple[Word, ...]) -> str:
    """Kaldi/NeMo CTM: ``utt_id channel start duration word`` per line, times relative to the example."""
    return "".join(f"{key} 1 {s:.3f} {e - s:.3f} {w}\n" for w, s, e, _ in words)


def textgrid_text(text: str, words: tuple[Word, ...], duration: float) -> str:
    """A Praat TextGrid (long form) with an ``utterance`` tier (the whole text) and a ``words`` tier."""
    tg = textgrid.Textgrid(0.0, duration)
    tg.addTier(textgrid.IntervalTier("utterance", [(0.0, duration, text)] if text else [], 0.0, duration))
    entries = [(s, e, w) for w, s, e, _ in words if e > s]
    tg.addTier(textgrid.IntervalTier("words", entries, 0.0, duration))
    return textgrid_io.getTextgridAsStr(_tgToDictionary(tg), "long_textgrid", includeBlankSpaces=True)


def write_word_files(writer, ex, *, ctm: bool = False) -> dict[str, str]:
    """Write the example's TextGrid (and, with ``ctm``, its CTM) when it has words; returns {kind: relpath}."""
    if not ex.words:
        return {}
    paths = {"textgrid": f"textgrid/{ex.split}/{ex.key}.TextGrid"}
    writer._write_whole(paths["textgrid"], textgrid_text(ex.text, ex.words, ex.duration).encode())
    if ctm:
        paths["ctm"] = f"ctm/{ex.split}/{ex.key}.ctm"
        writer._write_whole(paths["ctm"], ctm_text(ex.key, ex.words).encode())
    return paths
