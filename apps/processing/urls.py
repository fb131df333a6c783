from django.urls import path

from apps.processing import pages

app_name = "processing"
urlpatterns = [
    path("projects/<int:project_id>/processing/", pages.project_processing_page, name="project-processing"),
    path("projects/<int:project_id>/processing/reprocess/", pages.project_reprocess_page, name="project-reprocess"),
]
