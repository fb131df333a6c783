from django.urls import path

from apps.events import pages

app_name = "events"
urlpatterns = [
    path("projects/<int:project_id>/webhooks/", pages.webhook_list_page, name="webhook-list"),
    path("webhooks/<int:webhook_id>/", pages.webhook_detail_page, name="webhook-detail"),
]
