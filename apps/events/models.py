"""Webhook endpoints a project's managers register, and every delivery made to them."""

from django.conf import settings
from django.db import models


class Event(models.TextChoices):
    RECORDING_WITHDRAWN = "recording.withdrawn", "Recordings withdrawn (consent withdrawn, expired or retention)"
    RELEASE_NEEDS_REBUILD = "release.needs_rebuild", "A release needs a rebuild (downloads blocked)"
    RELEASE_PUBLISHED = "release.published", "A release was built and published"
    IMPORT_FINISHED = "import.finished", "An import finished"
    MODEL_READY = "model.ready", "A project model finished training"


class WebhookEndpoint(models.Model):
    """A URL that receives signed POSTs for some of a project's events."""

    project = models.ForeignKey("catalog.Project", on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list, help_text="Event names this endpoint receives.")
    secret = models.CharField(max_length=64, help_text="HMAC-SHA256 key; shown once, when the endpoint is created.")
    description = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"{self.url} ({self.project_id})"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RETRYING = "retrying", "Retrying"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One event sent to one endpoint: the exact body, every attempt's response, and where it stands."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40, choices=Event.choices)
    body = models.TextField(help_text="The JSON sent, byte for byte (ids only).")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, help_text="The start of the last response's body.")
    error = models.TextField(blank=True)
    log = models.JSONField(default=list, blank=True, help_text="Every attempt: when, status code or error.")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["endpoint", "-id"], name="delivery_endpoint_id")]

    def __str__(self):
        return f"{self.event} → {self.endpoint_id} ({self.status})"
