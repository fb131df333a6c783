"""Test settings: base plus speed-only overrides."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-any-deployment-000000000")

from .base import *  # noqa: E402,F401,F403
from .base import DATABASES  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
# EARMARK_TEST_DB_NAME lets two test runs on one machine keep apart (pytest-xdist adds _gwN to it).
_test_db = os.environ.get("EARMARK_TEST_DB_NAME", "")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so a real worker process can share it in integration tests.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"{_test_db or 'test'}.sqlite3")}  # noqa: F405
elif _test_db:
    DATABASES["default"]["TEST"] = {"NAME": f"test_{_test_db}"}
