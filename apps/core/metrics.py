"""Prometheus metrics (prometheus_client): requests and latencies, Celery queue lengths, task durations and
failures, and gauges the apps compute from the database at scrape time (jobs by state, purge backlog...).

- The web server answers ``/metrics``. Under gunicorn with several workers, ``PROMETHEUS_MULTIPROC_DIR`` (one
  folder per node, emptied at start; scripts/prod_local.sh and compose set it) lets every worker's counters add
  up in one answer.
- A worker node serves its own task metrics on ``EARMARK_METRICS_PORT`` (config/celery.py starts it), because
  nodes share no disk with the web server.
- Queue lengths and the apps' gauges are read when scraped (``EarmarkCollector``), so they are right whichever
  process answers; apps add theirs through the ``metrics_gauges`` hook.

``/metrics`` is for the monitoring system: it answers the loopback (and ``EARMARK_METRICS_ALLOW`` addresses) or
a request with ``Authorization: Bearer <EARMARK_METRICS_TOKEN>``; anyone else gets a 403.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Iterator
from typing import Any

from celery import current_app
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from apps.core.hooks import METRICS_GAUGES, hook_call

log = logging.getLogger(__name__)

QUEUES = ("default", "dsp", "exports", "events", "train")

HTTP_REQUESTS = Counter(
    "earmark_http_requests_total",
    "HTTP requests answered, by route pattern, method and status.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "earmark_http_request_duration_seconds",
    "Time to answer an HTTP request, by route pattern and method.",
    ["route", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
TASK_DURATION = Histogram(
    "earmark_task_duration_seconds",
    "Time a Celery task ran (processing jobs, imports, release builds, purges...), by task and outcome.",
    ["task", "outcome"],
    buckets=(0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)
TASK_FAILURES = Counter("earmark_task_failures_total", "Celery tasks that raised, by task.", ["task"])


def _route(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"  # 404s for made-up paths: one series, not one per path
    return "/" + (match.route or match.view_name or "")


class MetricsMiddleware:
    """Counts and times every request by its route pattern (``/api/v1/recordings/<int:recording_id>/``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        route = _route(request)
        if route != "/metrics":
            HTTP_LATENCY.labels(route, request.method).observe(time.perf_counter() - started)
            HTTP_REQUESTS.labels(route, request.method, str(response.status_code)).inc()
        return response


_task_started: dict[str, float] = {}


def task_started(task_id: str | None = None, **_kwargs: Any) -> None:
    """Celery's task_prerun."""
    if task_id:
        _task_started[task_id] = time.perf_counter()


def task_finished(task_id: str | None = None, task=None, state: str | None = None, **_kwargs: Any) -> None:
    """Celery's task_postrun: the task's duration under its outcome (SUCCESS, FAILURE, RETRY...)."""
    started = _task_started.pop(task_id or "", None)
    if started is not None and task is not None:
        TASK_DURATION.labels(task.name, (state or "unknown").lower()).observe(time.perf_counter() - started)


def task_failed(sender=None, **_kwargs: Any) -> None:
    """Celery's task_failure."""
    TASK_FAILURES.labels(getattr(sender, "name", "unknown")).inc()


def queue_lengths() -> dict[str, int]:
    """Messages waiting in each Celery queue on the broker (-1 when the broker does not answer)."""
    out: dict[str, int] = {}
    try:
        with current_app.connection_for_read() as conn:
            channel = conn.default_channel
            for queue in QUEUES:
                try:
                    out[queue] = channel.queue_declare(queue=queue, passive=True).message_count
                except Exception:  # noqa: BLE001 - a queue nobody declared yet holds nothing
                    out[queue] = 0
    except Exception:  # noqa: BLE001 - the broker being down is /readyz's news; here the gauge says -1
        log.warning("metrics: broker did not answer for queue lengths", exc_info=True)
        return dict.fromkeys(QUEUES, -1)
    return out


class EarmarkCollector(Collector):
    """Gauges read at scrape time: queue lengths and what the apps register in the metrics_gauges hook."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        queues = GaugeMetricFamily(
            "earmark_celery_queue_length", "Messages waiting in a Celery queue.", labels=["queue"]
        )
        for queue, length in queue_lengths().items():
            queues.add_metric([queue], length)
        yield queues
        for gauges in hook_call(METRICS_GAUGES):
            for name, doc, rows in gauges:
                labels = sorted({key for row_labels, _ in rows for key in row_labels})
                family = GaugeMetricFamily(name, doc, labels=labels)
                for row_labels, value in rows:
                    family.add_metric([str(row_labels.get(key, "")) for key in labels], value)
                yield family


def metrics_registry() -> CollectorRegistry:
    """Every process's counters (multiprocess mode, when PROMETHEUS_MULTIPROC_DIR is set) or this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
    return REGISTRY


def _allowed(request: HttpRequest) -> bool:
    token = settings.EARMARK_METRICS_TOKEN
    auth = request.headers.get("Authorization", "")
    if token and auth.startswith("Bearer ") and hmac.compare_digest(auth[7:].encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in settings.EARMARK_METRICS_ALLOW)


def metrics_view(request: HttpRequest) -> HttpResponse:
    """The Prometheus text exposition of this node's metrics plus the scrape-time gauges."""
    if not _allowed(request):
        return JsonResponse(
            {"detail": "Metrics are for the monitoring system: call from an allowed address or send its token."},
            status=403,
        )
    registry = metrics_registry()
    collector = EarmarkCollector()
    output = generate_latest(registry)
    scrape_time = CollectorRegistry()
    scrape_time.register(collector)
    output += generate_latest(scrape_time)
    return HttpResponse(output, content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
