from django.urls import path

from apps.catalog import pages

app_name = "catalog"
urlpatterns = [
    path("", pages.project_list_page, name="project-list"),
    path("projects/new/", pages.project_create_page, name="project-create"),
    path("projects/<int:project_id>/", pages.project_detail_page, name="project-detail"),
    path("projects/<int:project_id>/members/", pages.members_page, name="members"),
    path("projects/<int:project_id>/recordings/", pages.recording_list_page, name="recording-list"),
    path("projects/<int:project_id>/upload/", pages.upload_page, name="upload"),
    path("recordings/<int:recording_id>/", pages.recording_detail_page, name="recording-detail"),
]
