from django.urls import path

from apps.catalog import views

urlpatterns = [
    path("projects/", views.ProjectListView.as_view(), name="project-list"),
    path("projects/<int:project_id>/", views.ProjectDetailView.as_view(), name="project-detail"),
    path("projects/<int:project_id>/recordings/", views.ProjectRecordingsView.as_view(), name="project-recordings"),
    path("projects/<int:project_id>/imports/", views.ProjectImportsView.as_view(), name="project-imports"),
    path(
        "projects/<int:project_id>/import-sources/",
        views.ProjectImportSourcesView.as_view(),
        name="project-import-sources",
    ),
    path("import-sources/", views.ImportSourceListView.as_view(), name="import-source-list"),
    path("import-sources/<int:source_id>/", views.ImportSourceDetailView.as_view(), name="import-source-detail"),
    path("imports/<int:import_id>/", views.ImportDetailView.as_view(), name="import-detail"),
    path("recordings/<int:recording_id>/", views.RecordingDetailView.as_view(), name="recording-detail"),
    path("recordings/<int:recording_id>/audio", views.RecordingAudioView.as_view(), name="recording-audio"),
]
