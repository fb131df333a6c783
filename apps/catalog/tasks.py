from celery import shared_task

from apps.catalog.services import import_batch_run


@shared_task(name="catalog.import_batch_run", acks_late=True,
             soft_time_limit=6 * 3600, time_limit=6 * 3600 + 60)
def import_batch_run_task(batch_id: int) -> None:
    import_batch_run(batch_id=batch_id)
