from django.urls import path

from apps.processing import views, views_artifacts

urlpatterns = [
    path("projects/<int:project_id>/recipe/", views.ProjectRecipeView.as_view(), name="project-recipe"),
    path("projects/<int:project_id>/reprocess/", views.ProjectReprocessView.as_view(), name="project-reprocess"),
    path("jobs/", views.JobListView.as_view(), name="job-list"),
    path("jobs/<int:job_id>/", views.JobDetailView.as_view(), name="job-detail"),
    path("recordings/<int:recording_id>/peaks", views_artifacts.RecordingPeaksView.as_view(), name="recording-peaks"),
    path(
        "recordings/<int:recording_id>/features/<str:kind>",
        views_artifacts.RecordingFeatureView.as_view(),
        name="recording-feature",
    ),
    path(
        "recordings/<int:recording_id>/spectrogram.png",
        views_artifacts.RecordingSpectrogramView.as_view(),
        name="recording-spectrogram",
    ),
    path(
        "recordings/<int:recording_id>/spectrogram/tiles/",
        views_artifacts.RecordingTileIndexView.as_view(),
        name="recording-tile-index",
    ),
    path(
        "recordings/<int:recording_id>/spectrogram/tiles/<int:level>/<int:index>.png",
        views_artifacts.RecordingTileView.as_view(),
        name="recording-tile",
    ),
]
