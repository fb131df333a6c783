"""Periodic clean-up after crashes (see apps.core.sweep)."""

from celery import shared_task

from apps.core.sweep import storage_orphans_sweep, temp_files_sweep


@shared_task(name="core.storage_sweep", soft_time_limit=1800, time_limit=1900)
def storage_sweep_task() -> dict:
    """Hourly: remove stored objects no row points at and stale temp files (older than the safe age)."""
    return {"objects": storage_orphans_sweep(), "temp_files": temp_files_sweep()}
