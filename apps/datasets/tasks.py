"""Thin Celery entry points for releases (exports queue, via the `datasets.*` route)."""

from celery import shared_task

from apps.datasets.services import release_build


@shared_task(name="datasets.release_build", acks_late=True, soft_time_limit=12 * 3600, time_limit=12 * 3600 + 120)
def release_build_task(release_id: int) -> None:
    # release_build claims the row with a conditional update, so a redelivered message is a no-op.
    release_build(release_id=release_id)
