from django.urls import path

from apps.annotation import pages, pages_settings

app_name = "annotation"
urlpatterns = [
    path("projects/<int:project_id>/annotate/", pages.annotate_page, name="annotate"),
    path("annotations/<int:annotation_id>/edit/", pages.annotation_edit_page, name="edit"),
    path("projects/<int:project_id>/settings/", pages_settings.project_settings_page, name="project-settings"),
]
