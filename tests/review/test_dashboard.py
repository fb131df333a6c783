"""Dashboard page and review pages: content, permissions, constant query count as data grows."""

import pytest
from django.test import Client

from apps.annotation.services import labels_set
from apps.review.dashboard import dashboard_data
from apps.review.models import QAResult
from tests.catalog.factories import RecordingFactory, SpeakerFactory
from tests.review.conftest import do_work, region

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _seed(project, n, *, flagged_every=3):
    speaker = SpeakerFactory(project=project, gender="female", age_band="30-44")
    for i in range(n):
        rec = RecordingFactory(project=project, speaker=speaker, duration=float(1 + i % 40), status="ready")
        if i % flagged_every == 0:
            QAResult.objects.create(recording=rec, project=project, flags=",clipping,", flagged=True)


def test_dashboard_renders_every_chart_with_numbers(review_project):
    project, users, labels = review_project
    _seed(project, 9)
    do_work(users["annotator"], project, [region("a", 0, 0.5, labels["speech"]), region("b", 0.5, 1, labels["noise"])])
    response = _client(users["manager"]).get(f"/projects/{project.id}/dashboard/")
    assert response.status_code == 200
    html = response.content.decode()
    for chart in (
        "status",
        "durations",
        "labels",
        "languages",
        "genders",
        "ages",
        "qa",
        "throughput",
        "agreement",
        "backlog",
    ):
        assert f'data-testid="chart-{chart}"' in html
    assert html.count("data:image/svg+xml;base64,") >= 11  # charts as images: no inline style under the CSP
    data = dashboard_data(actor=users["manager"], project_id=project.id)
    assert sum(n for _, n, _ in data["status"]) == 9
    assert dict((lb, n) for lb, n, _ in data["labels"]) == {"speech": 1, "noise": 1}
    assert data["qa_flagged"] == 3 and sum(data["qa_series"]["clipping"]) == 3
    assert dict((g, n) for g, n, _ in data["genders"]) == {"female": 9}
    # durations 1..9 s: bins 1-2 has one (1), 2-5 has three (2, 3, 4), 5-10 has five
    hist = dict(data["histogram"])
    assert (hist["1s-2s"], hist["2s-5s"], hist["5s-10s"]) == (1, 3, 5)
    assert dict(data["backlog"])["Submitted"] == 1
    assert data["annotators"][0]["annotator__username"] == "annotator"


def test_dashboard_query_count_is_constant(review_project, django_assert_max_num_queries):
    project, users, labels = review_project
    _seed(project, 5)
    labels_set(project_id=project.id, overlap=2)
    for user in (users["annotator"], users["annotator2"]):
        do_work(user, project, [region("x", 0, 0.5, labels["speech"])])
    client = _client(users["manager"])
    with django_assert_max_num_queries(40) as small:
        client.get(f"/projects/{project.id}/dashboard/")
    _seed(project, 60, flagged_every=2)
    for _ in range(3):
        for user in (users["annotator"], users["annotator2"]):
            do_work(user, project, [region("x", 0, 0.5, labels["speech"])])
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(f"/projects/{project.id}/dashboard/").status_code == 200


def test_dashboard_hidden_from_outsiders(review_project, make_user):
    project, _, _ = review_project
    assert _client(make_user("outsider")).get(f"/projects/{project.id}/dashboard/").status_code == 404


def test_viewer_sees_dashboard_without_annotator_table(review_project):
    project, users, _ = review_project
    html = _client(users["viewer"]).get(f"/projects/{project.id}/dashboard/").content.decode()
    assert 'data-testid="chart-status"' in html


def test_review_pages_render_annotator_in_review_mode(review_project, recordings):
    project, users, labels = review_project
    annotation = do_work(users["annotator"], project, [region("a", 0, 1, labels["speech"])])
    queue = _client(users["reviewer"]).get(f"/projects/{project.id}/review/")
    assert queue.status_code == 200 and '"mode": "review"' in queue.content.decode()
    one = _client(users["reviewer"]).get(f"/annotations/{annotation.id}/review/")
    assert one.status_code == 200 and f'"annotation_id": {annotation.id}' in one.content.decode()
    assert _client(users["annotator"]).get(f"/projects/{project.id}/review/").status_code == 404


def test_project_page_links_review_and_dashboard(review_project):
    project, users, _ = review_project
    reviewer = _client(users["reviewer"]).get(f"/projects/{project.id}/").content.decode()
    assert (
        f'href="/projects/{project.id}/review/"' in reviewer and f'href="/projects/{project.id}/dashboard/"' in reviewer
    )
    annotator = _client(users["annotator"]).get(f"/projects/{project.id}/").content.decode()
    assert f'href="/projects/{project.id}/review/"' not in annotator
