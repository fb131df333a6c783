"""Agreement metrics for review: pure functions on plain Python data.

No Django here (like ``apps/processing/dsp``): callers load annotations, turn
them into dicts/lists, and pass them in. Which library computes what:

- Krippendorff's alpha: the ``krippendorff`` package (``krippendorff.alpha``).
- Cohen's and Fleiss' kappa: ``statsmodels.stats.inter_rater``.
- Region matching: ``scipy.optimize.linear_sum_assignment`` (optimal 1:1
  assignment); IoU and the counts around it are computed here.
- WER / CER: ``jiwer`` edit-distance counts (``process_words`` /
  ``process_characters``) after the normalisation in ``TRANSCRIPT_NORMALISATION``.

Shapes used throughout:

- clip labels: ``units = {unit_id: {annotator_id: label}}``; a ``None`` label
  or an absent annotator means "not rated".
- regions: ``Region`` or a dict with ``start``, ``end`` (seconds), and
  optional ``label``, ``channel``.
- an annotation (for ``annotator_scores``): a dict with any of
  ``clip_labels`` (one label or a list), ``regions`` (list) and
  ``transcript`` (str; when absent, region ``text`` joined in time order).
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import jiwer
import krippendorff
import numpy as np
from scipy.optimize import linear_sum_assignment

from apps.processing.dsp.transcript_qa import DEFAULT_TRANSFORMS, text_transforms

# ---------------------------------------------------------------- clip labels


class KappaResult(NamedTuple):
    """A kappa value, or ``None`` with the reason it does not apply."""

    value: float | None
    reason: str | None = None


def _rated(labels: Mapping[Any, Any] | Iterable[Any]) -> list[Any]:
    """The non-missing labels of one unit (from ``{annotator: label}`` or a list)."""
    values = labels.values() if isinstance(labels, Mapping) else labels
    return [v for v in values if v is not None]


def krippendorff_alpha_nominal(units: Mapping[Hashable, Mapping[Hashable, Hashable]]) -> float | None:
    """Krippendorff's alpha (nominal) over ``{unit: {annotator: label}}``; missing ratings allowed.

    Builds the annotators x units reliability matrix (label codes, NaN where an
    annotator did not rate a unit) and hands it to ``krippendorff.alpha``.
    Returns ``None`` when alpha is undefined: no unit rated by two or more
    annotators, or only one label value in the data (expected disagreement 0).
    """
    annotators = sorted({a for ratings in units.values() for a, v in ratings.items() if v is not None}, key=repr)
    codes: dict[Hashable, int] = {}
    matrix = np.full((len(annotators), len(units)), np.nan)
    row = {a: i for i, a in enumerate(annotators)}
    for col, ratings in enumerate(units.values()):
        for annotator, label in ratings.items():
            if label is not None:
                matrix[row[annotator], col] = codes.setdefault(label, len(codes))
    pairable = (~np.isnan(matrix)).sum(axis=0) >= 2
    if len(codes) < 2 or not pairable.any():
        return None
    return float(krippendorff.alpha(matrix, value_domain=range(len(codes)), level_of_measurement="nominal"))


def krippendorff_alpha_per_label(
    units: Mapping[Hashable, Mapping[Hashable, Iterable[Hashable] | None]],
) -> dict[Hashable, float | None]:
    """Multi-label clip labels: one binary (present/absent) nominal alpha per label.

    ``units`` is ``{unit: {annotator: set_of_labels}}``. For each label seen
    anywhere, every rating becomes "has it / hasn't it" and alpha is computed
    as in ``krippendorff_alpha_nominal``; an annotator who did not rate a unit
    (absent or ``None``) stays missing rather than counting as "absent".
    """
    labels = {lab for ratings in units.values() for s in ratings.values() if s is not None for lab in s}
    return {
        label: krippendorff_alpha_nominal(
            {u: {a: (label in s) for a, s in ratings.items() if s is not None} for u, ratings in units.items()}
        )
        for label in sorted(labels, key=repr)
    }


def cohen_kappa(
    pairs_a: Mapping[Hashable, Hashable] | Iterable[tuple[Hashable, Hashable]],
    pairs_b: Mapping[Hashable, Hashable] | Iterable[tuple[Hashable, Hashable]],
) -> KappaResult:
    """Cohen's kappa for two annotators on the units both rated (statsmodels ``cohens_kappa``).

    Each argument is ``{unit: label}`` (or ``(unit, label)`` pairs). Units
    only one of them rated, or rated ``None``, are left out.
    """
    a, b = dict(pairs_a), dict(pairs_b)
    shared = [u for u in a if u in b and a[u] is not None and b[u] is not None]
    if not shared:
        return KappaResult(None, "the two annotators share no rated unit")
    categories = {c: i for i, c in enumerate(dict.fromkeys([a[u] for u in shared] + [b[u] for u in shared]))}
    if len(categories) < 2:
        return KappaResult(None, "both annotators used a single label, so chance agreement is 1")
    table = np.zeros((len(categories), len(categories)))
    for u in shared:
        table[categories[a[u]], categories[b[u]]] += 1
    # Imported here: statsmodels takes about a second to import and only the kappas need it.
    from statsmodels.stats.inter_rater import cohens_kappa as sm_cohens_kappa

    return KappaResult(float(sm_cohens_kappa(table).kappa))


def fleiss_kappa(units: Mapping[Hashable, Mapping[Hashable, Hashable] | Sequence[Hashable]]) -> KappaResult:
    """Fleiss' kappa over ``{unit: {annotator: label}}`` (or ``{unit: [labels]}``), statsmodels ``fleiss_kappa``.

    Fleiss' kappa needs the same number of ratings (>= 2) on every unit; when
    that does not hold, use ``krippendorff_alpha_nominal``, which allows
    missing ratings. Returns ``KappaResult(None, reason)`` when it does not apply.
    """
    rated = [_rated(labels) for labels in units.values()]
    if not rated:
        return KappaResult(None, "no units")
    counts = {len(r) for r in rated}
    if len(counts) > 1:
        reason = f"units have different numbers of ratings ({sorted(counts)}); use Krippendorff's alpha"
        return KappaResult(None, reason)
    if counts.pop() < 2:
        return KappaResult(None, "each unit needs at least two ratings")
    categories = {c: i for i, c in enumerate(dict.fromkeys(c for r in rated for c in r))}
    if len(categories) < 2:
        return KappaResult(None, "every rating has the same label, so chance agreement is 1")
    table = np.zeros((len(rated), len(categories)))
    for i, r in enumerate(rated):
        for c in r:
            table[i, categories[c]] += 1
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

    return KappaResult(float(sm_fleiss_kappa(table, method="fleiss")))


# -------------------------------------------------------------------- regions


@dataclass(frozen=True)
class Region:
    """A time region in seconds; ``channel`` None means the region is not tied to one channel."""

    start: float
    end: float
    label: Hashable | None = None
    channel: int | None = None


def region_from(value: Region | Mapping[str, Any]) -> Region:
    """A ``Region`` from a ``Region`` or a dict with start/end (seconds) and optional label/channel."""
    r = (
        value
        if isinstance(value, Region)
        else Region(float(value["start"]), float(value["end"]), value.get("label"), value.get("channel"))
    )
    if not r.end > r.start:
        raise ValueError(f"region end ({r.end}) must be after its start ({r.start})")
    return r


def region_iou(a: Region, b: Region) -> float:
    """Temporal intersection over union; 0 when the regions are on different channels."""
    if a.channel != b.channel:
        return 0.0
    inter = min(a.end, b.end) - max(a.start, b.start)
    if inter <= 0:
        return 0.0
    return inter / (max(a.end, b.end) - min(a.start, b.start))


def match_regions(
    ref: Sequence[Region | Mapping[str, Any]],
    hyp: Sequence[Region | Mapping[str, Any]],
    *,
    iou_threshold: float = 0.5,
) -> list[tuple[int, int, float]]:
    """One-to-one matches ``(ref_index, hyp_index, iou)`` with IoU >= threshold, sorted by ref index.

    The assignment maximises total IoU (scipy ``linear_sum_assignment`` on
    -IoU), unlike greedy best-pair-first matching. IoUs under the threshold
    are zeroed before assigning so a sub-threshold pair can never displace a
    valid one just because it adds to the total.
    """
    r, h = [region_from(x) for x in ref], [region_from(x) for x in hyp]
    if not r or not h:
        return []
    iou = np.array([[region_iou(a, b) for b in h] for a in r])
    gated = np.where(iou >= iou_threshold, iou, 0.0)
    rows, cols = linear_sum_assignment(-gated)
    return [(int(i), int(j), float(iou[i, j])) for i, j in zip(rows, cols) if iou[i, j] >= iou_threshold]


@dataclass
class _RegionTally:
    """Running counts so several comparisons (pairs, units) can be pooled (micro-averaged)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    boundary_error_s: float = 0.0  # sum over matched pairs of |dstart| + |dend|
    same_label: int = 0

    def add(self, ref: Sequence[Any], hyp: Sequence[Any], iou_threshold: float) -> None:
        r, h = [region_from(x) for x in ref], [region_from(x) for x in hyp]
        matches = match_regions(r, h, iou_threshold=iou_threshold)
        self.tp += len(matches)
        self.fp += len(h) - len(matches)
        self.fn += len(r) - len(matches)
        for i, j, _ in matches:
            self.boundary_error_s += abs(r[i].start - h[j].start) + abs(r[i].end - h[j].end)
            self.same_label += r[i].label == h[j].label

    def as_dict(self) -> dict[str, Any]:
        tp, fp, fn = self.tp, self.fp, self.fn
        # Nothing claimed means nothing wrongly claimed: empty vs empty is perfect agreement.
        return {
            "precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / (tp + fn) if tp + fn else 1.0,
            "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0,
            "matched": tp,
            "mean_boundary_error_ms": 1000 * self.boundary_error_s / (2 * tp) if tp else None,
            "label_agreement": self.same_label / tp if tp else None,
            "tp": tp,
            "fp": fp,
            "fn": fn,
        }


def region_agreement(
    ref: Sequence[Region | Mapping[str, Any]],
    hyp: Sequence[Region | Mapping[str, Any]],
    iou_threshold: float = 0.5,
) -> dict[str, Any]:
    """Detection-style agreement of ``hyp`` against ``ref`` (one recording).

    Returns precision, recall, f1 (tp = matched pairs from ``match_regions``),
    ``mean_boundary_error_ms`` (mean of |dstart| and |dend| over matched pairs),
    ``label_agreement`` (share of matched pairs with equal labels) and the raw
    tp/fp/fn. Both empty gives precision = recall = f1 = 1; the two means are
    ``None`` when nothing matched.
    """
    tally = _RegionTally()
    tally.add(ref, hyp, iou_threshold)
    return tally.as_dict()


def region_agreement_pairwise(
    by_annotator: Mapping[Hashable, Sequence[Region | Mapping[str, Any]]],
    iou_threshold: float = 0.5,
) -> dict[str, Any] | None:
    """Agreement among N annotators on one recording, micro-averaged over every unordered pair.

    tp/fp/fn, boundary errors and label matches are summed over all pairs
    before dividing, so a pair with many regions weighs more than one with
    few. Precision and recall are left out: between peers they depend on who
    is called the reference, while f1 (2tp / (2tp + fp + fn)) does not.
    Returns ``None`` with fewer than two annotators.
    """
    if len(by_annotator) < 2:
        return None
    tally = _RegionTally()
    for a, b in itertools.combinations(sorted(by_annotator, key=repr), 2):
        tally.add(by_annotator[a], by_annotator[b], iou_threshold)
    result = tally.as_dict()
    del result["precision"], result["recall"]
    result["pairs"] = len(by_annotator) * (len(by_annotator) - 1) // 2
    return result


# ---------------------------------------------------------------- transcripts


TRANSCRIPT_NORMALISATION = (
    'by default lowercase, remove punctuation (so "don\'t" becomes "dont"), collapse runs of spaces, strip the ends '
    "(a project may choose other jiwer transforms: QASettings.text_transforms); CER counts the single spaces left "
    "between words"
)


def _edit_counts(
    references: list[str], hypotheses: list[str], transforms: tuple[str, ...] = DEFAULT_TRANSFORMS
) -> tuple[int, int, int, int]:
    """(word errors, reference words, char errors, reference chars), summed over the pairs."""
    words, chars = text_transforms(tuple(transforms))
    w = jiwer.process_words(references, hypotheses, reference_transform=words, hypothesis_transform=words)
    c = jiwer.process_characters(references, hypotheses, reference_transform=chars, hypothesis_transform=chars)
    return (
        w.substitutions + w.deletions + w.insertions,
        w.substitutions + w.deletions + w.hits,
        c.substitutions + c.deletions + c.insertions,
        c.substitutions + c.deletions + c.hits,
    )


def _rate(errors: int, length: int) -> float:
    # Empty reference (after normalisation): jiwer would divide by zero or
    # return the raw insertion count; we define 0 when the hypothesis is empty
    # too and 1.0 (everything wrong) otherwise.
    if length == 0:
        return 0.0 if errors == 0 else 1.0
    return errors / length


def transcript_error(
    reference: str | Sequence[str],
    hypothesis: str | Sequence[str],
    transforms: tuple[str, ...] = DEFAULT_TRANSFORMS,
) -> dict[str, float]:
    """``{"wer", "cer"}`` of ``hypothesis`` against ``reference``, from jiwer edit counts.

    Text is normalised first by the named jiwer ``transforms`` (see ``TRANSCRIPT_NORMALISATION``). Given lists,
    the rates are corpus-level: total errors / total reference length. An
    empty reference gives 0 against an empty hypothesis and 1.0 otherwise.
    """
    refs = [reference] if isinstance(reference, str) else list(reference)
    hyps = [hypothesis] if isinstance(hypothesis, str) else list(hypothesis)
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses")
    if not refs:
        return {"wer": 0.0, "cer": 0.0}
    w_err, w_len, c_err, c_len = _edit_counts(refs, hyps, transforms)
    return {"wer": _rate(w_err, w_len), "cer": _rate(c_err, c_len)}


def transcript_error_pairwise(
    by_annotator: Mapping[Hashable, str], transforms: tuple[str, ...] = DEFAULT_TRANSFORMS
) -> dict[str, Any] | None:
    """WER/CER among N annotators' transcripts of one unit, micro over ordered pairs.

    WER is not symmetric (its denominator is the reference length), so each
    pair is scored both ways and errors and lengths are pooled before
    dividing. Returns ``None`` with fewer than two annotators.
    """
    if len(by_annotator) < 2:
        return None
    pairs = list(itertools.permutations(sorted(by_annotator, key=repr), 2))
    result: dict[str, Any] = transcript_error(
        [by_annotator[a] for a, _ in pairs], [by_annotator[b] for _, b in pairs], transforms
    )
    result["pairs"] = len(pairs) // 2
    return result


# ------------------------------------------------------------ per annotator


def _label_set(value: Any) -> frozenset:
    if value is None:
        return frozenset()
    if isinstance(value, (list, tuple, set, frozenset)):
        return frozenset(value)
    return frozenset([value])


def _has_transcript(annotation: Mapping[str, Any]) -> bool:
    regions = annotation.get("regions") or []
    return "transcript" in annotation or any(isinstance(r, Mapping) and "text" in r for r in regions)


def annotation_transcript(annotation: Mapping[str, Any]) -> str:
    """The annotation's ``transcript``, else its regions' ``text`` joined in time order."""
    if annotation.get("transcript") is not None:
        return annotation["transcript"]
    regions = [r for r in annotation.get("regions") or [] if isinstance(r, Mapping)]
    return " ".join(r.get("text") or "" for r in sorted(regions, key=lambda r: (r["start"], r["end"])))


def annotator_scores(
    gold: Mapping[Hashable, Mapping[str, Any]],
    by_annotator: Mapping[Hashable, Mapping[Hashable, Mapping[str, Any]]],
    *,
    iou_threshold: float = 0.5,
    transforms: tuple[str, ...] = DEFAULT_TRANSFORMS,
) -> dict[Hashable, dict[str, Any]]:
    """Score each annotator against gold on the gold units they annotated (text normalised by ``transforms``).

    Per annotator: ``units`` (gold units they annotated);
    ``clip_label_accuracy`` (share of units whose label set equals gold's,
    over units where gold has ``clip_labels``); ``region_f1`` /
    ``region_precision`` / ``region_recall`` / ``mean_boundary_error_ms``
    (micro over units where gold has ``regions``); ``wer`` / ``cer``
    (corpus-level over units where gold has ``transcript`` or region ``text``);
    and the unit count behind each. A measure with no units is ``None``.
    A field missing from the annotator's annotation counts as empty.
    """
    scores: dict[Hashable, dict[str, Any]] = {}
    for annotator, answers in by_annotator.items():
        units = [u for u in answers if u in gold]
        label_units = [u for u in units if "clip_labels" in gold[u]]
        region_units = [u for u in units if "regions" in gold[u]]
        text_units = [u for u in units if _has_transcript(gold[u])]
        correct = sum(
            _label_set(gold[u]["clip_labels"]) == _label_set(answers[u].get("clip_labels")) for u in label_units
        )
        tally = _RegionTally()
        for u in region_units:
            tally.add(gold[u]["regions"], answers[u].get("regions") or [], iou_threshold)
        regions = tally.as_dict()
        text = {"wer": None, "cer": None}
        if text_units:
            text = transcript_error(
                [annotation_transcript(gold[u]) for u in text_units],
                [annotation_transcript(answers[u]) for u in text_units],
                transforms,
            )
        scores[annotator] = {
            "units": len(units),
            "clip_label_accuracy": correct / len(label_units) if label_units else None,
            "clip_label_units": len(label_units),
            "region_f1": regions["f1"] if region_units else None,
            "region_precision": regions["precision"] if region_units else None,
            "region_recall": regions["recall"] if region_units else None,
            "mean_boundary_error_ms": regions["mean_boundary_error_ms"],
            "region_units": len(region_units),
            "wer": text["wer"],
            "cer": text["cer"],
            "transcript_units": len(text_units),
        }
    return scores
