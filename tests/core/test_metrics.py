"""/metrics (Prometheus) and request ids in logs and task messages (issue 20)."""

import json
import logging

import pytest
from prometheus_client.parser import text_string_to_metric_families

from apps.core import logs


def _samples(response) -> dict:
    out = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


@pytest.mark.django_db
def test_metrics_count_requests_by_route_and_time_them(client):
    client.get("/healthz")
    before = _samples(client.get("/metrics"))
    key = ("earmark_http_requests_total", (("method", "GET"), ("route", "/healthz"), ("status", "200")))
    for _ in range(3):
        client.get("/healthz")
    client.get("/api/v1/recordings/123456789/")  # 401/403: counted under its pattern, not its path
    after = _samples(client.get("/metrics"))
    assert after[key] - before[key] == 3
    assert any(name == "earmark_http_requests_total" and ("route", "/api/v1/recordings/<int:recording_id>/") in labels
               for name, labels in after)  # fmt: skip
    count = ("earmark_http_request_duration_seconds_count", (("method", "GET"), ("route", "/healthz")))
    assert after[count] - before[count] == 3


@pytest.mark.django_db
def test_metrics_report_queues_jobs_purges_and_releases(client, project_with_roles):
    body = _samples(client.get("/metrics"))
    assert ("earmark_celery_queue_length", (("queue", "dsp"),)) in body
    assert body[("earmark_purges_overdue", ())] == 0
    assert ("earmark_purge_overdue_seconds", ()) in body
    assert ("earmark_jobs_lease_expired", ()) in body


@pytest.mark.django_db
def test_metrics_need_an_allowed_address_or_the_token(client, settings):
    settings.EARMARK_METRICS_ALLOW = ["10.0.0.0/8"]
    settings.EARMARK_METRICS_TOKEN = "scrape-token-0123456789"
    refused = client.get("/metrics")
    assert refused.status_code == 403 and "monitoring" in refused.json()["detail"]
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    ok = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-0123456789")
    assert ok.status_code == 200 and b"earmark_http_requests_total" in ok.content


def test_request_id_is_answered_and_a_good_one_is_kept(client):
    made = client.get("/healthz")["X-Request-ID"]
    assert len(made) == 32
    assert client.get("/healthz", HTTP_X_REQUEST_ID="abc-123-def-456")["X-Request-ID"] == "abc-123-def-456"
    assert client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")["X-Request-ID"] != "bad id\nwith newline"


def test_json_lines_carry_the_request_id():
    record = logging.LogRecord("earmark.test", logging.INFO, __file__, 1, "hello %s", ("you",), None)
    logs.request_id_set("rid-0123456789")
    try:
        logs.RequestIdFilter().filter(record)
        line = json.loads(logs.JsonFormatter().format(record))
    finally:
        logs.request_id_set("")
    assert line["message"] == "hello you" and line["request_id"] == "rid-0123456789" and line["level"] == "INFO"


def test_the_request_id_rides_in_task_headers_and_becomes_current_in_the_task():
    headers: dict = {}
    logs.request_id_set("rid-abcdef012345")
    logs.task_headers_add(headers=headers)
    logs.request_id_set("")
    assert headers == {logs.REQUEST_ID_HEADER: "rid-abcdef012345"}

    class Request:
        earmark_request_id = headers[logs.REQUEST_ID_HEADER]

    class Task:
        request = Request()

    logs.task_context_enter(task=Task())
    assert logs.request_id_get() == "rid-abcdef012345"
    logs.task_context_leave()
    assert logs.request_id_get() == ""
