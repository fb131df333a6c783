"""Agreement, gold scores and consensus through the API, against numbers worked out by hand."""

import pytest

from apps.annotation.models import Annotation, AnnotationVersion
from apps.annotation.services import labels_set
from apps.review.models import Consensus, GoldItem, Review
from apps.review.selectors import gold_recording_ids
from tests.review.conftest import do_work, region

pytestmark = pytest.mark.django_db


def test_project_agreement_matches_hand_computed_values(api, overlap, django_assert_max_num_queries):
    project, users, _ = overlap
    with django_assert_max_num_queries(12):
        response = api(users["reviewer"]).get(f"/api/v1/projects/{project.id}/agreement/")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["overlap_units"] == 3
    clip = body["clip_labels"]
    # A: good good bad, B: good bad bad. Coincidences o_gg=2, o_gb=o_bg=1, o_bb=2; n_g=n_b=3, n=6:
    # Do = 2/6, De = 2*3*3/(6*5) = 0.6, alpha = 1 - (1/3)/0.6 = 4/9.
    assert clip["krippendorff_alpha"] == pytest.approx(4 / 9)
    # Cohen: po = 2/3, pe = 2/3*1/3 + 1/3*2/3 = 4/9, kappa = (2/9)/(5/9) = 0.4
    assert clip["cohen_kappa"] == pytest.approx(0.4)
    # Fleiss: P_i = 1, 0, 1 -> Pbar = 2/3; p_g = p_b = 1/2 -> Pe = 1/2; kappa = (1/6)/(1/2) = 1/3
    assert clip["fleiss_kappa"] == pytest.approx(1 / 3)
    # Regions: rec1 matches 0-1/0-1 (IoU 1) but 2-3 vs 2.5-3.5 has IoU 0.5/1.5 < 0.5 -> tp 1, fp 1, fn 1;
    # rec2, rec3 match exactly -> tp 3, fp 1, fn 1 in all: F1 = 6/8; boundaries exact; labels agree.
    regions = body["regions"]
    assert regions["f1"] == pytest.approx(0.75)
    assert regions["mean_boundary_error_ms"] == pytest.approx(0.0)
    assert regions["label_agreement"] == pytest.approx(1.0)
    # Transcripts: rec1 "hello world" vs "hello word": WER 1/2 both ways; CER 1/11 and 1/10 -> pooled 2/21.
    # rec2, rec3 identical. Mean over the 3 units: WER 1/6, CER 2/63.
    assert body["transcripts"]["wer"] == pytest.approx(1 / 6)
    assert body["transcripts"]["cer"] == pytest.approx(2 / 63)
    rows = {row["username"]: row for row in body["annotators"]}
    # A against B: per unit tp/fp/fn as above -> F1 0.75; clip labels equal on 2 of 3; WER 1/2, 0, 0 -> 1/6
    assert rows["annotator"]["region_f1_vs_peers"] == pytest.approx(0.75)
    assert rows["annotator"]["clip_label_agreement_vs_peers"] == pytest.approx(2 / 3)
    assert rows["annotator"]["wer_vs_peers"] == pytest.approx(1 / 6)
    assert rows["annotator2"]["annotations"] == 3


def test_iou_threshold_parameter_changes_matching(api, overlap):
    project, users, _ = overlap
    body = api(users["reviewer"]).get(f"/api/v1/projects/{project.id}/agreement/", {"iou": "0.3"}).json()
    # with IoU >= 0.3 the 2-3 / 2.5-3.5 pair (IoU 1/3) matches too: tp 4, F1 1; boundary |0.5|+|0.5| over 4 pairs x2
    assert body["regions"]["f1"] == pytest.approx(1.0)
    assert body["regions"]["mean_boundary_error_ms"] == pytest.approx(1000 * 1.0 / 8)
    assert body["regions"]["label_agreement"] == pytest.approx(3 / 4)
    bad = api(users["reviewer"]).get(f"/api/v1/projects/{project.id}/agreement/", {"iou": "2"})
    assert bad.status_code == 400 and "iou must be a number in (0, 1]" in bad.json()["detail"]


def test_per_annotator_filter_and_annotators_endpoint(api, overlap):
    project, users, _ = overlap
    one = (
        api(users["manager"])
        .get(f"/api/v1/projects/{project.id}/agreement/", {"annotator": users["annotator2"].id})
        .json()
    )
    assert [row["username"] for row in one["annotators"]] == ["annotator2"]
    rows = api(users["manager"]).get(f"/api/v1/projects/{project.id}/agreement/annotators/").json()
    assert sorted(r["username"] for r in rows) == ["annotator", "annotator2"]


def test_annotators_may_not_read_agreement(api, overlap):
    project, users, _ = overlap
    response = api(users["annotator"]).get(f"/api/v1/projects/{project.id}/agreement/")
    assert response.status_code == 403


def test_gold_scores_per_annotator(api, review_project, recordings):
    project, users, labels = review_project
    labels_set(project_id=project.id, overlap=2)
    sp, good, bad = labels["speech"], labels["good"], labels["bad"]
    client = api(users["manager"])
    response = client.post(
        f"/api/v1/projects/{project.id}/gold/",
        {
            "recording": recordings[0].id,
            "reference": {"clip_labels": [good], "regions": [{"start": 0, "end": 2, "label": sp}]},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert list(gold_recording_ids(project_id=project.id)) == [recordings[0].id]
    do_work(users["annotator"], project, [region("a", 0, 2, sp)], [good])
    do_work(users["annotator2"], project, [region("b", 0, 1, sp)], [bad])
    rows = {r["username"]: r["gold"] for r in client.get(f"/api/v1/projects/{project.id}/agreement/annotators/").json()}
    assert rows["annotator"]["clip_label_accuracy"] == 1.0 and rows["annotator"]["region_f1"] == 1.0
    # B's 0-1 against gold 0-2: IoU 0.5 -> matched; boundary (|0| + |1|) / 2 = 500 ms; label set differs
    assert rows["annotator2"]["clip_label_accuracy"] == 0.0 and rows["annotator2"]["region_f1"] == 1.0
    assert rows["annotator2"]["mean_boundary_error_ms"] == pytest.approx(500.0)


@pytest.mark.parametrize(
    "body, sentence",
    [
        ({"reference": {"regions": [{"start": 3, "end": 1}]}}, "reference.regions[0]"),
        ({"reference": {"colour": "red"}}, "unknown field 'colour'"),
        ({}, "Give either a reference or an annotation"),
    ],
)
def test_bad_gold_reference_is_400_and_writes_nothing(api, review_project, recordings, body, sentence):
    project, users, _ = review_project
    response = api(users["manager"]).post(
        f"/api/v1/projects/{project.id}/gold/", {"recording": recordings[0].id, **body}, format="json"
    )
    assert response.status_code == 400 and sentence in response.json()["detail"]
    assert not GoldItem.objects.exists()


def test_gold_needs_a_manager(api, review_project, recordings):
    project, users, _ = review_project
    response = api(users["reviewer"]).post(
        f"/api/v1/projects/{project.id}/gold/",
        {"recording": recordings[0].id, "reference": {"clip_labels": []}},
        format="json",
    )
    assert response.status_code == 403


def test_consensus_side_by_side_then_adopt(api, overlap):
    project, users, _ = overlap
    first = Annotation.objects.filter(project_id=project.id).order_by("recording_id", "id").first()
    url = f"/api/v1/recordings/{first.recording_id}/consensus/"
    view = api(users["reviewer"]).get(url).json()
    assert sorted(a["username"] for a in view["annotations"]) == ["annotator", "annotator2"]
    assert view["regions"]["f1"] == pytest.approx(0.5) and view["consensus"] is None
    adopted = api(users["reviewer"]).post(url, {"annotation_id": first.id}, format="json")
    assert adopted.status_code == 200, adopted.json()
    assert adopted.json()["consensus"]["decision"] == "adopt"
    assert Annotation.objects.get(pk=first.pk).status == "accepted"
    assert Consensus.objects.get().annotation_id == first.id
    assert Review.objects.get().decision == "adopt"


def test_consensus_merge_saves_a_correction_version(api, overlap):
    project, users, labels = overlap
    b = Annotation.objects.filter(project_id=project.id, annotator=users["annotator2"]).order_by("recording_id").first()
    merged = [region("m1", 0, 1, labels["speech"], "hello"), region("m2", 2, 3, labels["speech"], "world")]
    response = api(users["reviewer"]).post(
        f"/api/v1/recordings/{b.recording_id}/consensus/", {"annotation_id": b.id, "regions": merged}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["consensus"]["decision"] == "merge"
    correction = AnnotationVersion.objects.get(annotation=b, kind="correction")
    assert correction.author == users["reviewer"] and [r["start"] for r in correction.regions] == [0, 2]
    assert AnnotationVersion.objects.filter(annotation=b, kind="submit").exists()  # the original stays


def test_consensus_refusals(api, overlap, review_project):
    project, users, _ = overlap
    a = Annotation.objects.filter(project_id=project.id).order_by("recording_id", "id").first()
    url = f"/api/v1/recordings/{a.recording_id}/consensus/"
    other = Annotation.objects.exclude(recording_id=a.recording_id).first()
    wrong = api(users["reviewer"]).post(url, {"annotation_id": other.id}, format="json")
    assert wrong.status_code == 400 and "of this recording" in wrong.json()["detail"]
    assert api(users["annotator"]).post(url, {"annotation_id": a.id}, format="json").status_code == 404
    assert not Consensus.objects.exists()


def test_agreement_query_count_does_not_grow_with_annotations(api, overlap, django_assert_max_num_queries):
    from tests.catalog.factories import RecordingFactory

    project, users, labels = overlap
    client = api(users["manager"])
    url = f"/api/v1/projects/{project.id}/agreement/"
    with django_assert_max_num_queries(20) as small:
        client.get(url)
    for _ in range(5):
        RecordingFactory(project=project, duration=10.0, status="ready")
    for _ in range(5):
        for user in (users["annotator"], users["annotator2"]):
            do_work(user, project, [region("x", 0, 1, labels["speech"], "more words")], [labels["good"]])
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(url).json()["overlap_units"] == 8
