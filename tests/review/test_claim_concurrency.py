"""Two reviewers claiming one item at the same instant: exactly one gets it (PostgreSQL row locks).

The claim is a conditional UPDATE. When a second claim waits on the row lock of the first, PostgreSQL re-checks the
condition on the row the first one wrote, so the second finds the item taken. That holds only while the condition
is on the row itself: a condition Django wraps in ``id IN (subquery)`` is read from the statement's snapshot and
would let both claims through.
"""

import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from apps.review.models import ReviewSample
from apps.review.services import workflow
from tests.conftest import require_service
from tests.review.conftest import do_work, region

pytestmark = [pytest.mark.services]


def test_a_claim_waiting_on_another_claims_row_lock_finds_the_item_taken(transactional_db, review_project, recordings):
    require_service("PostgreSQL", connection.vendor == "postgresql")
    project, users, _ = review_project
    annotation = do_work(users["annotator"], project, [region("a", 0.0, 1.0)])
    ReviewSample.objects.update_or_create(annotation=annotation, defaults={"selected": True})
    first_claimed, second_may_go, results, errors = threading.Event(), threading.Event(), {}, []

    def first():
        try:
            with transaction.atomic():  # holds the row lock until the second claim is waiting on it
                results["first"] = workflow._claim(annotation.id, users["reviewer"], timezone.now())
                first_claimed.set()
                second_may_go.wait(timeout=10)
        except Exception as exc:
            errors.append(repr(exc))
        finally:
            connection.close()

    def second():
        try:
            first_claimed.wait(timeout=10)
            results["second"] = workflow._claim(annotation.id, users["reviewer2"], timezone.now())
        except Exception as exc:
            errors.append(repr(exc))
        finally:
            connection.close()

    one, two = threading.Thread(target=first), threading.Thread(target=second)
    one.start()
    two.start()
    first_claimed.wait(timeout=10)
    # Let the second UPDATE reach the row lock before the first commits: waiting on a lock shows in pg_locks.
    with connection.cursor() as cursor:
        for _ in range(200):
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                break
            threading.Event().wait(0.05)
        else:
            pytest.fail("the second claim never waited on the first one's row lock")
    second_may_go.set()
    one.join(timeout=30)
    two.join(timeout=30)
    assert errors == []
    assert results == {"first": True, "second": False}
    assert ReviewSample.objects.get(annotation=annotation).claimed_by == users["reviewer"]
