from celery import Task, shared_task

from apps.catalog.services import import_batch_fail, import_batch_run, imports_requeue_stale


class ImportTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """Failure hook: whatever ended the run (a bug, a time limit), the import must not stay running."""
        batch_id = args[0] if args else kwargs.get("batch_id")
        if batch_id is not None:
            import_batch_fail(
                batch_id=batch_id,
                error=f"The import stopped on an unexpected error "
                f"({type(exc).__name__}); the details are in the worker's log.",
            )


@shared_task(
    bind=True,
    base=ImportTask,
    name="catalog.import_batch_run",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=6 * 3600,
    time_limit=6 * 3600 + 60,
)
def import_batch_run_task(self, batch_id: int) -> None:
    # import_batch_run claims the batch (queued, or running with an expired lease); a duplicate is a no-op.
    import_batch_run(batch_id=batch_id)


@shared_task(name="catalog.imports_requeue_stale", soft_time_limit=60, time_limit=90)
def imports_requeue_stale_task() -> int:
    """Periodic: re-send imports whose worker died (lease expired); fail those interrupted too often."""
    return imports_requeue_stale()
