"""The jobs panel of the catalogue's recording page (recording_panels hook)."""

from apps.processing.models import Artifact, ProcessingJob


def recording_jobs_panel(*, actor, recording) -> dict:
    """The recording's processing jobs, newest first, and which artifacts it has."""
    jobs = ProcessingJob.objects.filter(recording=recording).order_by("-id")[:10]
    rows = [
        [
            {"text": str(j.id), "url": f"/api/v1/jobs/{j.id}/"},
            j.get_status_display(),
            j.stage or "—",
            f"{j.percent:.0f}%",
            j.error or "—",
        ]
        for j in jobs
    ]
    kinds = sorted(set(Artifact.objects.filter(recording=recording).values_list("kind", flat=True)))
    return {
        "order": 10,
        "title": "Processing jobs",
        "testid": "jobs",
        "rows": [("Artifacts", ", ".join(kinds) or "none yet")],
        "table": {"head": ["Job", "Status", "Stage", "Done", "Message"], "rows": rows},
    }
