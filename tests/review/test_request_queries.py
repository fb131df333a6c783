"""Submit, review next and review decisions answer from what they read and wrote under their locks, not from a
second read: each answer equals a fresh read of the annotation, the rows they write are the same, and the
number of queries of each request is bounded (the load mix runs them at every submission)."""

import pytest

from apps.annotation.models import Annotation, Assignment, AssignmentStatus
from apps.annotation.selectors import annotation_get
from apps.annotation.serializers import AnnotationOutput
from apps.annotation.services import labels_set
from apps.catalog.serializers import RecordingOutput
from apps.review.models import ReviewSample
from tests.review.conftest import do_work, region

pytestmark = pytest.mark.django_db

# Queries per request inside a test's transaction (savepoints count; outside one they are BEGIN/COMMIT).
# Submit 9 (was 15: the assignment read twice, the answer read again after the snapshot read the content);
# review next 14, drawing the sample (was 19: the reviewer's own claim and the queue were two set-wise queries, the
# sample was read before it was inserted, and the annotation was read again with the set-wise consent query, then
# its speaker, language and annotator one by one); a decision 14 (was 23: content prefetched and unused, the
# annotation locked twice, read again after, the sample read again to end the claim).
SUBMIT_QUERIES = 9
REVIEW_NEXT_QUERIES = 14
REVIEW_ACCEPT_QUERIES = 14


def _fresh(annotation_id) -> dict:
    return AnnotationOutput(Annotation.objects.prefetch_related("regions", "clip_labels").get(pk=annotation_id)).data


@pytest.fixture
def saved(review_project, recordings):
    """An annotation with two regions and two clip labels, saved and not submitted."""
    project, users, labels = review_project
    labels_set(project_id=project.id, clip_multi=True)
    regions = [region("r2", 2.0, 3.0, labels["noise"], "b"), region("r1", 1.0, 2.0, labels["speech"], "a")]
    annotation = do_work(users["annotator"], project, regions, [labels["bad"], labels["good"]], submit=False)
    return project, users, labels, annotation


def test_submit_answers_the_annotation_as_a_fresh_read_and_ends_the_assignment(
    api, saved, django_assert_max_num_queries
):
    project, users, _, annotation = saved
    with django_assert_max_num_queries(SUBMIT_QUERIES):
        response = api(users["annotator"]).post(
            f"/api/v1/annotations/{annotation.id}/submit/", {"version": annotation.version}, format="json"
        )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "submitted" and body["version"] == annotation.version + 1
    assert [r["id"] for r in body["regions"]] == ["r1", "r2"] and len(body["clip_labels"]) == 2
    assert body == _fresh(annotation.id)
    assignment = Assignment.objects.get(recording_id=annotation.recording_id, annotator=users["annotator"])
    assert assignment.status == AssignmentStatus.DONE and assignment.locked_until is None
    assert assignment.finished_at.isoformat() == body["submitted_at"] and assignment.updated_at >= assignment.created_at


def test_submit_without_an_assignment_row_creates_it_done(api, saved):
    project, users, _, annotation = saved
    Assignment.objects.filter(recording_id=annotation.recording_id).delete()
    response = api(users["annotator"]).post(
        f"/api/v1/annotations/{annotation.id}/submit/", {"version": annotation.version}, format="json"
    )
    assert response.status_code == 200 and response.json() == _fresh(annotation.id)
    assignment = Assignment.objects.get(recording_id=annotation.recording_id, annotator=users["annotator"])
    assert (assignment.status, assignment.project_id) == (AssignmentStatus.DONE, project.id)


def test_review_next_answers_what_the_consent_checked_read_gives(api, saved, django_assert_max_num_queries):
    project, users, _, annotation = saved
    api(users["annotator"]).post(
        f"/api/v1/annotations/{annotation.id}/submit/", {"version": annotation.version}, format="json"
    )
    with django_assert_max_num_queries(REVIEW_NEXT_QUERIES):
        response = api(users["reviewer"]).post(f"/api/v1/projects/{project.id}/review/next/")
    assert response.status_code == 200, response.content
    body = response.json()
    checked = annotation_get(users["reviewer"], annotation.id)  # the set-wise consent read the view used to make
    assert body["annotation"] == AnnotationOutput(checked).data
    assert body["recording"] == RecordingOutput(checked.recording).data
    assert body["annotator_name"] == "annotator"
    assert ReviewSample.objects.get(annotation_id=annotation.id).claimed_by == users["reviewer"]


@pytest.mark.parametrize("decision", ["accept", "reject"])
def test_a_decision_answers_the_annotation_as_a_fresh_read_and_ends_the_claim(
    api, saved, decision, django_assert_max_num_queries
):
    project, users, _, annotation = saved
    api(users["annotator"]).post(
        f"/api/v1/annotations/{annotation.id}/submit/", {"version": annotation.version}, format="json"
    )
    reviewer = api(users["reviewer"])
    assert reviewer.post(f"/api/v1/projects/{project.id}/review/next/").status_code == 200  # claims it
    with django_assert_max_num_queries(REVIEW_ACCEPT_QUERIES):
        response = reviewer.post(
            f"/api/v1/annotations/{annotation.id}/review/",
            {"decision": decision, "comment": "  Fix r2  "},
            format="json",
        )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == {"accept": "accepted", "reject": "rejected"}[decision]
    assert body["review_comment"] == "Fix r2" and body["version"] == annotation.version + 2
    assert body == _fresh(annotation.id)
    sample = ReviewSample.objects.get(annotation_id=annotation.id)
    assert (sample.selected, sample.claimed_by, sample.claimed_until) == (True, None, None)


def test_a_decision_without_a_sample_row_records_one(api, saved):
    """Reviewed straight from the list (no review next, so no sample drawn): the decision writes the sample."""
    project, users, _, annotation = saved
    api(users["annotator"]).post(
        f"/api/v1/annotations/{annotation.id}/submit/", {"version": annotation.version}, format="json"
    )
    assert not ReviewSample.objects.filter(annotation_id=annotation.id).exists()
    response = api(users["reviewer"]).post(
        f"/api/v1/annotations/{annotation.id}/review/", {"decision": "accept"}, format="json"
    )
    assert response.status_code == 200 and response.json() == _fresh(annotation.id)
    sample = ReviewSample.objects.get(annotation_id=annotation.id)
    assert (sample.selected, sample.claimed_by) == (True, None)


def test_review_next_hands_back_the_reviewers_live_claim_before_older_submissions(api, review_project, recordings):
    """One query picks both: the reviewer's own live claim first (even when older work waits), then the oldest."""
    from datetime import timedelta

    from django.utils import timezone

    project, users, labels = review_project
    older, newer = (do_work(users["annotator"], project, [region("r", 0.0, 1.0, labels["speech"])]) for _ in range(2))
    url = f"/api/v1/projects/{project.id}/review/next/"
    assert api(users["reviewer"]).post(url).json()["annotation"]["id"] == older.id
    # The reviewer's claim moves to the newer submission (as if handed out earlier); the older one is free again.
    ReviewSample.objects.filter(annotation=older).update(claimed_by=None, claimed_until=None)
    until = timezone.now() + timedelta(minutes=5)
    ReviewSample.objects.create(annotation=newer, selected=True, claimed_by=users["reviewer"], claimed_until=until)
    assert api(users["reviewer"]).post(url).json()["annotation"]["id"] == newer.id
    assert api(users["reviewer2"]).post(url).json()["annotation"]["id"] == older.id  # others: the oldest free one
    ReviewSample.objects.filter(annotation=newer).update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert api(users["reviewer"]).post(url).json()["annotation"]["id"] == newer.id  # expired, but still free
