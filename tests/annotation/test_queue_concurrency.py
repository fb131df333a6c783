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
