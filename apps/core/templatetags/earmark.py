"""Template filters shared by every app's pages: ``{% load earmark %}``."""

from django import template

from apps.core.units import duration_human

register = template.Library()


@register.filter
def seconds_human(value):
    """``{{ seconds|seconds_human }}``: '42.5 s', '12.3 min', '3.25 h'."""
    try:
        return duration_human(float(value))
    except (TypeError, ValueError):
        return "–"
