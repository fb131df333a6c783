"""Many annotators asking at once never share a slot beyond the overlap (PostgreSQL row locks)."""

import threading

import pytest
from django.db import connection

from apps.accounts.models import Membership
from apps.annotation.models import AnnotationSettings, Assignment
from apps.annotation.services import queue_next
from tests.catalog.factories import ProjectFactory, RecordingFactory
from tests.conftest import require_service

pytestmark = [pytest.mark.services]


def _race(project, people) -> dict:
    """Every user asks queue/next at the same instant; returns {user id: recording id or None}."""
    barrier = threading.Barrier(len(people))
    got, errors = {}, []

    def ask(user):
        try:
            barrier.wait(timeout=10)
            found = queue_next(project_id=project.id, user=user)
            got[user.id] = found[1].id if found else None
        except Exception as exc:  # surfaced below with the thread's error
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=ask, args=(u,)) for u in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    return got


@pytest.mark.parametrize("overlap", [1, 2])
def test_concurrent_requests_respect_overlap(transactional_db, make_user, overlap):
    require_service("PostgreSQL", connection.vendor == "postgresql")
    project = ProjectFactory()
    AnnotationSettings.objects.create(project=project, overlap=overlap)
    recordings = [RecordingFactory(project=project, status="ready") for _ in range(2)]
    people = [make_user(f"racer{i}") for i in range(8)]
    for user in people:
        Membership.objects.create(user=user, project=project, role="annotator")
    got = _race(project, people)
    handed = [rid for rid in got.values() if rid is not None]
    assert len(handed) == 2 * overlap
    for recording in recordings:
        assert handed.count(recording.id) == overlap
        assert Assignment.objects.filter(recording=recording, status="open").count() == overlap


def test_concurrent_requests_give_a_gold_item_to_everyone_once(transactional_db, make_user):
    from apps.review.models import GoldItem

    require_service("PostgreSQL", connection.vendor == "postgresql")
    project = ProjectFactory()
    AnnotationSettings.objects.create(project=project, overlap=1)
    gold = RecordingFactory(project=project, status="ready")
    GoldItem.objects.create(project=project, recording=gold, reference={"clip_labels": [], "regions": []})
    people = [make_user(f"goldracer{i}") for i in range(6)]
    for user in people:
        Membership.objects.create(user=user, project=project, role="annotator")
    got = _race(project, people)
    assert list(got.values()) == [gold.id] * len(people)  # overlap 1 does not limit gold
    assert Assignment.objects.filter(recording=gold, status="open").count() == len(people)


def _hold_lock(recording, locked: threading.Event, release: threading.Event, wait: float):
    """A thread that holds ``recording``'s row lock (as a claim in progress does) until ``release`` or ``wait`` s."""
    from django.db import transaction

    from apps.consent.selectors import recording_lock_if_usable

    def hold():
        try:
            with transaction.atomic():
                recording_lock_if_usable("annotate", recording.id)
                locked.set()
                release.wait(timeout=wait)
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert locked.wait(timeout=10)
    return thread


def test_a_recording_another_claim_holds_is_passed_over(transactional_db, make_user):
    """Everyone's queue starts at the same recording: a claim in progress on it sends the next request on to
    the next recording at once, instead of waiting for the lock and then finding the slot gone."""
    require_service("PostgreSQL", connection.vendor == "postgresql")
    project = ProjectFactory()
    AnnotationSettings.objects.create(project=project, overlap=1)
    first, second = (RecordingFactory(project=project, status="ready") for _ in range(2))
    user = make_user("passer")
    Membership.objects.create(user=user, project=project, role="annotator")
    locked, release = threading.Event(), threading.Event()
    holder = _hold_lock(first, locked, release, wait=30)
    try:
        found = queue_next(project_id=project.id, user=user)  # waiting instead would end after the holder's 30 s
    finally:
        release.set()
        holder.join()
    assert found is not None and found[1].id == second.id
    assert not Assignment.objects.filter(recording=first).exists()


def test_a_held_recording_is_still_handed_out_when_it_is_the_last(transactional_db, make_user):
    """Passing over a locked candidate never turns into "queue empty": with nothing else free, the request waits
    for the lock like before and takes the slot."""
    require_service("PostgreSQL", connection.vendor == "postgresql")
    project = ProjectFactory()
    AnnotationSettings.objects.create(project=project, overlap=1)
    only = RecordingFactory(project=project, status="ready")
    user = make_user("waiter")
    Membership.objects.create(user=user, project=project, role="annotator")
    locked, release = threading.Event(), threading.Event()
    holder = _hold_lock(only, locked, release, wait=1)  # gives the lock back by itself, without a slot taken
    try:
        found = queue_next(project_id=project.id, user=user)
    finally:
        release.set()
        holder.join()
    assert found is not None and found[1].id == only.id
