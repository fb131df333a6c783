"""A withdrawn speaker's data leaves every review path at once: queue, agreement, consensus, QA, dashboard."""

import pytest
from django.test import Client

from apps.annotation.services import labels_set
from apps.consent.models import ConsentRecord
from apps.consent.services.withdrawal import consent_withdraw
from apps.review.dashboard import dashboard_data
from apps.review.models import QAResult
from tests.review.conftest import do_work, region

pytestmark = pytest.mark.django_db


def test_withdrawn_speaker_absent_from_review_paths(api, review_project, recordings):
    project, users, labels = review_project
    labels_set(project_id=project.id, overlap=2)
    for user in (users["annotator"], users["annotator2"]):
        do_work(user, project, [region("a", 0, 1, labels["speech"], "hello")])
    target = recordings[0]
    QAResult.objects.create(recording=target, project=project, flags=",clipping,", flagged=True)
    reviewer = api(users["reviewer"])
    assert reviewer.post(f"/api/v1/projects/{project.id}/review/next/").json()["recording"]["id"] == target.id
    assert reviewer.get(f"/api/v1/projects/{project.id}/agreement/").json()["overlap_units"] == 1
    assert reviewer.get(f"/api/v1/recordings/{target.id}/consensus/").status_code == 200

    consent = ConsentRecord.objects.get(speaker=target.speaker)
    consent_withdraw(consent_id=consent.id, actor=users["manager"], reason="speaker asked")

    assert reviewer.post(f"/api/v1/projects/{project.id}/review/next/").status_code == 204
    assert reviewer.get(f"/api/v1/projects/{project.id}/agreement/").json()["overlap_units"] == 0
    assert reviewer.get(f"/api/v1/recordings/{target.id}/consensus/").status_code == 404
    assert reviewer.get(f"/api/v1/recordings/{target.id}/qa/").status_code == 404
    assert reviewer.get(f"/api/v1/projects/{project.id}/qa/").json()["results"] == []
    data = dashboard_data(actor=users["manager"], project_id=project.id)
    assert sum(n for _, n, _ in data["status"]) == len(recordings) - 1
    assert data["qa_flagged"] == 0 and data["labels"] == [] and data["annotators"] == []
    client = Client()
    client.force_login(users["manager"])
    assert client.get(f"/projects/{project.id}/dashboard/").status_code == 200
