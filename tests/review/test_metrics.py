"""Agreement metrics against values worked out by hand (the working is in the comments)."""

import pytest

from apps.review.metrics import (
    Region,
    annotation_transcript,
    annotator_scores,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha_nominal,
    krippendorff_alpha_per_label,
    match_regions,
    region_agreement,
    region_agreement_pairwise,
    transcript_error,
    transcript_error_pairwise,
)

# ------------------------------------------------------------------ alpha

# Two coders, ten units, labels y/n; they disagree on units 6 and 10.
CODER_1 = "y y y y y y n n n n".split()
CODER_2 = "y y y y y n n n n y".split()
TEN_UNITS = {u: {"c1": a, "c2": b} for u, (a, b) in enumerate(zip(CODER_1, CODER_2), start=1)}


def test_alpha_two_coders_ten_units_by_coincidence_matrix():
    # Each unit with 2 values adds 1/(m-1) = 1 to o[c][k] for each ordered pair of its values:
    #   units 1-5 (y,y): o_yy = 10;  units 7-9 (n,n): o_nn = 6;  units 6,10: o_yn = o_ny = 2.
    #   n_y = 10 + 2 = 12, n_n = 6 + 2 = 8, n = 20.
    #   nominal alpha = 1 - (n - 1) * o_yn / (n_y * n_n) = 1 - 19 * 2 / 96 = 58/96 = 0.6042
    assert krippendorff_alpha_nominal(TEN_UNITS) == pytest.approx(58 / 96)


def test_alpha_krippendorff_2011_worked_example_with_missing_data():
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", nominal example:
    # 4 coders x 12 units, "." = missing. Unit 12 has one value, so it is not pairable.
    rows = {
        "A": "1 2 3 3 2 1 4 1 2 . . .",
        "B": "1 2 3 3 2 2 4 1 2 5 . 3",
        "C": ". 3 3 3 2 3 4 2 2 5 1 .",
        "D": "1 2 3 3 2 4 4 1 2 5 1 .",
    }
    units = {u: {} for u in range(1, 13)}
    for coder, row in rows.items():
        for u, v in enumerate(row.split(), start=1):
            if v != ".":
                units[u][coder] = v  # string labels: the code must not care about the label type
    # Coincidences off the diagonal (each ordered pair weighted 1/(m_u - 1)):
    #   unit 2 (2,2,3,2; m=4): 3*1*2 ordered 2-3 pairs / 3 = 2
    #   unit 6 (1,2,3,4; m=4): 12 ordered pairs / 3     = 4
    #   unit 8 (1,1,2,1; m=4): 3*1*2 ordered 1-2 pairs / 3 = 2      -> sum o_ck (c != k) = 8
    # Marginals n_c: 1:9, 2:13, 3:10, 4:5, 5:3, n = 40; sum n_c^2 = 81+169+100+25+9 = 384.
    #   alpha = 1 - (n - 1) * 8 / (n^2 - 384) = 1 - 39 * 8 / 1216 = 0.7434  (the paper: 0.743)
    assert krippendorff_alpha_nominal(units) == pytest.approx(1 - 312 / 1216)
    assert round(krippendorff_alpha_nominal(units), 3) == 0.743


def test_alpha_undefined_without_variation_or_pairable_units():
    assert krippendorff_alpha_nominal({1: {"a": "x", "b": "x"}, 2: {"a": "x", "b": "x"}}) is None
    assert krippendorff_alpha_nominal({1: {"a": "x"}, 2: {"b": "y"}}) is None
    assert krippendorff_alpha_nominal({1: {"a": "x", "b": None}, 2: {"a": "y", "b": None}}) is None


def test_alpha_per_label_for_multi_label_clips():
    units = {
        1: {"a": {"x", "y"}, "b": {"x"}},
        2: {"a": {"y"}, "b": {"y"}},
        3: {"a": {"x"}, "b": {"x", "y"}},
        4: {"a": set(), "b": set()},
        5: {"a": {"x"}, "b": None},  # b did not rate unit 5: missing, not "absent"
    }
    # x: present/absent pairs (1,1) (0,0) (1,1) (0,0) -> perfect agreement, alpha = 1.
    # y: pairs (1,0) (1,1) (0,1) (0,0): o_11 = 2, o_00 = 2, o_10 = o_01 = 2, n_1 = n_0 = 4, n = 8
    #    alpha = 1 - 7 * 2 / (4 * 4) = 0.125
    assert krippendorff_alpha_per_label(units) == pytest.approx({"x": 1.0, "y": 0.125})


# ------------------------------------------------------------------ kappas


def test_cohen_kappa_on_a_hand_computed_2x2_table():
    #              B yes  B no
    #   A yes        20     5      p_o = (20 + 15) / 50 = 0.7
    #   A no         10    15      A says yes 25/50 = 0.5, B says yes 30/50 = 0.6
    #   p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5;  kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4
    cells = [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10 + [("no", "no")] * 15
    a = {i: x for i, (x, _) in enumerate(cells)}
    b = {i: y for i, (_, y) in enumerate(cells)}
    a["only-a"] = "yes"  # not shared: ignored
    assert cohen_kappa(a, b).value == pytest.approx(0.4)


def test_cohen_kappa_on_the_ten_unit_example():
    # Table (c1 rows, c2 cols; y, n): [[5, 1], [1, 3]]. p_o = 8/10; both say y 6/10.
    # p_e = 0.6^2 + 0.4^2 = 0.52; kappa = (0.8 - 0.52) / 0.48 = 7/12
    pairs_a = [(u, r["c1"]) for u, r in TEN_UNITS.items()]
    pairs_b = [(u, r["c2"]) for u, r in TEN_UNITS.items()]
    assert cohen_kappa(pairs_a, pairs_b).value == pytest.approx(7 / 12)


def test_cohen_kappa_not_applicable_reasons():
    assert cohen_kappa({1: "x"}, {2: "x"}) == (None, "the two annotators share no rated unit")
    result = cohen_kappa({1: "x", 2: "x"}, {1: "x", 2: "x"})
    assert result.value is None and "single label" in result.reason


# Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters, 5 categories.
FLEISS_TABLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def test_fleiss_kappa_wikipedia_example():
    # p_j = column sums / 140 = 0.143, 0.200, 0.279, 0.150, 0.229 -> P_e = sum p_j^2 = 0.2128
    # P_i = (sum n_ij^2 - 14) / (14 * 13), e.g. P_1 = (196 - 14) / 182 = 1.0, P_2 = (60 - 14)/182 = 0.253
    # P_bar = mean P_i = 0.3780;  kappa = (0.3780 - 0.2128) / (1 - 0.2128) = 0.210
    units = {
        s: [cat for cat, n in enumerate(row) for _ in range(n)]  # 14 labels per subject
        for s, row in enumerate(FLEISS_TABLE)
    }
    p_e = sum((sum(col) / 140) ** 2 for col in zip(*FLEISS_TABLE))
    p_bar = sum((sum(n * n for n in row) - 14) / 182 for row in FLEISS_TABLE) / 10
    result = fleiss_kappa(units)
    assert result.value == pytest.approx((p_bar - p_e) / (1 - p_e))
    assert round(result.value, 3) == 0.210


def test_fleiss_kappa_needs_equal_rating_counts():
    result = fleiss_kappa({1: {"a": "x", "b": "y", "c": "x"}, 2: {"a": "x", "b": "x"}})
    assert result.value is None and "Krippendorff" in result.reason
    assert fleiss_kappa({1: ["x"], 2: ["y"]}).reason == "each unit needs at least two ratings"
    assert fleiss_kappa({}).value is None


# ------------------------------------------------------------------ regions


def test_optimal_matching_beats_greedy():
    ref = [Region(0, 10, "dog"), Region(2, 12, "cat")]
    hyp = [Region(1, 10, "cat"), Region(0, 7, "bark")]
    # IoU        h0=[1,10]       h1=[0,7]
    #   r0=[0,10]  9/10 = 0.9     7/10 = 0.7
    #   r1=[2,12]  8/11 = 0.727   5/12 = 0.417
    # Greedy (best pair first) takes r0-h0 (0.9), leaving r1-h1 (0.417 < 0.5): 1 match.
    # Optimal takes r0-h1 + r1-h0 = 1.427 > 0.9 + 0.417: 2 matches.
    assert match_regions(ref, hyp) == [(0, 1, pytest.approx(0.7)), (1, 0, pytest.approx(8 / 11))]
    result = region_agreement(ref, hyp)
    # Boundary errors: r0-h1 |0-0| + |10-7| = 3 s; r1-h0 |2-1| + |12-10| = 3 s -> 6 s / 4 boundaries = 1500 ms.
    # Labels: dog/bark differ, cat/cat agree -> 1/2.
    assert result == {
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
        "matched": 2,
        "mean_boundary_error_ms": pytest.approx(1500),
        "label_agreement": 0.5,
        "tp": 2,
        "fp": 0,
        "fn": 0,
    }


def test_sub_threshold_pairs_do_not_displace_a_valid_match():
    ref = [Region(5, 11), Region(8, 12)]
    hyp = [Region(7, 10), Region(6, 8)]
    # IoU r0-h0 = 3/6 = 0.5, r0-h1 = 2/6, r1-h0 = 2/5 = 0.4, r1-h1 = 0.
    # Raw max-sum picks r0-h1 + r1-h0 (0.733 > 0.5), both under 0.5: no match at all.
    # Zeroing sub-threshold IoUs first keeps r0-h0.
    assert match_regions(ref, hyp) == [(0, 0, 0.5)]


def test_boundary_error_in_milliseconds_and_dict_regions():
    ref = [{"start": 1.000, "end": 2.000, "label": 3}]
    hyp = [{"start": 1.020, "end": 1.950, "label": 3, "text": "ignored"}]
    # IoU = 0.93 / 1.0; |dstart| = 20 ms, |dend| = 50 ms -> mean 35 ms.
    result = region_agreement(ref, hyp)
    assert result["mean_boundary_error_ms"] == pytest.approx(35)
    assert result["label_agreement"] == 1.0
    assert match_regions(ref, hyp, iou_threshold=0.95) == []


def test_regions_on_different_channels_never_match():
    assert match_regions([Region(0, 1, channel=0)], [Region(0, 1, channel=1)]) == []


def test_region_agreement_empty_sides():
    both_empty = region_agreement([], [])
    assert (both_empty["f1"], both_empty["mean_boundary_error_ms"], both_empty["label_agreement"]) == (1.0, None, None)
    only_hyp = region_agreement([], [Region(0, 1), Region(2, 3)])
    assert (only_hyp["precision"], only_hyp["recall"], only_hyp["f1"], only_hyp["fp"]) == (0.0, 1.0, 0.0, 2)


def test_region_must_end_after_it_starts():
    with pytest.raises(ValueError, match="after its start"):
        region_agreement([{"start": 2, "end": 2}], [])


def test_region_agreement_pairwise_is_micro_over_pairs():
    by_annotator = {
        "A": [Region(0, 1), Region(2, 3)],
        "B": [Region(0, 1), Region(2, 3)],
        "C": [Region(0, 1)],
    }
    # A-B: tp 2.  A-C: tp 1, fn 1.  B-C: tp 1, fn 1.  Sum: tp 4, fp 0, fn 2.
    # f1 = 2*4 / (2*4 + 0 + 2) = 0.8 (the mean of per-pair f1s would be (1 + 2/3 + 2/3) / 3 = 0.778).
    result = region_agreement_pairwise(by_annotator)
    assert result["f1"] == pytest.approx(0.8)
    assert (result["tp"], result["fn"], result["pairs"], result["mean_boundary_error_ms"]) == (4, 2, 3, 0)
    assert "precision" not in result
    assert region_agreement_pairwise({"A": []}) is None


# ------------------------------------------------------------------ transcripts


def test_wer_and_cer_by_hand():
    # Words: ref 3, one insertion ("down") -> WER 1/3.
    # Chars: "the cat sat" is 11 characters (spaces count); the hypothesis adds " down" = 5 -> CER 5/11.
    assert transcript_error("the cat sat", "the cat sat down") == pytest.approx({"wer": 1 / 3, "cer": 5 / 11})


def test_normalisation_ignores_case_punctuation_and_spacing():
    assert transcript_error("The  cat, SAT!", " the cat sat") == {"wer": 0.0, "cer": 0.0}


def test_empty_references():
    assert transcript_error("", "") == {"wer": 0.0, "cer": 0.0}
    assert transcript_error("", "hello there") == {"wer": 1.0, "cer": 1.0}
    assert transcript_error("?!", "") == {"wer": 0.0, "cer": 0.0}  # empty after normalisation
    assert transcript_error("hello", "") == {"wer": 1.0, "cer": 1.0}  # all deleted


def test_corpus_wer_pools_errors_over_units():
    # 1 substitution (b->x) + 1 deletion (e) over 4 + 1 reference words = 2/5.
    assert transcript_error(["a b c d", "e"], ["a x c d", ""])["wer"] == pytest.approx(0.4)


def test_transcript_pairwise_scores_both_directions():
    # A->B: 1 insertion / 3 words; B->A: 1 deletion / 4 words -> pooled 2/7.
    # Chars: 5 edits each way over 11 + 16 reference characters -> 10/27.
    result = transcript_error_pairwise({"A": "the cat sat", "B": "the cat sat down"})
    assert result == pytest.approx({"wer": 2 / 7, "cer": 10 / 27, "pairs": 1})
    assert transcript_error_pairwise({"A": "x"}) is None


def test_transcript_from_region_text_in_time_order():
    regions = [{"start": 1, "end": 2, "text": "world"}, {"start": 0, "end": 1, "text": "hello"}]
    assert annotation_transcript({"regions": regions}) == "hello world"


# ------------------------------------------------------------------ per annotator


def test_annotator_scores_against_gold():
    gold = {
        "u1": {"clip_labels": "speech", "regions": [{"start": 0, "end": 1, "label": "x"}], "transcript": "hello world"},
        "u2": {"clip_labels": ["music", "speech"], "regions": [], "transcript": "good morning"},
        "u3": {"clip_labels": "noise"},
    }
    by_annotator = {
        "ann1": {
            "u1": {
                "clip_labels": ["speech"],
                "regions": [{"start": 0, "end": 1.1, "label": "x"}],
                "transcript": "Hello word.",
            },
            "u2": {
                "clip_labels": ["speech", "music"],
                "regions": [{"start": 2, "end": 3}],
                "transcript": "good morning",
            },
            "u3": {"clip_labels": "speech"},
            "not-gold": {"clip_labels": "speech"},
        },
        "ann2": {"u3": {"clip_labels": "noise"}},
    }
    scores = annotator_scores(gold, by_annotator)
    # ann1 labels: u1 equal, u2 equal as sets, u3 wrong -> 2/3.
    # Regions: u1 tp 1 (IoU 1/1.1), u2 fp 1 -> P 1/2, R 1, F1 2/3; boundary |0-0| + |1-1.1| = 0.1 s / 2 = 50 ms.
    # WER: u1 1 substitution (world->word) / 2, u2 0 / 2 -> 1/4.
    # CER: "hello world" -> "hello word" 1 deletion / 11, "good morning" 0 / 12 -> 1/23.
    assert scores["ann1"] == pytest.approx(
        {
            "units": 3,
            "clip_label_accuracy": 2 / 3,
            "clip_label_units": 3,
            "region_f1": 2 / 3,
            "region_precision": 0.5,
            "region_recall": 1.0,
            "mean_boundary_error_ms": 50,
            "region_units": 2,
            "wer": 0.25,
            "cer": 1 / 23,
            "transcript_units": 2,
        }
    )
    ann2 = scores["ann2"]
    assert (ann2["units"], ann2["clip_label_accuracy"], ann2["region_f1"], ann2["wer"]) == (1, 1.0, None, None)
