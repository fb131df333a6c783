"""Webhook API shapes: input checks shape only; the service checks the URL and events."""

from rest_framework import serializers

from apps.events.models import Event, WebhookDelivery, WebhookEndpoint


class WebhookCreateInput(serializers.Serializer):
    url = serializers.CharField(max_length=500)
    events = serializers.ListField(child=serializers.ChoiceField(choices=Event.choices), allow_empty=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class WebhookOutput(serializers.ModelSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = ["id", "project", "url", "events", "description", "active", "created_at"]


class WebhookCreatedOutput(WebhookOutput):
    """Only the answer to the creating request carries the secret."""

    class Meta(WebhookOutput.Meta):
        fields = WebhookOutput.Meta.fields + ["secret"]


class DeliveryOutput(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "body",
            "status",
            "attempts",
            "response_status",
            "response_body",
            "error",
            "log",
            "next_attempt_at",
            "created_at",
            "delivered_at",
        ]
