"""The one place that reads the environment (django-environ).

Unset variables fall back to the embedded default: SQLite and media under
``var/``, a filesystem Celery broker under ``var/``. ``make run`` writes
``var/earmark.env`` (git-ignored) with a generated SECRET_KEY on first use.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("EARMARK_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

_local_env = Path(env.str("EARMARK_ENV_FILE", default=str(VAR_DIR / "earmark.env")))
if _local_env.is_file():
    # Real environment variables win over the file (overwrite=False).
    environ.Env.read_env(_local_env, overwrite=False)
