from django.urls import path

from apps.learning import pages

app_name = "learning"
urlpatterns = [
    path("projects/<int:project_id>/models/", pages.models_page, name="models"),
    path("models/<int:model_id>/", pages.model_page, name="model"),
]
