"""The queue: own work first, overlap, expiring locks, skips, consent and roles."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts.models import Membership
from apps.annotation.models import Annotation, AnnotationSettings, Assignment
from apps.annotation.services import annotation_set_status, annotation_submit, queue_next
from tests.catalog.factories import RecordingFactory, SpeakerFactory

pytestmark = pytest.mark.django_db


def _next(client, project):
    return client.post(f"/api/v1/projects/{project.id}/queue/next/")


@pytest.fixture
def annotators(schema, make_user, api):
    """Three annotators of the project, as API clients."""
    project, users, _ = schema
    extra = [make_user(f"ann{i}") for i in (2, 3)]
    for user in extra:
        Membership.objects.create(user=user, project=project, role="annotator")
    people = [users["annotator"], *extra]
    return people, [api(u) for u in people]


def test_next_reuses_own_open_item_and_renews_lock(item, schema):
    client, annotation, _ = item
    project = schema[0]
    Assignment.objects.update(locked_until=timezone.now() - timedelta(minutes=1))
    again = _next(client, project)
    assert again.status_code == 200 and again.json()["annotation"]["id"] == annotation["id"]
    assert Assignment.objects.get().locked_until > timezone.now()
    assert Assignment.objects.count() == 1 and Annotation.objects.count() == 1


def test_overlap_one_gives_annotators_different_recordings(schema, recordings, annotators):
    project = schema[0]
    _, clients = annotators
    got = [_next(c, project).json()["recording"]["id"] for c in clients]
    assert sorted(got) == sorted(r.id for r in recordings)
    assert _next(clients[0], project).json()["recording"]["id"] == got[0]  # still their own


def test_overlap_two_shares_each_recording_between_two(schema, recordings, annotators):
    project = schema[0]
    AnnotationSettings.objects.create(project=project, overlap=2)
    people, clients = annotators
    first, second, third = (_next(c, project).json()["recording"]["id"] for c in clients)
    assert first == second == recordings[0].id
    assert third == recordings[1].id


def test_queue_is_empty_when_everything_is_taken(schema, annotators):
    project = schema[0]
    RecordingFactory(project=project, status="ready")
    _, clients = annotators
    assert _next(clients[0], project).status_code == 200
    empty = _next(clients[1], project)
    assert empty.status_code == 204 and empty.content == b""


def test_expired_lock_returns_abandoned_work(schema, annotators):
    project = schema[0]
    recording = RecordingFactory(project=project, status="ready")
    people, clients = annotators
    abandoned = _next(clients[0], project).json()["annotation"]
    assert _next(clients[1], project).status_code == 204  # locked
    Assignment.objects.filter(annotator=people[0]).update(locked_until=timezone.now() - timedelta(seconds=1))
    taken = _next(clients[1], project)
    assert taken.status_code == 200 and taken.json()["recording"]["id"] == recording.id
    assert Assignment.objects.get(annotator=people[0]).status == "cancelled"
    # The first annotator can no longer submit it (their saved versions stay in the history).
    late = clients[0].post(f"/api/v1/annotations/{abandoned['id']}/submit/", {"version": 0}, format="json")
    assert late.status_code == 409 and "went to another annotator" in late.json()["detail"]
    assert _next(clients[0], project).status_code == 204


def test_skip_is_recorded_and_item_goes_to_someone_else(schema, annotators):
    project = schema[0]
    recording = RecordingFactory(project=project, status="ready")
    people, clients = annotators
    annotation = _next(clients[0], project).json()["annotation"]
    response = clients[0].post(f"/api/v1/annotations/{annotation['id']}/skip/")
    assert response.status_code == 200 and response.json()["status"] == "skipped"
    assignment = Assignment.objects.get(annotator=people[0])
    assert assignment.status == "skipped" and assignment.finished_at is not None
    assert not Annotation.objects.filter(pk=annotation["id"]).exists()  # nothing was typed
    assert _next(clients[0], project).status_code == 204  # not back to the one who skipped
    assert _next(clients[1], project).json()["recording"]["id"] == recording.id


def test_skip_keeps_saved_work(item):
    client, annotation, _ = item
    aid = annotation["id"]
    assert (
        client.put(
            f"/api/v1/annotations/{aid}/",
            {"version": 0, "regions": [{"id": "x", "start": 0, "end": 1, "text": "typed"}]},
            format="json",
        ).status_code
        == 200
    )
    assert client.post(f"/api/v1/annotations/{aid}/skip/").status_code == 200
    assert Annotation.objects.get(pk=aid).versions.get().regions[0]["text"] == "typed"
    again = client.post(f"/api/v1/annotations/{aid}/skip/")
    assert again.status_code == 200  # still in progress; skipping twice is harmless
    submit = client.post(f"/api/v1/annotations/{aid}/submit/", {"version": 1}, format="json")
    assert submit.status_code == 400 and "skipped" in submit.json()["detail"]


def test_done_recordings_are_not_served_again_and_rejected_work_comes_first(schema, recordings):
    project, users, _ = schema
    annotator = users["annotator"]
    first, _ = queue_next(project_id=project.id, user=annotator)
    annotation_submit(annotation=first, user=annotator, version=0)
    second, _ = queue_next(project_id=project.id, user=annotator)
    assert second.recording_id != first.recording_id
    annotation_set_status(annotation=first, status="rejected", actor=users["reviewer"], comment="Missed a word")
    back, recording = queue_next(project_id=project.id, user=annotator)
    assert back.pk == first.pk and back.status == "rejected"
    assert recording.id == first.recording_id
    assert Assignment.objects.get(recording_id=first.recording_id).status == "open"


def test_only_recordings_usable_for_annotation_are_served(schema):
    project, users, _ = schema
    RecordingFactory(project=project, status="ready", speaker=SpeakerFactory(project=project, consent=False))
    RecordingFactory(project=project, status="failed")
    assert queue_next(project_id=project.id, user=users["annotator"]) is None
    usable = RecordingFactory(project=project, status="ready")
    annotation, recording = queue_next(project_id=project.id, user=users["annotator"])
    assert recording.id == usable.id


@pytest.mark.parametrize("role, code", [("viewer", 403), ("reviewer", 403), ("manager", 200)])
def test_queue_roles(schema, recordings, api, role, code):
    project, users, _ = schema
    response = _next(api(users[role]), project)
    assert response.status_code == code
    if code == 403:
        assert "annotator" in response.json()["detail"]
        assert not Assignment.objects.exists()


def test_queue_of_another_project_is_404(schema, recordings, api, make_user):
    from tests.catalog.factories import ProjectFactory

    other = ProjectFactory()
    RecordingFactory(project=other, status="ready")
    response = _next(api(schema[1]["annotator"]), other)
    assert response.status_code == 404 and response.json()["detail"] == "No such project."
    assert not Assignment.objects.exists()
