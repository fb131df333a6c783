"""Processing's answers to hooks of lower apps (registered in ProcessingConfig.ready())."""

from apps.catalog.models import RecordingStatus
from apps.consent.purposes import Purpose
from apps.consent.selectors import recordings_usable
from apps.processing.models import Artifact
from apps.processing.services import recording_queue_processing


def recordings_released_queue(*, recording_ids: list[int], reason: str) -> int:
    """Queue processing for released recordings that were never processed (quarantine lifted). Returns how many."""
    queued = 0
    for recording in (
        recordings_usable(None, Purpose.STORE)
        .filter(pk__in=recording_ids, status__in=[RecordingStatus.INGESTED, RecordingStatus.FAILED])
        .select_related("project")
    ):
        recording_queue_processing(recording=recording)
        queued += 1
    return queued


def subject_access_derived(*, speaker_id: int, recordings: dict[int, str]) -> dict:
    """Derived data held (kinds, sizes, dates; not the data itself) for a speaker's recordings, by recording."""
    shas = {sha: rid for rid, sha in recordings.items()}  # artifacts are keyed by the bytes they came from
    held: dict[int, list] = {}
    for a in Artifact.objects.filter(source_sha256__in=list(shas)).order_by("source_sha256", "kind"):
        held.setdefault(shas[a.source_sha256], []).append(
            {"kind": a.kind, "bytes": a.bytes, "recipe": a.recipe_hash[:12], "created_at": a.created_at}
        )
    return {"derived.json": [{"recording_id": rid, "artifacts": held.get(rid, [])} for rid in sorted(recordings)]}
