"""Every setting, read from the environment through ``config.env``.

Unset means the embedded default (SQLite, local media, a filesystem broker,
all under ``var/``). Production differs only in environment values.
"""

import warnings
from datetime import timedelta
from pathlib import Path

from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config.env import BASE_DIR, VAR_DIR, env

# --- core -------------------------------------------------------------------
SECRET_KEY = env.str("SECRET_KEY")  # no default, on purpose
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
EARMARK_PRODUCTION = env.bool("EARMARK_PRODUCTION", default=False)

if EARMARK_PRODUCTION:
    if DEBUG:
        raise ImproperlyConfigured("EARMARK_PRODUCTION is set: DEBUG must be off.")
    if SECRET_KEY.startswith("django-insecure") or len(SECRET_KEY) < 40 or "change-me" in SECRET_KEY:
        raise ImproperlyConfigured("EARMARK_PRODUCTION is set: SECRET_KEY must be a long random value, not a default.")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("EARMARK_PRODUCTION is set: ALLOWED_HOSTS must name this site.")
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    # HTTPS only: browsers remember it (HSTS) and plain HTTP is redirected.
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    # Preloading is a promise to browser vendors that is slow to undo: the operator opts in.
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Probes and the metrics scraper call the app server directly over HTTP (apps/core/health.py).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# Behind a TLS-terminating proxy, the header it sets and the value that means HTTPS, e.g.
# "HTTP_X_FORWARDED_PROTO=https". Set it only when the proxy always overwrites that header.
_proxy_ssl = env.str("EARMARK_PROXY_SSL_HEADER", default="")
if _proxy_ssl:
    _header, _, _value = _proxy_ssl.partition("=")
    if not _header.startswith("HTTP_") or not _value:
        raise ImproperlyConfigured("EARMARK_PROXY_SSL_HEADER must look like HTTP_X_FORWARDED_PROTO=https.")
    SECURE_PROXY_SSL_HEADER = (_header, _value)
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Browser features no Earmark page uses (apps.core.security.PermissionsPolicyMiddleware).
EARMARK_PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=(), interest-cohort=()"
)
SILENCED_SYSTEM_CHECKS = [] if env.bool("SECURE_HSTS_PRELOAD", default=False) else ["security.W021"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "axes",
    "csp",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "apps.core",
    "apps.accounts",
    "apps.catalog",
    "apps.consent",
    "apps.processing",
    "apps.annotation",
    "apps.review",
    "apps.collection",
    "apps.learning",
    "apps.datasets",
    "apps.events",
]

MIDDLEWARE = [
    # First: every request gets its id (logs, the tasks it queues) and is counted and timed, whatever answers it.
    "apps.core.logs.RequestIdMiddleware",
    "apps.core.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before anything reads the body (CSRF reads request.POST): refuse an oversized request from its headers.
    "apps.core.uploads.RequestSizeLimitMiddleware",
    # Static files (the annotator bundle, admin) from the app server itself: gunicorn serves them in
    # `make run` and in compose, with no separate web server to configure.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Integers beyond a database id's range get a 400/404 sentence, never an OverflowError (a 500).
    "apps.core.middleware.IntegerBoundsMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Consent: no response is cached (withdrawn audio must not replay from a cache); every response carrying
    # a recording's audio or derived data is audited, whatever its Range header.
    "apps.consent.middleware.ServedDataMiddleware",
    "csp.middleware.CSPMiddleware",
    "apps.core.security.PermissionsPolicyMiddleware",
    # Last: turns an axes lockout flagged during the view into the lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Content-Security-Policy (django-csp), in every profile -------------------------------------------------
# No 'unsafe-inline' anywhere: pages load their scripts and styles from static files. The one inline <style>
# (wavesurfer's, inside its shadow root) carries the per-request nonce. Audio and artifacts may redirect to
# presigned URLs on the storage endpoint, so its origin is allowed for media and fetches.
_storage_origins = [o for o in [env.str("AWS_S3_ENDPOINT_URL", default="")] if o]
if env.str("EARMARK_STORAGE", default="local") == "s3" and not _storage_origins:
    _storage_origins = ["https://*.amazonaws.com"]
_storage_origins += env.list("EARMARK_CSP_EXTRA_ORIGINS", default=[])
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:", "blob:", *_storage_origins],
        # data: the annotator page embeds a short clip's audio in its <audio> element (apps/annotation/embed.py).
        "media-src": [SELF, "blob:", "data:", *_storage_origins],
        "connect-src": [SELF, *_storage_origins],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- database -----------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'earmark.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default has a web server and a worker writing at once:
    # WAL lets readers run beside the writer, IMMEDIATE avoids upgrade deadlocks.
    # secure_delete: SQLite overwrites deleted and replaced content with zeros, so a purged speaker's name,
    # e-mail or transcript is not left readable in free pages of the file (docs/consent.md, "Erasure at rest").
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA secure_delete=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
# Persistent connections on both engines: opening a SQLite connection costs ~1.5 ms (Django registers
# its functions and runs the PRAGMAs), a tenth of an autosave. runserver closes them with the HTTP connection.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
# A connection is checked before a request (or a Celery task) reuses it, persistent or taken from the pool below
# (Django passes psycopg_pool's check_connection): after PostgreSQL restarts, fails over or ends the session, the
# next query gets a fresh connection instead of failing the request with a 500 (tests/test_prod_shape.py).
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
# PostgreSQL connection pool (psycopg_pool through Django 5.2's "pool" option), per process: each gunicorn worker
# keeps DB_POOL_MIN_SIZE..DB_POOL_MAX_SIZE connections for its threads (size it to --threads). 0 leaves pooling
# off (Celery workers: one connection per prefork child is what they need). A pool replaces CONN_MAX_AGE.
DB_POOL_MAX_SIZE = env.int("DB_POOL_MAX_SIZE", default=0)
if DB_POOL_MAX_SIZE and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DB_POOL_MIN_SIZE", default=2),
        "max_size": DB_POOL_MAX_SIZE,
        # A request waits this long for a free connection, then fails with a 500 instead of hanging.
        "timeout": env.float("DB_POOL_TIMEOUT", default=10.0),
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- auth ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Repeated failed sign-ins lock out (django-axes) on the sign-in page, the admin and the token endpoint:
# AxesStandaloneBackend must come first so it can refuse before a password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("EARMARK_LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("EARMARK_LOGIN_LOCKOUT_MINUTES", default=15))
# Per account and client address: a guesser is stopped, while the account's owner elsewhere can still sign in.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "apps.accounts.lockout.lockout_response"
AXES_VERBOSE = False
# API tokens: days a new token lives unless its owner asks for fewer (or more, up to the maximum).
EARMARK_TOKEN_DAYS = env.int("EARMARK_TOKEN_DAYS", default=30)
EARMARK_TOKEN_MAX_DAYS = env.int("EARMARK_TOKEN_MAX_DAYS", default=365)
# Who may create projects: "staff" (site administrators; the default) or "users" (every signed-in account).
EARMARK_PROJECT_CREATORS = env.str("EARMARK_PROJECT_CREATORS", default="staff")
if EARMARK_PROJECT_CREATORS not in ("staff", "users"):
    raise ImproperlyConfigured("EARMARK_PROJECT_CREATORS must be 'staff' or 'users'.")
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "catalog:project-list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- static and media storage -------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "static"))
# Production runs collectstatic (compose does); the embedded default serves straight from the sources,
# so WhiteNoise's note that STATIC_ROOT does not exist yet is expected there.
WHITENOISE_USE_FINDERS = not EARMARK_PRODUCTION
if WHITENOISE_USE_FINDERS:
    warnings.filterwarnings("ignore", message="No directory at: ")
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))

EARMARK_STORAGE = env.str("EARMARK_STORAGE", default="local")
if EARMARK_STORAGE == "local":
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT)},
    }
elif EARMARK_STORAGE == "s3":
    _default_storage = {
        "BACKEND": "apps.core.storage.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default=None),
            "access_key": env.str("AWS_ACCESS_KEY_ID", default=None),
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default=None),
            "region_name": env.str("AWS_S3_REGION_NAME", default=None),
            "addressing_style": env.str("AWS_S3_ADDRESSING_STYLE", default="path"),
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": env.int("AWS_QUERYSTRING_EXPIRE", default=300),
            # Keys are content-addressed: the same key always holds the same bytes.
            "file_overwrite": True,
        },
    }
else:
    raise ImproperlyConfigured(f"EARMARK_STORAGE must be 'local' or 's3', not {EARMARK_STORAGE!r}.")
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- upload and ingest limits -------------------------------------------------
EARMARK_MAX_FILE_BYTES = env.int("EARMARK_MAX_FILE_BYTES", default=2 * 1024**3)
EARMARK_MAX_DURATION_SECONDS = env.float("EARMARK_MAX_DURATION_SECONDS", default=6 * 3600)
EARMARK_MAX_FILES_PER_REQUEST = env.int("EARMARK_MAX_FILES_PER_REQUEST", default=5000)
EARMARK_ZIP_MAX_ENTRIES = env.int("EARMARK_ZIP_MAX_ENTRIES", default=20000)
EARMARK_ZIP_MAX_UNCOMPRESSED_BYTES = env.int("EARMARK_ZIP_MAX_UNCOMPRESSED_BYTES", default=20 * 1024**3)
# Server folders the API may import from (the CLI may read any path).
EARMARK_IMPORT_ROOTS = env.list("EARMARK_IMPORT_ROOTS", default=[str(VAR_DIR / "imports")])
DATA_UPLOAD_MAX_NUMBER_FILES = EARMARK_MAX_FILES_PER_REQUEST
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024**2)
FILE_UPLOAD_MAX_MEMORY_SIZE = env.int("FILE_UPLOAD_MAX_MEMORY_SIZE", default=4 * 1024**2)
# A whole request (all its files): refused from its Content-Length before the body is read. The temp folder
# needs this much free space per upload running at once.
EARMARK_MAX_REQUEST_BYTES = env.int("EARMARK_MAX_REQUEST_BYTES", default=4 * 1024**3)
# Zip members that inflate more than this many times their compressed size are refused before inflating.
EARMARK_ZIP_MAX_RATIO = env.float("EARMARK_ZIP_MAX_RATIO", default=200)
# Uploaded files and ingest's working copies go here (None: the system's temp folder).
FILE_UPLOAD_TEMP_DIR = env.str("FILE_UPLOAD_TEMP_DIR", default=None)
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "apps.core.uploads.LimitedTemporaryFileUploadHandler",  # stops writing a file at EARMARK_MAX_FILE_BYTES
]

# --- Celery ---------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),  # kombu's default is ./control in the working directory
        "store_processed": False,
    }
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
# Task names are "<app>.<verb>"; CPU-heavy DSP and release building get their own queues
# so they can have their own workers (prefetch 1) on other machines.
CELERY_TASK_ROUTES = {
    "processing.jobs_dispatch": {"queue": "default"},  # fan-out of a batch: never behind long DSP jobs
    "processing.jobs_requeue_stale": {"queue": "default"},  # sweepers: never behind the work they rescue
    "datasets.releases_requeue_stale": {"queue": "default"},
    "processing.*": {"queue": "dsp"},
    "annotation.transcript_drafts": {"queue": "dsp"},  # speech recognition: CPU-heavy like DSP
    "annotation.transcript_align": {"queue": "dsp"},  # forced alignment: the same
    "datasets.*": {"queue": "exports"},
    "events.*": {"queue": "events"},  # webhook deliveries: slow receivers never hold up other work
    "learning.train_model": {"queue": "train"},  # model training: a queue (and worker) of its own
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {}  # filled by apps that own periodic work (see config/celery.py)

# --- crash recovery (README "Reliability") ------------------------------------------
# Long work (processing jobs, imports, release builds) holds a lease renewed by a heartbeat every third of
# it; a sweeper (beat, every EARMARK_SWEEP_SECONDS) re-queues work whose lease ran out because its worker
# died. Dead work resumes within lease + sweep interval (30 + 15 s by default) on any broker.
EARMARK_LEASE_SECONDS = env.int("EARMARK_LEASE_SECONDS", default=30)
EARMARK_SWEEP_SECONDS = env.float("EARMARK_SWEEP_SECONDS", default=15.0)
# A run that dies this many times (killed, out of memory, hard time limit) is failed instead of re-queued.
EARMARK_MAX_ATTEMPTS = env.int("EARMARK_MAX_ATTEMPTS", default=5)
# Stored objects no row points at, and our temp files, are removed once older than this (longer than any
# request or job can take between writing an object and committing its row: hard time limits are ~4 h).
EARMARK_SWEEP_MIN_AGE_SECONDS = env.int("EARMARK_SWEEP_MIN_AGE_SECONDS", default=6 * 3600)
# Upload spool files and job work folders live here, so the sweep removes only what is Earmark's.
EARMARK_TEMP_DIR = env.str("EARMARK_TEMP_DIR", default=str(VAR_DIR / "tmp"))
FILE_UPLOAD_TEMP_DIR = EARMARK_TEMP_DIR
Path(EARMARK_TEMP_DIR).mkdir(parents=True, exist_ok=True)

# --- releases ---------------------------------------------------------------------
# A build writes its progress at most this often (each write is a committed UPDATE and a check of its claim).
EARMARK_RELEASE_PROGRESS_SECONDS = env.float("EARMARK_RELEASE_PROGRESS_SECONDS", default=0.5)

# --- processing -------------------------------------------------------------------
# A running job holds its claim until the lease expires (renewed by the heartbeat and at every progress
# report); a redelivered or re-sent message may take over an expired one.
EARMARK_PROCESSING_LEASE_SECONDS = env.int("EARMARK_PROCESSING_LEASE_SECONDS", default=EARMARK_LEASE_SECONDS)
EARMARK_PROCESSING_SOFT_TIME_LIMIT = env.int("EARMARK_PROCESSING_SOFT_TIME_LIMIT", default=4 * 3600)
# Whole-signal steps (trim, loudness, length policy, QA, fingerprint) load at most this much audio.
EARMARK_PROCESSING_WHOLE_SIGNAL_MAX_SECONDS = env.float("EARMARK_PROCESSING_WHOLE_SIGNAL_MAX_SECONDS", default=2 * 3600)
EARMARK_PROCESSING_DEFAULT_RECIPE = env.json("EARMARK_PROCESSING_DEFAULT_RECIPE", default={})

# --- learning (project models) ----------------------------------------------------
EARMARK_TRAIN_SOFT_TIME_LIMIT = env.int("EARMARK_TRAIN_SOFT_TIME_LIMIT", default=3600)
EARMARK_TRAIN_MAX_MEMORY_MB = env.float("EARMARK_TRAIN_MAX_MEMORY_MB", default=6144)
# A training run holds its model this long past its last progress report; then the sweeper re-sends it.
EARMARK_TRAIN_LEASE_SECONDS = env.int("EARMARK_TRAIN_LEASE_SECONDS", default=600)

# --- health and metrics (README "Scaling out") ------------------------------------------
# /readyz gives each of its checks (database, broker, storage) this long before calling it down.
EARMARK_READY_TIMEOUT_SECONDS = env.float("EARMARK_READY_TIMEOUT_SECONDS", default=3.0)

# /metrics answers these networks without a token (the loopback: a scraper beside gunicorn), and anyone who sends
# "Authorization: Bearer <EARMARK_METRICS_TOKEN>" (behind a proxy, where every caller looks local, use the token).
EARMARK_METRICS_ALLOW = env.list("EARMARK_METRICS_ALLOW", default=["127.0.0.1/32", "::1/128"])
EARMARK_METRICS_TOKEN = env.str("EARMARK_METRICS_TOKEN", default="")

# --- consent ------------------------------------------------------------------
EARMARK_PURGE_GRACE_DAYS = env.float("EARMARK_PURGE_GRACE_DAYS", default=7)
# PostgreSQL: after a purge batch also rewrite the large purged tables (recordings, regions, annotation versions,
# release items) with VACUUM FULL, so no old row version stays in their files (locks each table while it is copied).
EARMARK_PURGE_VACUUM_FULL = env.bool("EARMARK_PURGE_VACUUM_FULL", default=False)
EARMARK_OPTOUT_LINK_DAYS = env.int("EARMARK_OPTOUT_LINK_DAYS", default=90)

# --- webhooks -----------------------------------------------------------------
# Hosts (names, addresses or networks such as 10.0.0.0/8) webhooks may go to although they are not public
# addresses; by default only public addresses (no loopback, private, link-local or metadata addresses).
EARMARK_WEBHOOK_ALLOW_HOSTS = env.list("EARMARK_WEBHOOK_ALLOW_HOSTS", default=[])
EARMARK_WEBHOOK_MAX_ATTEMPTS = env.int("EARMARK_WEBHOOK_MAX_ATTEMPTS", default=8)
# The first retry waits this long, each next one twice as long (capped at 6 hours).
EARMARK_WEBHOOK_RETRY_BASE_SECONDS = env.float("EARMARK_WEBHOOK_RETRY_BASE_SECONDS", default=30)
EARMARK_WEBHOOK_TIMEOUT_SECONDS = env.float("EARMARK_WEBHOOK_TIMEOUT_SECONDS", default=10)

# --- API ----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "apps.core.schema.AutoSchema",  # adds the documented error answers
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "apps.core.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "apps.core.pagination.IdCursorPagination",
    "PAGE_SIZE": 100,
    # Scoped throttles only (the token endpoint): per client address, in the default cache of each process.
    "DEFAULT_THROTTLE_RATES": {"auth": env.str("EARMARK_AUTH_THROTTLE_RATE", default="10/min")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Earmark API",
    "DESCRIPTION": "Audio datasets with consent enforced on every path.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI served from our own static files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"ImportSourceKindEnum": "apps.catalog.models.ImportSourceKind"},
}

# LOG_FORMAT=json (the production shape): one JSON object per line with the request id that follows a request into
# the tasks it queues (apps/core/logs.py); otherwise plain lines for people, with the id too.
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "apps.core.logs.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "apps.core.logs.JsonFormatter"},
        "text": {"format": "[%(asctime)s %(levelname)s %(name)s %(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "axes": {"level": "WARNING"},
        # One line per request (apps.core.logs.RequestIdMiddleware): on in the JSON profile, off for `make run`.
        "earmark.access": {"level": "INFO" if LOG_FORMAT == "json" else "WARNING"},
    },
}
