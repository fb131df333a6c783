"""Datasets' answers to hooks of lower apps (registered in DatasetsConfig.ready())."""

from apps.datasets.models import ReleaseItem


def subject_access_releases(*, speaker_id: int, recordings: dict[int, str]) -> dict:
    """Which releases received a speaker's recordings: release, version, purpose, when built, and withdrawn or not."""
    rows = (
        ReleaseItem.objects.filter(recording_ref__in=list(recordings))
        .select_related("release")
        .order_by("release_id", "recording_ref")
    )
    out: dict[int, dict] = {}
    for item in rows:
        r = item.release
        entry = out.setdefault(
            r.id,
            {
                "release_id": r.id,
                "name": r.name,
                "version": r.version,
                "purpose": r.purpose,
                "status": r.status,
                "created_at": r.created_at,
                "needs_rebuild": r.needs_rebuild,
                "recordings": [],
            },
        )
        entry["recordings"].append({"recording_id": item.recording_ref, "withdrawn_at": item.withdrawn_at})
    return {"releases.json": list(out.values())}
