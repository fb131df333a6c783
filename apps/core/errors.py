"""Every API error is JSON with a human sentence in ``detail``."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler


class DomainError(Exception):
    """A rule of the domain was broken; the message is shown to the user as is."""

    status_code = 400

    def __init__(self, message: str, *, status_code: int | None = None, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code
        self.extra = extra or {}


class Conflict(DomainError):
    status_code = 409


def _first_sentence(data, prefix="") -> str:
    if isinstance(data, dict):
        for key, value in data.items():
            label = "" if key in ("non_field_errors", "detail") else f"{prefix}{key}: "
            return _first_sentence(value, label)
    if isinstance(data, list) and data:
        for item in data:
            if item:
                return _first_sentence(item, prefix)
    return f"{prefix}{data}"


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        exc_status, body = exc.status_code, {"detail": exc.message, **exc.extra}
        from rest_framework.response import Response

        return Response(body, status=exc_status)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        response.data = {"detail": _first_sentence(response.data), "errors": response.data}
    return response
