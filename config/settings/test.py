"""Test settings: base plus speed-only overrides."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-any-deployment-000000000")

from .base import *  # noqa: E402,F401,F403
from .base import DATABASES  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so a real worker process can share it in integration tests.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}  # noqa: F405
