"""Review in a real browser: a reviewer works the queue, rejects one annotation with a comment,
corrects another, and the annotator finds the rejection first in their queue with the comment shown.
"""

import pytest

from tests.e2e.test_annotator import READY, _drag, _ingest, _labels, _speechy, _wait_for

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

TITLE = '[data-testid="recording-title"]'


def _work(user, project, regions):
    from apps.annotation.services import annotation_save, annotation_submit, queue_next

    annotation, recording = queue_next(project_id=project.id, user=user)
    annotation = annotation_save(
        annotation=annotation, user=user, version=annotation.version, regions=regions, clip_labels=[]
    )
    return annotation_submit(annotation=annotation, user=user, version=annotation.version), recording


def _region(uid, start, end, label):
    return {
        "id": uid,
        "start": start,
        "end": end,
        "channel": None,
        "label": label,
        "text": "",
        "attributes": {},
        "fmin": None,
        "fmax": None,
    }


def _wait_title_change(page, old):
    page.wait_for_function(
        "t => { const el = document.querySelector('[data-testid=\"recording-title\"]');"
        " return el && el.textContent !== t && el.textContent !== 'Loading…'; }",
        arg=old,
        timeout=30000,
    )


def test_reviewer_rejects_and_corrects_then_annotator_sees_rejection(
    live_server, logged_in_page, transactional_db, project_with_roles
):
    from apps.annotation.models import Annotation, AnnotationVersion
    from apps.review.models import Review

    project, users = project_with_roles
    speech, noise = _labels(project)
    _ingest(project, users["manager"], "first.wav", _speechy(6, seed=1))
    _ingest(project, users["manager"], "second.wav", _speechy(4, seed=2))
    first, first_rec = _work(users["annotator"], project, [_region("a1", 0.5, 1.5, speech.id)])
    second, second_rec = _work(users["annotator"], project, [_region("b1", 2.0, 3.0, speech.id)])

    reviewer = logged_in_page(users["reviewer"])
    reviewer.goto(f"{live_server.url}/projects/{project.id}/review/")
    reviewer.wait_for_selector(READY, timeout=30000)
    assert reviewer.locator(TITLE).inner_text() == first_rec.original_name  # oldest submission first
    assert reviewer.locator('[data-testid="region-item"]').count() == 1

    # Reject without a comment is refused in the page; with one it goes through and the next item opens.
    reviewer.click('[data-testid="review-reject"]')
    assert "Say what needs fixing" in reviewer.locator('[data-role="review-hint"]').inner_text()
    reviewer.fill('[data-testid="review-comment"]', "The first region is noise, not speech.")
    reviewer.click('[data-testid="review-reject"]')
    _wait_title_change(reviewer, first_rec.original_name)
    reviewer.wait_for_selector(READY, timeout=30000)
    assert reviewer.locator(TITLE).inner_text() == second_rec.original_name

    # Correct: draw one more region and accept with corrections.
    _drag(reviewer, 0.05, 0.2)
    reviewer.wait_for_function("() => document.querySelectorAll('[data-testid=\"region-item\"]').length === 2")
    reviewer.fill('[data-testid="review-comment"]', "Added the missed opening word.")
    reviewer.click('[data-testid="review-correct"]')
    reviewer.wait_for_function(
        "() => document.querySelector('[data-testid=\"recording-title\"]').textContent === 'Queue empty'", timeout=30000
    )
    assert not reviewer.console_errors, reviewer.console_errors

    first.refresh_from_db()
    assert first.status == "rejected" and first.review_comment == "The first region is noise, not speech."
    second = _wait_for(
        lambda: (a := Annotation.objects.get(pk=second.pk)).status == "accepted" and a, what="the correction to land"
    )
    assert second.regions.count() == 2
    correction = AnnotationVersion.objects.get(annotation=second, kind="correction")
    assert correction.author == users["reviewer"] and len(correction.regions) == 2
    assert AnnotationVersion.objects.filter(annotation=second, kind="submit", author=users["annotator"]).exists()
    assert list(Review.objects.order_by("id").values_list("decision", flat=True)) == ["reject", "correct"]

    # The annotator opens their queue: the rejected item comes back first, with the reviewer's comment.
    annotator = logged_in_page(users["annotator"])
    annotator.goto(f"{live_server.url}/projects/{project.id}/annotate/")
    annotator.wait_for_selector(READY, timeout=30000)
    assert annotator.locator(TITLE).inner_text() == first_rec.original_name
    banner = annotator.locator('[data-testid="rejection-comment"]')
    banner.wait_for(state="visible")
    assert "The first region is noise, not speech." in banner.inner_text()
    assert not annotator.console_errors, annotator.console_errors
