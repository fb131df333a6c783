"""Template helpers for pages under the Content-Security-Policy."""

import base64

from django import template

register = template.Library()


@register.filter
def svg_data_uri(svg: str) -> str:
    """An SVG as a data: URI for <img>: matplotlib's SVG carries <style> and style="" attributes, which the
    page's CSP would block inline; as an image it is its own document, and none of its markup can run."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
