"""The hook registry: how a lower app tells a higher one something without importing it.

DESIGN.md orders the apps as layers (core → accounts → catalog → consent → processing → annotation →
review → learning → datasets → events …); an app imports only apps below it. When a lower app's service
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
