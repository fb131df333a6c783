"""Webhook API: thin views — authenticate, parse, one call, render."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.pagination import IdCursorPagination
from apps.events import services
from apps.events.models import WebhookDelivery, WebhookEndpoint
from apps.events.selectors import delivery_list, webhook_get, webhook_list
from apps.events.serializers import DeliveryOutput, WebhookCreatedOutput, WebhookCreateInput, WebhookOutput


class ProjectWebhooksView(ListAPIView):
    """A project's webhook endpoints (managers); POST registers one and answers with its secret, once."""

    serializer_class = WebhookOutput
    pagination_class = IdCursorPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookEndpoint.objects.none()
        return webhook_list(actor=self.request.user, project_id=self.kwargs["project_id"])

    @extend_schema(request=WebhookCreateInput, responses={201: WebhookCreatedOutput})
    def post(self, request, project_id):
        webhook_list(actor=request.user, project_id=project_id)  # the managers-only check
        data = WebhookCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_create(actor=request.user, project_id=project_id, **data.validated_data)
        return Response(WebhookCreatedOutput(endpoint).data, status=status.HTTP_201_CREATED)


class WebhookDetailView(APIView):
    @extend_schema(responses=WebhookOutput)
    def get(self, request, webhook_id):
        return Response(WebhookOutput(webhook_get(actor=request.user, endpoint_id=webhook_id)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, webhook_id):
        services.webhook_endpoint_delete(
            actor=request.user, endpoint=webhook_get(actor=request.user, endpoint_id=webhook_id)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveriesView(ListAPIView):
    """Every delivery to one endpoint, newest first, with the body sent and the receiver's responses."""

    serializer_class = DeliveryOutput
    pagination_class = IdCursorPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookDelivery.objects.none()
        return delivery_list(endpoint=webhook_get(actor=self.request.user, endpoint_id=self.kwargs["webhook_id"]))
