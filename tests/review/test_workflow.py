"""Review workflow: every transition and the illegal ones, permissions, history across corrections, sampling."""

import pytest

from apps.annotation.models import Annotation, AnnotationVersion
from apps.annotation.services import annotation_submit, queue_next
from apps.review.models import QASettings, Review, ReviewSample
from apps.review.services import review_sampled
from tests.review.conftest import do_work, region

pytestmark = pytest.mark.django_db


@pytest.fixture
def submitted(review_project, recordings):
    project, users, labels = review_project
    annotation = do_work(users["annotator"], project, [region("r1", 1.0, 2.0, labels["speech"], "hello")])
    return project, users, labels, annotation


def _review(api, user, annotation, **body):
    return api(user).post(f"/api/v1/annotations/{annotation.id}/review/", body, format="json")


def test_accept_moves_submitted_to_accepted_and_records_the_decision(api, submitted):
    project, users, _, annotation = submitted
    response = _review(api, users["reviewer"], annotation, decision="accept", comment="")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "accepted"
    review = Review.objects.get()
    assert (review.decision, review.reviewer, review.reviewed_version) == (
        "accept",
        users["reviewer"],
        annotation.version,
    )


def test_reject_needs_a_comment_and_returns_work_to_its_annotator_who_resubmits(api, submitted):
    project, users, _, annotation = submitted
    refused = _review(api, users["reviewer"], annotation, decision="reject", comment="  ")
    assert refused.status_code == 400 and "needs a comment" in refused.json()["detail"]
    assert Annotation.objects.get(pk=annotation.pk).status == "submitted" and not Review.objects.exists()

    response = _review(api, users["reviewer"], annotation, decision="reject", comment="Region 1 is noise")
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    assert response.json()["review_comment"] == "Region 1 is noise"
    # back to the annotator: first in their queue, with the comment
    again, _ = queue_next(project_id=project.id, user=users["annotator"])
    assert again.pk == annotation.pk and again.review_comment == "Region 1 is noise"
    resubmitted = annotation_submit(annotation=again, user=users["annotator"], version=again.version)
    assert resubmitted.status == "submitted"
    # and it is reviewable again
    assert _review(api, users["reviewer"], annotation, decision="accept").json()["status"] == "accepted"
    assert list(Review.objects.values_list("decision", flat=True)) == ["reject", "accept"]


def test_correct_saves_a_new_version_by_the_reviewer_and_keeps_history(api, submitted):
    project, users, labels, annotation = submitted
    before = annotation.version
    corrected = [region("r1", 1.2, 2.0, labels["noise"], "hello"), region("r2", 3.0, 4.0, labels["speech"], "world")]
    response = _review(api, users["reviewer"], annotation, decision="correct", comment="boundary", regions=corrected)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "accepted" and [r["start"] for r in body["regions"]] == [1.2, 3.0]
    versions = list(AnnotationVersion.objects.filter(annotation=annotation).order_by("version"))
    kinds = [(v.kind, v.author_id) for v in versions]
    assert ("submit", users["annotator"].id) in kinds and ("correction", users["reviewer"].id) in kinds
    original = next(v for v in versions if v.version == before)
    assert [r["start"] for r in original.regions] == [1.0]  # the annotator's version stays in the history
    correction = next(v for v in versions if v.kind == "correction")
    assert correction.created_at >= original.created_at
    history = api(users["reviewer"]).get(f"/api/v1/annotations/{annotation.id}/reviews/").json()
    assert history[0]["decision"] == "correct" and history[0]["reviewer"] == "reviewer"
    assert history[0]["reviewed_version"] == before and history[0]["resulting_version"] == body["version"]


def test_invalid_correction_is_400_and_writes_nothing(api, submitted):
    project, users, labels, annotation = submitted
    bad = [region("r1", 5.0, 2.0, labels["speech"])]
    response = _review(api, users["reviewer"], annotation, decision="correct", regions=bad)
    assert response.status_code == 400 and response.json()["detail"]
    fresh = Annotation.objects.get(pk=annotation.pk)
    assert (fresh.status, fresh.version) == ("submitted", annotation.version)
    assert not Review.objects.exists()
    assert not AnnotationVersion.objects.filter(annotation=annotation, kind="correction").exists()


@pytest.mark.parametrize("first", ["accept", "reject"])
def test_reviewing_a_decided_annotation_is_409(api, submitted, first):
    _, users, _, annotation = submitted
    assert _review(api, users["reviewer"], annotation, decision=first, comment="x").status_code == 200
    again = _review(api, users["reviewer2"], annotation, decision="accept")
    assert again.status_code == 409
    assert "only submitted annotations can be reviewed" in again.json()["detail"]


def test_in_progress_work_cannot_be_reviewed(api, review_project, recordings):
    project, users, labels = review_project
    annotation = do_work(users["annotator"], project, [region("a", 0.0, 1.0)], submit=False)
    response = _review(api, users["reviewer"], annotation, decision="accept")
    assert response.status_code == 409 and "in progress" in response.json()["detail"]


def test_unknown_decision_is_400(api, submitted):
    _, users, _, annotation = submitted
    response = _review(api, users["reviewer"], annotation, decision="approve")
    assert response.status_code == 400 and "decision must be accept, reject or correct" in response.json()["detail"]


def test_annotators_cannot_review(api, submitted):
    project, users, _, annotation = submitted
    own = _review(api, users["annotator"], annotation, decision="accept")
    assert own.status_code == 403 and "reviewer" in own.json()["detail"]
    other = _review(api, users["annotator2"], annotation, decision="accept")
    assert other.status_code == 404  # another annotator's work is not even visible
    assert api(users["annotator"]).post(f"/api/v1/projects/{project.id}/review/next/").status_code == 403
    assert Annotation.objects.get(pk=annotation.pk).status == "submitted"


def test_manager_cannot_review_own_work_and_queue_skips_it(api, review_project, recordings):
    project, users, labels = review_project
    own = do_work(users["manager"], project, [region("m", 0.0, 1.0)])
    response = _review(api, users["manager"], own, decision="accept")
    assert response.status_code == 403 and "your own annotation" in response.json()["detail"]
    assert api(users["manager"]).post(f"/api/v1/projects/{project.id}/review/next/").status_code == 204
    nxt = api(users["reviewer"]).post(f"/api/v1/projects/{project.id}/review/next/")
    assert nxt.status_code == 200 and nxt.json()["annotation"]["id"] == own.id
    assert nxt.json()["recording"]["id"] == own.recording_id


def test_review_queue_hands_out_oldest_submitted_then_204(api, review_project, recordings):
    project, users, labels = review_project
    first = do_work(users["annotator"], project, [region("a", 0.0, 1.0)])
    second = do_work(users["annotator2"], project, [region("b", 0.0, 1.0)])
    do_work(users["annotator"], project, [region("c", 0.0, 1.0)], submit=False)  # in progress: never handed out
    client = api(users["reviewer"])
    url = f"/api/v1/projects/{project.id}/review/next/"
    assert client.post(url).json()["annotation"]["id"] == first.id
    _review(api, users["reviewer"], first, decision="accept")
    assert client.post(url).json()["annotation"]["id"] == second.id
    _review(api, users["reviewer"], second, decision="reject", comment="redo")
    assert client.post(url).status_code == 204


def test_sampling_reviews_a_fraction_and_accepts_the_rest(api, review_project, make_user):
    from tests.catalog.factories import RecordingFactory

    project, users, labels = review_project
    QASettings.objects.create(project=project, review_fraction=0.3)
    for _ in range(30):
        RecordingFactory(project=project, duration=10.0, status="ready")
    made = [do_work(users["annotator"], project, [region("a", 0.0, 1.0)]) for _ in range(30)]
    expected = {a.id for a in made if review_sampled(annotation=a, fraction=0.3)}
    assert 0 < len(expected) < 30  # the seeded draw really is a fraction
    handed = []
    client = api(users["reviewer"])
    while (response := client.post(f"/api/v1/projects/{project.id}/review/next/")).status_code == 200:
        annotation = Annotation.objects.get(pk=response.json()["annotation"]["id"])
        handed.append(annotation.id)
        _review(api, users["reviewer"], annotation, decision="accept")
    assert set(handed) == expected
    statuses = set(Annotation.objects.filter(id__in=[a.id for a in made]).values_list("status", flat=True))
    assert statuses == {"accepted"}
    assert ReviewSample.objects.filter(selected=False).count() == 30 - len(expected)


def test_review_sampled_extremes():
    class A:
        project_id, annotator_id, id = 1, 2, 3

    assert review_sampled(annotation=A, fraction=1.0) is True
    assert review_sampled(annotation=A, fraction=0.0) is False


def test_concurrent_reviewers_get_different_items_and_a_reload_gets_the_same(api, review_project, recordings):
    project, users, _ = review_project
    first = do_work(users["annotator"], project, [region("a", 0.0, 1.0)])
    second = do_work(users["annotator2"], project, [region("b", 0.0, 1.0)])
    url = f"/api/v1/projects/{project.id}/review/next/"
    one, two = api(users["reviewer"]), api(users["reviewer2"])
    assert one.post(url).json()["annotation"]["id"] == first.id
    assert two.post(url).json()["annotation"]["id"] == second.id
    assert one.post(url).json()["annotation"]["id"] == first.id  # reload: same item back
    assert api(users["manager"]).post(url).status_code == 204  # both are taken
    taken = _review(api, users["reviewer2"], first, decision="accept")
    assert taken.status_code == 409 and "Another reviewer has this annotation open" in taken.json()["detail"]
    assert Annotation.objects.get(pk=first.pk).status == "submitted"
    assert _review(api, users["reviewer"], first, decision="accept").status_code == 200
    assert ReviewSample.objects.get(annotation=first).claimed_by is None


def test_an_item_decided_between_the_queue_read_and_the_claim_is_not_handed_out(
    api, review_project, recordings, monkeypatch
):
    """Two reviewers race: the queue reads its batch, another reviewer accepts the first item (which frees its
    claim), then the claim is made. The item must be passed over, not handed out already accepted."""
    from apps.review.services import workflow

    project, users, _ = review_project
    first = do_work(users["annotator"], project, [region("a", 0.0, 1.0)])
    second = do_work(users["annotator2"], project, [region("b", 0.0, 1.0)])
    url = f"/api/v1/projects/{project.id}/review/next/"
    assert api(users["reviewer2"]).post(url).json()["annotation"]["id"] == first.id
    claim = workflow._claim
    raced = []

    def accept_first_then_claim(annotation_id, user, now):
        if not raced:  # the other reviewer decides just after this one's batch was read
            raced.append(annotation_id)
            assert _review(api, users["reviewer2"], first, decision="accept").status_code == 200
        return claim(annotation_id, user, now)

    monkeypatch.setattr(workflow, "_claim", accept_first_then_claim)
    # reviewer2 holds no live claim, so reviewer's batch starts with `first`, still submitted when it is read
    ReviewSample.objects.filter(annotation=first).update(claimed_by=None, claimed_until=None)
    answer = api(users["reviewer"]).post(url)
    assert raced == [first.id]
    assert answer.status_code == 200 and answer.json()["annotation"]["id"] == second.id
    assert Annotation.objects.get(pk=first.pk).status == "accepted"


def test_an_expired_claim_frees_the_item(api, review_project, recordings):
    from datetime import timedelta

    from django.utils import timezone

    project, users, _ = review_project
    first = do_work(users["annotator"], project, [region("a", 0.0, 1.0)])
    url = f"/api/v1/projects/{project.id}/review/next/"
    assert api(users["reviewer"]).post(url).json()["annotation"]["id"] == first.id
    assert api(users["reviewer2"]).post(url).status_code == 204
    ReviewSample.objects.filter(annotation=first).update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert api(users["reviewer2"]).post(url).json()["annotation"]["id"] == first.id


def test_review_next_query_count_does_not_grow_with_the_queue(api, review_project, django_assert_max_num_queries):
    from tests.catalog.factories import RecordingFactory

    project, users, _ = review_project
    for _ in range(12):
        RecordingFactory(project=project, duration=10.0, status="ready")
    do_work(users["annotator"], project, [region("a", 0.0, 1.0)])
    url = f"/api/v1/projects/{project.id}/review/next/"
    with django_assert_max_num_queries(40) as small:
        assert api(users["reviewer"]).post(url).status_code == 200
    for _ in range(10):
        do_work(users["annotator"], project, [region("a", 0.0, 1.0)])
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert api(users["reviewer2"]).post(url).status_code == 200
