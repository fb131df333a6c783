"""Earmark's Django project package.

Named ``config`` and not ``platform``: a top-level package called ``platform``
shadows the standard library's ``platform`` module, which botocore, Celery and
others import, so nothing would start.
"""

from .celery import app as celery_app

__all__ = ["celery_app"]
