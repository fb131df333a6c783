"""The queue and review: QA-excluded recordings stay out, gold recordings reach every annotator."""

import pytest

from apps.accounts.models import Membership
from apps.annotation.models import AnnotationSettings, Assignment
from apps.annotation.services import annotation_submit, queue_next
from apps.review.models import GoldItem, QAResult, QASettings
from apps.review.services.qa import qa_result_accept
from tests.catalog.factories import RecordingFactory

pytestmark = pytest.mark.django_db


def _flag(recording):
    return QAResult.objects.create(recording=recording, project=recording.project, flags=",clipping,", flagged=True)


def _gold(recording):
    return GoldItem.objects.create(
        project=recording.project, recording=recording, reference={"clip_labels": [], "regions": [], "transcript": ""}
    )


@pytest.fixture
def people(schema, make_user):
    """Four annotators of the project."""
    project, users, _ = schema
    extra = [make_user(f"gold{i}") for i in range(3)]
    for user in extra:
        Membership.objects.create(user=user, project=project, role="annotator")
    return [users["annotator"], *extra]


def _drain(project, user):
    """Every recording id the queue hands this annotator, submitting each item so the next one comes."""
    got = []
    while (found := queue_next(project_id=project.id, user=user)) is not None:
        annotation, recording = found
        got.append(recording.id)
        annotation_submit(annotation=annotation, user=user, version=0)
    return got


def test_flagged_recording_is_never_handed_out(schema, people):
    project = schema[0]
    flagged, clean = (RecordingFactory(project=project, status="ready") for _ in range(2))
    _flag(flagged)
    for user in people:
        assert flagged.id not in _drain(project, user)
    assert not Assignment.objects.filter(recording=flagged).exists()
    assert Assignment.objects.filter(recording=clean).count() == 1  # overlap 1: the control did go out


def test_flagged_open_work_is_not_returned_either(schema):
    project, users, _ = schema
    recording = RecordingFactory(project=project, status="ready")
    annotation, _ = queue_next(project_id=project.id, user=users["annotator"])
    assert annotation.recording_id == recording.id
    _flag(recording)  # QA finished after the item was handed out
    assert queue_next(project_id=project.id, user=users["annotator"]) is None


def test_accepted_flagged_recording_is_handed_out(schema):
    project, users, _ = schema
    recording = RecordingFactory(project=project, status="ready")
    result = _flag(recording)
    assert queue_next(project_id=project.id, user=users["annotator"]) is None
    qa_result_accept(result=result, user=users["manager"], note="Clipping is in the applause only.")
    annotation, served = queue_next(project_id=project.id, user=users["annotator"])
    assert served.id == recording.id and annotation.recording_id == recording.id


def test_flagged_recording_is_served_when_project_does_not_exclude(schema):
    project, users, _ = schema
    recording = RecordingFactory(project=project, status="ready")
    _flag(recording)
    QASettings.objects.create(project=project, exclude_flagged=False)
    assert queue_next(project_id=project.id, user=users["annotator"])[1].id == recording.id


def test_flag_in_another_project_does_not_matter(schema):
    from tests.catalog.factories import ProjectFactory

    project, users, _ = schema
    recording = RecordingFactory(project=project, status="ready")
    other = ProjectFactory()
    _flag(RecordingFactory(project=other, status="ready"))
    assert queue_next(project_id=project.id, user=users["annotator"])[1].id == recording.id


@pytest.mark.parametrize("overlap", [1, 2])
def test_gold_reaches_every_annotator_beyond_the_overlap(schema, people, overlap):
    project = schema[0]
    AnnotationSettings.objects.create(project=project, overlap=overlap)
    ordinary = RecordingFactory(project=project, status="ready")
    gold = RecordingFactory(project=project, status="ready")
    _gold(gold)
    served = {user.id: _drain(project, user) for user in people}
    for user in people:
        assert served[user.id].count(gold.id) == 1  # every annotator, at most once
    assert Assignment.objects.filter(recording=gold, status="done").count() == len(people)
    # Ordinary recordings keep the overlap.
    assert Assignment.objects.filter(recording=ordinary).count() == overlap
    assert sum(ids.count(ordinary.id) for ids in served.values()) == overlap


def test_gold_item_is_not_served_twice_to_one_annotator(schema):
    project, users, _ = schema
    gold = RecordingFactory(project=project, status="ready")
    _gold(gold)
    annotation, recording = queue_next(project_id=project.id, user=users["annotator"])
    assert recording.id == gold.id
    annotation_submit(annotation=annotation, user=users["annotator"], version=0)
    assert queue_next(project_id=project.id, user=users["annotator"]) is None
    assert Assignment.objects.filter(recording=gold, annotator=users["annotator"]).count() == 1


def test_flagged_gold_recording_stays_out(schema):
    project, users, _ = schema
    recording = RecordingFactory(project=project, status="ready")
    _gold(recording)
    _flag(recording)
    assert queue_next(project_id=project.id, user=users["annotator"]) is None


def test_queue_next_query_count_does_not_grow_with_flagged_or_gold(schema, people, django_assert_max_num_queries):
    project = schema[0]

    def fill(n):
        for _ in range(n):
            _flag(RecordingFactory(project=project, status="ready"))
            _gold(RecordingFactory(project=project, status="ready"))
        RecordingFactory(project=project, status="ready")

    fill(1)
    with django_assert_max_num_queries(40) as few:
        assert queue_next(project_id=project.id, user=people[0]) is not None
    fill(15)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert queue_next(project_id=project.id, user=people[1]) is not None
