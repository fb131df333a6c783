"""JSON log lines that carry a request id, from the web request into every Celery task it queues.

- ``RequestIdMiddleware`` takes the caller's ``X-Request-ID`` (when it looks like an id) or makes one, keeps it in
  a context variable for the request, answers it in the ``X-Request-ID`` header and logs one line per request.
- ``task_headers_add`` (Celery's ``before_task_publish``) copies the current id into the message headers;
  ``task_context_enter`` / ``task_context_leave`` (``task_prerun`` / ``task_postrun``) make it current inside
  the task on whichever node runs it, so the task's lines and the tasks it queues carry the same id.
- ``RequestIdFilter`` puts the id on every log record; ``JsonFormatter`` writes one JSON object per line
  (``LOG_FORMAT=json``, the production shape's setting).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

REQUEST_ID_HEADER = "earmark_request_id"  # the Celery message header
_request_id: ContextVar[str] = ContextVar("earmark_request_id", default="")
_VALID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
access_log = logging.getLogger("earmark.access")
task_log = logging.getLogger("earmark.task")


def request_id_get() -> str:
    """The id of the request (or of the request that queued the running task); "" outside both."""
    return _request_id.get()


def request_id_set(value: str) -> None:
    _request_id.set(value)


class RequestIdMiddleware:
    """Give every request an id (the caller's X-Request-ID when well-formed), answer it, log the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        rid = given if _VALID.match(given) else uuid.uuid4().hex
        token = _request_id.set(rid)
        request.request_id = rid
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = rid
            user = getattr(request, "user", None)
            access_log.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "user_id": getattr(user, "pk", None),
                },
            )
            return response
        finally:
            _request_id.reset(token)


def task_headers_add(headers: dict | None = None, **_kwargs: Any) -> None:
    """before_task_publish: carry the current request id in the message (kept when already set)."""
    rid = _request_id.get()
    if rid and headers is not None and not headers.get(REQUEST_ID_HEADER):
        headers[REQUEST_ID_HEADER] = rid


def task_context_enter(task=None, **_kwargs: Any) -> None:
    """task_prerun: the queuing request's id becomes current for the task's log lines (and what it queues)."""
    rid = getattr(getattr(task, "request", None), REQUEST_ID_HEADER, None) or ""
    _request_id.set(rid if isinstance(rid, str) else "")
    if rid:  # one line tying the task (on whichever node) to the request that queued it
        task_log.info("%s started", getattr(task, "name", "task"), extra={"task_id": getattr(task.request, "id", "")})


def task_context_leave(**_kwargs: Any) -> None:
    """task_postrun: the next task in this process starts without an id."""
    _request_id.set("")


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (empty outside a request or task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = _request_id.get()
        return True


_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "request_id"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, extra fields, exception text."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "") or _request_id.get(),
        }
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)
