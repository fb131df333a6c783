"""Thin Celery entry points for releases (exports queue, via the `datasets.*` route)."""

from celery import Task, shared_task

from apps.datasets.models import DatasetRelease, ReleaseStatus
from apps.datasets.services import release_build, release_fail, releases_requeue_stale


class ReleaseBuildTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """Failure hook: whatever ended the build (a bug, a time limit), the release must not stay building."""
        release_id = args[0] if args else kwargs.get("release_id")
        if (
            release_id is not None
            and DatasetRelease.objects.filter(id=release_id, status=ReleaseStatus.BUILDING).exists()
        ):
            release_fail(
                release_id=release_id,
                message=f"The build stopped on an unexpected error ({type(exc).__name__}); its files were deleted.",
            )


@shared_task(
    base=ReleaseBuildTask,
    name="datasets.release_build",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=12 * 3600,
    time_limit=12 * 3600 + 120,
)
def release_build_task(release_id: int) -> None:
    # release_build claims the row (queued, or building with an expired lease), so a duplicate is a no-op.
    release_build(release_id=release_id)


@shared_task(name="datasets.releases_requeue_stale", soft_time_limit=60, time_limit=90)
def releases_requeue_stale_task() -> int:
    """Periodic: re-send builds whose worker died (lease expired); fail those interrupted too often."""
    return releases_requeue_stale()
