"""Shared request-validation pieces: query strings validated by DRF serializers, so OpenAPI lists them.

A view declares its query string as a ``QueryInput`` subclass, names it in ``extend_schema(parameters=[...])``,
and reads it with ``QueryInput.parse(request.query_params)``. A bad value is a 400 whose ``detail`` is one
sentence naming the parameter (``"recording must be a whole number, not 'x'."``). Empty values mean "not given".
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError


class _QueryField(serializers.Field):
    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def validate_empty_values(self, data):
        if data == "":
            return True, None  # ?status= is the same as no status
        return super().validate_empty_values(data)

    def refuse(self, raw, what: str):
        raise serializers.ValidationError(f"{self.field_name} must be {what}, not {raw!r}.")

    def to_representation(self, value):
        return value


@extend_schema_field(OpenApiTypes.INT)
class QueryInt(_QueryField):
    """A whole number, optionally within [low, high]."""

    def __init__(self, *, low: int | None = None, high: int | None = None, **kwargs):
        self.low, self.high = low, high
        super().__init__(**kwargs)

    def to_internal_value(self, raw) -> int:
        what = "a whole number" if self.low is None else f"a whole number between {self.low} and {self.high}"
        try:
            value = int(raw)
        except (TypeError, ValueError):
            self.refuse(raw, what)
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            self.refuse(raw, what)
        return value


@extend_schema_field(OpenApiTypes.NUMBER)
class QueryNumber(_QueryField):
    def to_internal_value(self, raw) -> float:
        try:
            return float(raw)
        except (TypeError, ValueError):
            self.refuse(raw, "a number")


@extend_schema_field(OpenApiTypes.BOOL)
class QueryBool(_QueryField):
    TRUE, FALSE = ("1", "true", "yes"), ("0", "false", "no")

    def to_internal_value(self, raw) -> bool:
        if str(raw).lower() in self.TRUE:
            return True
        if str(raw).lower() in self.FALSE:
            return False
        self.refuse(raw, "true or false")


@extend_schema_field(OpenApiTypes.STR)
class QueryChoice(_QueryField):
    def __init__(self, *, choices, **kwargs):
        self.choices = [str(c) for c in choices]
        super().__init__(**kwargs)

    def to_internal_value(self, raw) -> str:
        if raw not in self.choices:
            self.refuse(raw, f"one of {', '.join(self.choices)}")
        return raw


class QueryInput(serializers.Serializer):
    """The shape of a view's query string."""

    @classmethod
    def parse(cls, query_params) -> dict:
        """The validated parameters (absent ones left out), or a 400 with the first problem as one sentence."""
        shape = cls(data=query_params)
        if not shape.is_valid():
            raise ValidationError({"detail": _first_message(shape.errors)})
        return {k: v for k, v in shape.validated_data.items() if v is not None}


def _first_message(errors) -> str:
    """The first message in DRF's nested errors ({field: [msg]}, {field: {index: [msg]}})."""
    while isinstance(errors, (dict, list)):
        errors = next(iter(errors.values())) if isinstance(errors, dict) else errors[0]
    return str(errors)
