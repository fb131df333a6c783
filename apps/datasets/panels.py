"""The releases panel of the catalogue's recording page (recording_panels hook)."""

from apps.datasets.models import DatasetRelease, ReleaseItem


def recording_releases_panel(*, actor, recording) -> dict:
    """The releases this recording is in (by its frozen manifest rows), with their split."""
    items = ReleaseItem.objects.filter(recording_ref=recording.id).values("release_id", "split", "withdrawn_at")
    splits: dict[int, set] = {}
    withdrawn: set[int] = set()
    for item in items:
        splits.setdefault(item["release_id"], set()).add(item["split"])
        if item["withdrawn_at"]:
            withdrawn.add(item["release_id"])
    releases = DatasetRelease.objects.filter(id__in=list(splits)).order_by("-id")
    rows = [
        [
            {"text": f"{r.name} v{r.version}", "url": f"/releases/{r.id}/"},
            r.get_status_display(),
            ", ".join(sorted(splits[r.id])),
            "withdrawn since" if r.id in withdrawn else "—",
        ]
        for r in releases
    ]
    return {
        "order": 50,
        "title": "Releases it is in",
        "testid": "releases",
        "table": {"head": ["Release", "Status", "Split", "Note"], "rows": rows},
        "empty": "Not in any release.",
    }
