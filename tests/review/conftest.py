"""Review fixtures: a project with labels, recordings and helpers that do annotators' work through services."""

import pytest

from apps.accounts.models import Membership
from apps.annotation.models import Label
from apps.annotation.services import annotation_save, annotation_submit, labels_set, queue_next
from tests.catalog.factories import RecordingFactory


@pytest.fixture
def review_project(project_with_roles, make_user):
    """(project, users, labels): roles plus a second annotator and reviewer; labels speech/noise, clip good/bad."""
    project, users = project_with_roles
    for name, role in (("annotator2", "annotator"), ("reviewer2", "reviewer")):
        users[name] = make_user(name)
        Membership.objects.create(user=users[name], project=project, role=role)
    labels_set(
        project_id=project.id,
        region_labels=[{"name": "speech"}, {"name": "noise"}],
        clip_labels=[{"name": "good"}, {"name": "bad"}],
    )
    labels = {lb.name: lb.id for lb in Label.objects.filter(project_id=project.id)}
    return project, users, labels


@pytest.fixture
def recordings(review_project):
    project, _, _ = review_project
    return [RecordingFactory(project=project, duration=10.0, frames=160000, status="ready") for _ in range(4)]


def do_work(user, project, regions, clip_labels=(), submit=True):
    """The annotator takes the next item, saves ``regions`` and (by default) submits; returns the annotation."""
    annotation, _ = queue_next(project_id=project.id, user=user)
    annotation = annotation_save(
        annotation=annotation, user=user, version=annotation.version, regions=regions, clip_labels=list(clip_labels)
    )
    if submit:
        annotation = annotation_submit(annotation=annotation, user=user, version=annotation.version)
    return annotation


def region(uid, start, end, label=None, text=""):
    return {
        "id": uid,
        "start": start,
        "end": end,
        "channel": None,
        "label": label,
        "text": text,
        "attributes": {},
        "fmin": None,
        "fmax": None,
    }


@pytest.fixture
def overlap(review_project, recordings):
    """Two annotators on recordings 1-3 (overlap 2). Hand-worked numbers are in each test."""
    project, users, labels = review_project
    labels_set(project_id=project.id, overlap=2)
    sp, no, good, bad = labels["speech"], labels["noise"], labels["good"], labels["bad"]
    a, b = users["annotator"], users["annotator2"]
    # rec1: A [0-1 speech "hello", 2-3 speech "world"]; B [0-1 speech "hello", 2.5-3.5 noise "word"]
    do_work(a, project, [region("a1", 0, 1, sp, "hello"), region("a2", 2, 3, sp, "world")], [good])
    do_work(b, project, [region("b1", 0, 1, sp, "hello"), region("b2", 2.5, 3.5, no, "word")], [good])
    # rec2, rec3: identical regions "hi"; clip labels good/bad then bad/bad
    do_work(a, project, [region("a3", 0, 1, sp, "hi")], [good])
    do_work(b, project, [region("b3", 0, 1, sp, "hi")], [bad])
    do_work(a, project, [region("a4", 0, 1, sp, "hi")], [bad])
    do_work(b, project, [region("b4", 0, 1, sp, "hi")], [bad])
    return project, users, labels
