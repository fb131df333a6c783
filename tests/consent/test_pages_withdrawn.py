"""HTML pages answer 404 for withdrawn items, as the API does (issue 12, point 11)."""

import pytest
from django.test import Client
from django.utils import timezone

from apps.consent import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def annotated(consent_world):
    from apps.annotation.models import Annotation

    w = consent_world
    annotation = Annotation.objects.create(
        project=w["project"],
        recording=w["a1"],
        annotator=w["users"]["annotator"],
        status="submitted",
        version=1,
        submitted_at=timezone.now(),
    )
    return w, annotation


def _get(user, url):
    client = Client()
    client.force_login(user)
    return client.get(url)


@pytest.mark.parametrize(
    "role, url",
    [
        ("annotator", "/annotations/{annotation}/edit/"),
        ("reviewer", "/annotations/{annotation}/review/"),
        ("manager", "/annotations/{annotation}/review/"),
        ("reviewer", "/recordings/{recording}/consensus/"),
        ("manager", "/recordings/{recording}/consensus/"),
    ],
)
@pytest.mark.parametrize("how", ["everything", "recording", "annotate_and_review"])
def test_pages_of_withdrawn_items_answer_404(annotated, role, url, how):
    w, annotation = annotated
    path = url.format(annotation=annotation.id, recording=w["a1"].id)
    assert _get(w["users"][role], path).status_code == 200  # the page exists before the withdrawal
    kwargs = {
        "everything": {},
        "recording": {"recording_ids": [w["a1"].id]},
        "annotate_and_review": {"purposes": ["annotate", "review"]},
    }[how]
    services.consent_withdraw(consent_id=w["alice_consent"].id, actor=w["users"]["manager"], **kwargs)
    assert _get(w["users"][role], path).status_code == 404
