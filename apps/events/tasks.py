"""Thin Celery entry point for webhook deliveries (queue `events`, via the `events.*` route)."""

from celery import shared_task


@shared_task(bind=True, name="events.deliver", acks_late=True, soft_time_limit=60, time_limit=90, max_retries=None)
def webhook_deliver_task(self, delivery_id: int) -> None:
    from apps.events.services import webhook_delivery_send  # services import this module to enqueue (same app)

    attempt = webhook_delivery_send(delivery_id=delivery_id)
    if attempt.retry_in is not None:
        raise self.retry(countdown=attempt.retry_in)


@shared_task(name="events.deliveries_requeue_stale", soft_time_limit=120, time_limit=180)
def deliveries_requeue_stale_task() -> int:
    from apps.events.services import deliveries_requeue_stale

    return deliveries_requeue_stale()
