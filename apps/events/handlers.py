"""Hook handlers (registered in EventsConfig.ready): lower apps' news turned into webhook deliveries.

Each runs inside the caller's transaction; deliveries are sent after it commits. Payloads carry ids only.
"""

from __future__ import annotations

from apps.events.models import Event
from apps.events.services import event_emit, events_for_recordings


def on_recordings_withdrawn(*, recording_ids: list[int], lost: dict, reason: str, **_: object) -> dict[str, int]:
    purposes = {p: sorted(ids) for p, ids in sorted(lost.items()) if ids}
    n = events_for_recordings(
        recording_ids=recording_ids, event=Event.RECORDING_WITHDRAWN, data={"reason": reason, "purposes": purposes}
    )
    return {"webhooks_queued": n}


def on_release_needs_rebuild(*, release_id: int, project_id: int, reason: str, **_: object) -> int:
    return event_emit(
        project_id=project_id, event=Event.RELEASE_NEEDS_REBUILD, data={"release_id": release_id, "reason": reason}
    )


def on_release_published(*, release_id: int, project_id: int, version: int, **_: object) -> int:
    return event_emit(
        project_id=project_id, event=Event.RELEASE_PUBLISHED, data={"release_id": release_id, "version": version}
    )


def on_import_finished(*, import_id: int, project_id: int, status: str, counts: dict, **_: object) -> int:
    return event_emit(
        project_id=project_id,
        event=Event.IMPORT_FINISHED,
        data={"import_id": import_id, "status": status, "counts": dict(counts)},
    )


def on_model_ready(*, model_id: int, project_id: int, **_: object) -> int:
    return event_emit(project_id=project_id, event=Event.MODEL_READY, data={"model_id": model_id})
