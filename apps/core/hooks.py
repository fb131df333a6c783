"""The hook registry: how a lower app tells a higher one something without importing it.

The apps are layers (core → accounts → catalog → consent → processing → annotation → review → collection →
learning → datasets → events; .importlinter checks it): an app imports only apps below it. When a lower app's service
must reach a higher one (a withdrawal telling annotation, learning, datasets and events), it calls
``hook_call(HOOK_NAME, ...)`` here, and the higher app registers a plain function for that name in its
``AppConfig.ready()`` with ``hook_register``. Hooks run synchronously, inside the caller's transaction,
in registration order (app order in INSTALLED_APPS); an exception propagates and rolls the caller back.

Every hook name is declared in ``HOOKS`` with the keyword arguments it is called with, so a typo fails
at registration instead of silently never firing. Grep for the constant to find both ends.
"""

from collections.abc import Callable
from typing import Any

# name → what it means and the keyword arguments it is called with.
HOOKS: dict[str, str] = {}


def hook_declare(name: str, doc: str) -> str:
    """Declare a hook name (at import time of the module that calls it); returns the name."""
    HOOKS.setdefault(name, doc)
    return name


RECORDINGS_WITHDRAWN = hook_declare(
    "recordings_withdrawn",
    "recording_ids: list[int], lost: dict[str, set[int]] (purpose value → ids no longer usable for it), "
    "reason: str. Called by consent inside the withdrawal's transaction; returns a dict of counts to "
    "merge into the withdrawal's summary (e.g. {'assignments_cancelled': 3}).",
)

# core → accounts
PROJECT_ROLE = hook_declare(
    "project_role",
    "user, project_id → the user's role in the project (staff count as managers) or None. accounts answers "
    "from Membership; apps.core.permissions.project_role_require is the one caller.",
)

# catalog → consent
RECORDINGS_USABLE = hook_declare(
    "recordings_usable",
    "actor, purpose (a consent Purpose value) → QuerySet of the recordings the actor may use for it. "
    "Exactly one handler: consent's selector of the same name (catalog's recording lists read through it).",
)
RECORDING_GET_USABLE = hook_declare(
    "recording_get_usable",
    "actor, purpose, recording_id → the Recording, or Http404 whether it is missing or off limits. "
    "Exactly one handler: consent's selector of the same name.",
)
RECORDING_INGEST_CHECK = hook_declare(
    "recording_ingest_check",
    "project, speaker (or None) → None, or a reason in words when the file is stored but held in quarantine "
    "(ingest reports it as 'quarantined'); raises DomainError when consent says the file may not be stored. "
    "Called by catalog ingest inside the recording's transaction, before anything is written.",
)
AUDIT_RECORD = hook_declare(
    "audit_record",
    "actor, action, object_type, object_id, project_id → None: consent writes the audit event "
    "(catalog's audio download).",
)
DEMO_PROJECT_SEED = hook_declare(
    "demo_project_seed",
    "project, actor, speaker_codes → None. bootstrap_demo's project before its clips are ingested: consent "
    "records a form and speakers who consented to every purpose, annotation sets the label schema.",
)

# catalog → processing
RECORDING_INGESTED = hook_declare(
    "recording_ingested",
    "recording → None: a new recording was stored; processing creates its job (sent after commit).",
)
RECORDINGS_INGESTED = hook_declare(
    "recordings_ingested",
    "project, recording_ids → None: many recordings created in the current transaction (a batch); "
    "processing creates their jobs in one insert (sent after commit).",
)
RECORDINGS_ANNOTATE = hook_declare(
    "recordings_annotate",
    "a Recording QuerySet (positional) → the QuerySet with what catalog lists show added (processing: the latest "
    "job's status and percent). Handlers are chained with hook_chain.",
)
RECORDING_PROCESSING = hook_declare(
    "recording_processing",
    "recording → {'status', 'percent'} of its latest processing job. Exactly one handler: processing.",
)

# consent → annotation, processing
RECORDING_PURGE_ASSIGNMENTS = hook_declare(
    "recording_purge_assignments",
    "recording_ids → None: the purge's first step; annotation cancels open assignments.",
)
RECORDING_PURGE_TRANSCRIPTS = hook_declare(
    "recording_purge_transcripts",
    "recording_ids → None: the purge's second step; annotation redacts transcripts and region text.",
)
RECORDING_PURGE_DERIVED = hook_declare(
    "recording_purge_derived",
    "recording → list of deleted storage keys: the purge's third step; processing deletes artifacts.",
)
ANNOTATIONS_EXPORT = hook_declare(
    "annotations_export",
    "recording_ids → list of plain dicts (regions, labels, transcripts) for a speaker's subject-access "
    "export. Exactly one handler: annotation.",
)

# processing → annotation, review
RECORDING_PROCESSED = hook_declare(
    "recording_processed",
    "recording_id, original (a local path to the original audio), measured (the whole original's QA metrics and "
    "fingerprint, a dsp.qa_stream.SignalMeasures, when processing's pass decoded all of it; else None) → None: "
    "processing finished a recording; annotation queues draft transcripts (languages the project drafts), review "
    "runs automatic QA. The caller logs a handler's exception and keeps the finished job.",
)

# annotation → review
QUEUE_EXCLUDED_IDS = hook_declare(
    "queue_excluded_ids",
    "project_id → a values_list subquery of recording ids the annotation queue must not hand out "
    "(review: flagged by QA and not accepted).",
)
QUEUE_GOLD_IDS = hook_declare(
    "queue_gold_ids",
    "project_id → a values_list subquery of recording ids every annotator gets once, whatever the overlap "
    "(review: gold items).",
)

# catalog → consent, processing, annotation, review, datasets
RECORDING_PANELS = hook_declare(
    "recording_panels",
    "actor, recording (already passed through the consent selector for the actor) → a panel dict or None. "
    "Called by the catalog's recording page; each higher app returns {order: int, title: str, testid: str, "
    "rows: [(label, value)], table: {head: [...], rows: [[cell, ...]]}, empty: str}. A cell is text or "
    "{text, url}.",
)
# lower apps → events (webhooks)
RELEASE_NEEDS_REBUILD = hook_declare(
    "release_needs_rebuild",
    "release_id: int, project_id: int, reason: str. Called by datasets inside the withdrawal's transaction when "
    "a release is newly marked for a rebuild (downloads blocked).",
)
RELEASE_PUBLISHED = hook_declare(
    "release_published",
    "release_id: int, project_id: int, version: int. Called by datasets inside the transaction that publishes "
    "a built release.",
)
IMPORT_FINISHED = hook_declare(
    "import_finished",
    "import_id: int, project_id: int, status: str ('done' or 'failed'), counts: dict[str, int]. Called by "
    "catalog inside the transaction that records an import batch's end.",
)
MODEL_READY = hook_declare(
    "model_ready",
    "model_id: int, project_id: int. For the learning app to call inside the transaction that marks a trained "
    "project model ready.",
)

# core's storage sweep → catalog, consent, processing, datasets
STORAGE_OWNERS = hook_declare(
    "storage_owners",
    "no arguments. Returns a list of (prefix, owned) pairs: every storage key under ``prefix`` belongs to "
    "the app, and ``owned(keys: list[str]) -> set[str]`` tells which of those keys a row still points at. "
    "The storage sweep (apps.core.sweep) deletes old objects under a prefix that no row owns.",
)

# annotation → review (issue 18)
TRANSCRIPT_ALIGNED = hook_declare(
    "transcript_aligned",
    "annotation_id: int. Called by annotation (on a worker, outside a request) after the regions of an annotation "
    "were force-aligned (or found unalignable); review recomputes the annotation's transcript QA flags.",
)

# annotation → learning
QUEUE_ORDER = hook_declare(
    "queue_order",
    "project_id: int, candidates: QuerySet of recordings. Called by annotation's queue; returns the candidates "
    "in the project's chosen order (learning: random, or most uncertain first), or None to keep id order.",
)

# accounts → consent (issue 13)
LOGIN_EVENT = hook_declare(
    "login_event",
    "event: str ('login_succeeded' | 'login_failed' | 'locked_out'), user_id: int | None (the account the "
    "typed name matched, if any), via: str ('page' | 'api' | 'admin'). Called by accounts on every sign-in "
    "attempt; consent writes it to the audit log (accounts sits below consent, so it cannot write there itself). "
    "Never carries a password, the typed username or an address.",
)

# consent → annotation, review (issue 13)
RECORDING_IN_WORK = hook_declare(
    "recording_in_work",
    "actor: User, role: str ('annotator' | 'reviewer'), recording_id: int. Asked by consent's selectors before "
    "an annotator or reviewer streams a recording (audio, peaks, features, images); returns True when the "
    "recording is in that person's queue, assignments or reviews (annotation and review answer). Streaming "
    "is allowed when any handler says True.",
)

# consent → processing, datasets (issue 12)
RECORDINGS_RELEASED = hook_declare(
    "recordings_released",
    "recording_ids: list[int], reason: str. Called by consent, inside its transaction, when recordings become "
    "storable (consent recorded for a quarantined speaker, a speaker named, a quarantine confirmed): processing "
    "queues those not processed yet. Returns the number of jobs queued.",
)

SUBJECT_ACCESS_SECTIONS = hook_declare(
    "subject_access_sections",
    "speaker_id: int, recordings: dict[int, str] (id → sha256 of every recording of the speaker, purged ones "
    "included). Called by "
    "consent's subject-access export; each higher app returns {file name: JSON-able data} describing what it "
    "holds about them (releases that received the data, derived data held, models trained on it ...).",
)

# core's /metrics → catalog, consent, processing, datasets (issue 20)
METRICS_GAUGES = hook_declare(
    "metrics_gauges",
    "no arguments. Called when /metrics is scraped; each app returns a list of (name, help, rows) where rows is a "
    "list of (labels: dict[str, str], value: float): gauges read from its tables (jobs by status, purge "
    "backlog, releases by status). Keep each to one or two aggregate queries.",
)

_registry: dict[str, list[Callable[..., Any]]] = {}


def hook_register(name: str, fn: Callable[..., Any]) -> None:
    """Register ``fn`` for hook ``name`` (call from AppConfig.ready(); registering twice is a no-op)."""
    if name not in HOOKS:
        raise LookupError(f"unknown hook {name!r}: declare it in apps/core/hooks.py")
    handlers = _registry.setdefault(name, [])
    if fn not in handlers:
        handlers.append(fn)


def hook_call(name: str, **kwargs: Any) -> list[Any]:
    """Call every function registered for ``name`` with ``kwargs``; returns their results in order."""
    if name not in HOOKS:
        raise LookupError(f"unknown hook {name!r}: declare it in apps/core/hooks.py")
    return [fn(**kwargs) for fn in _registry.get(name, ())]


def hook_handlers(name: str) -> list[Callable[..., Any]]:
    """The functions registered for ``name`` (for tests and docs)."""
    return list(_registry.get(name, ()))


def hook_one(name: str, **kwargs: Any) -> Any:
    """Call the ONE function registered for ``name`` and return its result (an answer, not a notification).

    Raises LookupError when none or several are registered, so a missing answer (e.g. consent's) fails loudly
    instead of reading as "nothing".
    """
    handlers = _handlers_checked(name)
    if len(handlers) != 1:
        raise LookupError(f"hook {name!r} needs exactly one handler, {len(handlers)} registered")
    return handlers[0](**kwargs)


def hook_chain(name: str, value: Any, **kwargs: Any) -> Any:
    """Pass ``value`` through every function registered for ``name`` (each gets it first and returns it)."""
    for fn in _handlers_checked(name):
        value = fn(value, **kwargs)
    return value


def _handlers_checked(name: str) -> list[Callable[..., Any]]:
    if name not in HOOKS:
        raise LookupError(f"unknown hook {name!r}: declare it in apps/core/hooks.py")
    return list(_registry.get(name, ()))
