"""The DSP core needs no Django: run these tests with ``-p no:django``."""

import pytest


@pytest.fixture(autouse=True)
def _media_storage():
    """Overrides the root autouse fixture, which needs pytest-django's ``settings``; dsp touches no storage."""
    return None
