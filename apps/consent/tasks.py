"""Thin Celery entry points for consent's periodic work (scheduled in config/celery.py)."""
# Queue: "default" (CELERY_TASK_DEFAULT_QUEUE; consent.* has no route of its own).

from celery import shared_task

from apps.consent.services import consents_expire, recordings_retention_due
from apps.consent.services.purge import purges_run_due

COMMON = {"soft_time_limit": 1800, "time_limit": 1900, "acks_late": True}


@shared_task(name="consent.purge_due", autoretry_for=(OSError,), retry_backoff=True, max_retries=5, **COMMON)
def purge_due() -> dict:
    """Run purges whose grace period is over (resumes half-done ones)."""
    return purges_run_due()


@shared_task(name="consent.expire_due", **COMMON)
def expire_due() -> int:
    """Mark consents past their expiry as expired, with the same effects as a withdrawal."""
    return consents_expire()


@shared_task(name="consent.retention_due", **COMMON)
def retention_due() -> int:
    """Withdraw recordings older than their project's retention period (purged on the next purge run)."""
    return recordings_retention_due()
