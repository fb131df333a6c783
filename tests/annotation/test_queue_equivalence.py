"""The queue's cheaper queries give the same answers as the former ones, over random queue states.

``queue_progress`` became one query (each usable recording with this annotator's assignment status and its taken
slots) instead of an own-work aggregate plus a count of open items; ``queue_next`` reads the annotator's own work
without the consent query and asks consent of just those recordings. The references below are the former
code, kept here as the oracle.
"""

import random
from datetime import timedelta

import pytest
from django.db.models import BooleanField, Count, Exists, OuterRef, Q, Value
from django.utils import timezone

from apps.accounts.models import Membership
from apps.annotation.models import Annotation, AnnotationSettings, AnnotationStatus, Assignment, AssignmentStatus
from apps.annotation.selectors import ANNOTATE_ROLES
from apps.annotation.services import queue_next, queue_progress
from apps.catalog.models import RecordingStatus
from apps.consent.models import RecordingWithdrawal
from apps.consent.purposes import Purpose
from apps.consent.selectors import recordings_usable
from apps.core.hooks import QUEUE_EXCLUDED_IDS, QUEUE_GOLD_IDS, hook_call
from apps.review.models import GoldItem, QAResult
from tests.catalog.factories import RecordingFactory, SpeakerFactory

pytestmark = pytest.mark.django_db


def _usable(user, project_id):
    usable = recordings_usable(user, Purpose.ANNOTATE, roles=ANNOTATE_ROLES).filter(project_id=project_id)
    for excluded_ids in hook_call(QUEUE_EXCLUDED_IDS, project_id=project_id):
        usable = usable.exclude(id__in=excluded_ids)
    return usable


def _former_progress(project_id, user, overlap):
    """queue_progress as it was: own open/done among usable recordings, plus the open items counted apart."""
    now = timezone.now()
    usable = _usable(user, project_id)
    own = Assignment.objects.filter(project_id=project_id, annotator=user, recording__in=usable.values("id")).aggregate(
        open=Count("id", filter=Q(status=AssignmentStatus.OPEN)),
        done=Count("id", filter=Q(status=AssignmentStatus.DONE)),
    )
    gold: Value | Exists = Value(False, output_field=BooleanField())
    for gold_ids in hook_call(QUEUE_GOLD_IDS, project_id=project_id):
        gold = Exists(gold_ids.filter(recording_id=OuterRef("pk")))
    items = (
        usable.exclude(status=RecordingStatus.FAILED)
        .exclude(assignments__annotator=user)
        .annotate(
            taken=Count(
                "assignments",
                filter=Q(assignments__status=AssignmentStatus.DONE)
                | Q(assignments__status=AssignmentStatus.OPEN, assignments__locked_until__gt=now),
            )
        )
        .annotate(gold=gold)
        .filter(Q(taken__lt=overlap) | Q(gold=True))
        .count()
    )
    left = own["open"] + items
    return {"left": left, "total": left + own["done"]}


def _former_own_work(project_id, user):
    """The recording _own_work handed back before: the first usable rejected annotation's, else the first
    usable open assignment's (ids in order); None when neither exists."""
    usable = _usable(user, project_id)
    rejected = (
        Annotation.objects.filter(
            project_id=project_id, annotator=user, status=AnnotationStatus.REJECTED, recording__in=usable.values("id")
        )
        .order_by("id")
        .first()
    )
    if rejected is not None:
        return rejected.recording_id
    first_open = (
        Assignment.objects.filter(
            project_id=project_id, annotator=user, status=AssignmentStatus.OPEN, recording__in=usable.values("id")
        )
        .order_by("id")
        .first()
    )
    return first_open.recording_id if first_open else None


def _world(project, annotators, rng):
    """Recordings in random consent, QA, gold and failure states, with everyone's assignments and annotations."""
    now = timezone.now()
    recordings = []
    for _ in range(30):
        speaker = SpeakerFactory(project=project, consent=rng.random() < 0.85)
        rec = RecordingFactory(
            project=project,
            speaker=speaker,
            status=RecordingStatus.FAILED if rng.random() < 0.1 else RecordingStatus.READY,
        )
        if rng.random() < 0.08:
            RecordingWithdrawal.objects.create(recording=rec, withdrawn_at=now, withdrawn_via="manager")
        if rng.random() < 0.1:
            QAResult.objects.create(recording=rec, project=project, flags=",clipping,", flagged=True)
        if rng.random() < 0.1:
            GoldItem.objects.create(
                project=project, recording=rec, reference={"clip_labels": [], "regions": [], "transcript": ""}
            )
        for user in annotators:
            if rng.random() < 0.3:
                status = rng.choice(list(AssignmentStatus.values))
                locked = rng.choice([now - timedelta(minutes=5), now + timedelta(minutes=5)])
                Assignment.objects.create(
                    project=project,
                    recording=rec,
                    annotator=user,
                    status=status,
                    locked_until=locked if status == AssignmentStatus.OPEN else None,
                )
                if rng.random() < 0.6:
                    Annotation.objects.create(
                        project=project,
                        recording=rec,
                        annotator=user,
                        status=rng.choice(list(AnnotationStatus.values)),
                    )
        recordings.append(rec)
    return recordings


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_progress_and_own_work_agree_with_the_former_queries(schema, make_user, seed):
    rng = random.Random(seed)
    project, users, _ = schema
    annotators = [users["annotator"]]
    for i in range(3):
        user = make_user(f"q{seed}x{i}")
        Membership.objects.create(user=user, project=project, role="annotator")
        annotators.append(user)
    overlap = rng.choice([1, 2, 3])
    AnnotationSettings.objects.update_or_create(project=project, defaults={"overlap": overlap})
    _world(project, annotators, rng)
    answered = set()
    for user in annotators:
        expected = _former_progress(project.id, user, overlap)
        assert queue_progress(project_id=project.id, user=user) == expected
        own = _former_own_work(project.id, user)
        answered.update(
            {
                "left" if expected["left"] else "none left",
                "done" if expected["total"] > expected["left"] else "none done",
                "own work" if own else "no own work",
            }
        )
        if own is not None:
            annotation, recording = queue_next(project_id=project.id, user=user)
            assert recording.id == own == annotation.recording_id
            assert Assignment.objects.get(recording=recording, annotator=user).status == AssignmentStatus.OPEN
            # The claim or renewal moved nothing between "left" and "done" except a reopened rejection.
            assert queue_progress(project_id=project.id, user=user) == _former_progress(project.id, user, overlap)
    assert {"left", "done", "own work"} <= answered  # the world exercised each part


def test_queue_answer_renders_like_a_fresh_read(schema, recordings, api):
    """The queue renders the annotation it holds (just created: no regions, no query) as a re-read renders it."""
    project, users, labels = schema
    user = users["annotator"]
    first, second = recordings[0], recordings[1]
    # An annotation with content and no assignment (e.g. left after its assignment was removed): claiming its
    # recording again finds it instead of creating one.
    kept = Annotation.objects.create(project=project, recording=first, annotator=user, version=3)
    kept.regions.create(uid="k1", start=0.5, end=1.0, text="kept", label=labels["speech"])
    kept.clip_labels.add(labels["clean"])
    client = api(user)
    url = f"/api/v1/projects/{project.id}/queue/next/"

    def reread(annotation_id):
        return client.get(f"/api/v1/annotations/{annotation_id}/").json()

    claimed = client.post(url).json()  # recording 1: the kept annotation
    assert claimed["annotation"]["id"] == kept.id and claimed["annotation"]["regions"]
    assert claimed["annotation"] == reread(kept.id)
    own = client.post(url).json()  # the same, now as own open work
    assert own["annotation"] == reread(kept.id)
    Assignment.objects.filter(recording=first, annotator=user).update(status=AssignmentStatus.DONE)
    fresh = client.post(url).json()  # recording 2: created by this claim
    assert fresh["recording"]["id"] == second.id and fresh["annotation"]["regions"] == []
    assert fresh["annotation"] == reread(fresh["annotation"]["id"])
    assert fresh["progress"] == client.get(f"/api/v1/projects/{project.id}/queue/progress/").json()
