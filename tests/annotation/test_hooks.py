"""Consent hooks, the review helpers' services, and the selector other apps read through."""

import pytest

from apps.annotation.models import Annotation, AnnotationVersion, Assignment, Region
from apps.annotation.selectors import annotations_for_recordings
from apps.annotation.services import (
    annotation_save,
    annotation_save_version,
    annotation_set_status,
    annotation_submit,
    annotations_redact_for_recordings,
    assignments_cancel_for_recordings,
    queue_next,
)
from apps.core.errors import DomainError
from tests.annotation.conftest import region
from tests.catalog.factories import RecordingFactory

pytestmark = pytest.mark.django_db


def _annotate(project, user, labels, text="secret words", submit=True):
    annotation, _ = queue_next(project_id=project.id, user=user)
    annotation = Annotation.objects.select_related("recording").get(pk=annotation.pk)
    annotation_save(
        annotation=annotation,
        user=user,
        version=0,
        clip_labels=[labels["clean"].id],
        regions=[
            region(
                "a",
                0.0,
                1.0,
                label=labels["speech"].id,
                text=text,
                attributes={"note": "Alice said", "quality": "good"},
            ),
            region("b", 2.0, 3.0, text=text + " again"),
        ],
    )
    if submit:
        annotation_submit(annotation=annotation, user=user, version=1)
    return Annotation.objects.select_related("recording").get(pk=annotation.pk)


def test_cancel_open_assignments_only_on_given_recordings(schema, recordings, make_user):
    from apps.accounts.models import Membership

    project, users, labels = schema
    done = _annotate(project, users["annotator"], labels)
    other = make_user("second")
    Membership.objects.create(user=other, project=project, role="annotator")
    open_item, _ = queue_next(project_id=project.id, user=other)
    untouched, _ = queue_next(project_id=project.id, user=users["manager"])
    count = assignments_cancel_for_recordings(recording_ids=[done.recording_id, open_item.recording_id])
    assert count == 1
    statuses = dict(Assignment.objects.values_list("recording_id", "status"))
    assert statuses == {done.recording_id: "done", open_item.recording_id: "cancelled", untouched.recording_id: "open"}


def test_redact_blanks_text_and_free_text_in_rows_and_history(schema, recordings):
    project, users, labels = schema
    hit = _annotate(project, users["annotator"], labels, text="my name is Alice")
    kept = _annotate(project, users["annotator"], labels, text="keep me")
    changed = annotations_redact_for_recordings(recording_ids=[hit.recording_id])
    assert changed == 2 + 2  # two regions, two versions (save and submit)
    for r in Region.objects.filter(annotation=hit):
        assert r.text == "" and r.attributes.get("note", "") == ""
    assert Region.objects.get(annotation=hit, uid="a").attributes == {"note": "", "quality": "good"}
    for version in AnnotationVersion.objects.filter(annotation=hit):
        assert all(r["text"] == "" for r in version.regions)
        assert "Alice" not in str(version.regions)
    assert Region.objects.get(annotation=kept, uid="a").text == "keep me"
    assert "keep me" in str(AnnotationVersion.objects.filter(annotation=kept).first().regions)
    assert annotations_redact_for_recordings(recording_ids=[hit.recording_id]) == 0  # idempotent


def test_reviewer_decisions_keep_history(schema, recordings):
    project, users, labels = schema
    annotation = _annotate(project, users["annotator"], labels)
    with pytest.raises(DomainError, match="needs a comment"):
        annotation_set_status(annotation=annotation, status="rejected", actor=users["reviewer"])
    rejected = annotation_set_status(
        annotation=annotation, status="rejected", actor=users["reviewer"], comment="Second region is silence"
    )
    assert rejected.status == "rejected" and rejected.review_comment == "Second region is silence"
    assert rejected.version == 3
    corrected = annotation_save_version(
        annotation=rejected, regions=[region("a", 0.0, 1.2, text="fixed")], clip_labels=[], author=users["reviewer"]
    )
    assert corrected.version == 4 and [r.text for r in corrected.regions.all()] == ["fixed"]
    history = list(AnnotationVersion.objects.filter(annotation=annotation).values_list("version", "kind", "author"))
    assert history == [
        (1, "save", users["annotator"].id),
        (2, "submit", users["annotator"].id),
        (3, "review", users["reviewer"].id),
        (4, "correction", users["reviewer"].id),
    ]
    original = AnnotationVersion.objects.get(annotation=annotation, version=2).regions
    assert [r["text"] for r in original] == ["secret words", "secret words again"]  # original kept


def test_correction_is_validated_and_in_progress_work_cannot_be_reviewed(schema, recordings):
    project, users, labels = schema
    annotation = _annotate(project, users["annotator"], labels, submit=False)
    with pytest.raises(DomainError, match="still in progress"):
        annotation_set_status(annotation=annotation, status="accepted", actor=users["reviewer"])
    with pytest.raises(DomainError, match="past the end of the recording"):
        annotation_save_version(
            annotation=annotation, regions=[region("z", 9.0, 11.0)], clip_labels=[], author=users["reviewer"]
        )
    assert Annotation.objects.get(pk=annotation.pk).version == 1
    assert AnnotationVersion.objects.filter(annotation=annotation).count() == 1


def test_annotations_for_recordings_prefetches(schema, django_assert_num_queries):
    project, users, labels = schema
    for _ in range(4):
        RecordingFactory(project=project, status="ready", duration=10.0)
    made = [_annotate(project, users["annotator"], labels) for _ in range(4)]
    ids = [a.recording_id for a in made]
    with django_assert_num_queries(3):  # annotations, regions, clip labels
        rows = list(annotations_for_recordings(ids, statuses=["submitted"]))
        assert [len(a.regions.all()) for a in rows] == [2, 2, 2, 2]
        assert [[lb.id for lb in a.clip_labels.all()] for a in rows] == [[labels["clean"].id]] * 4
    assert list(annotations_for_recordings(ids, statuses=["accepted"])) == []
