from django.urls import path

from apps.learning import views

urlpatterns = [
    path("projects/<int:project_id>/models/", views.ProjectModelsView.as_view(), name="learning-models"),
    path(
        "projects/<int:project_id>/models/compare/",
        views.ProjectModelsCompareView.as_view(),
        name="learning-models-compare",
    ),
    path("projects/<int:project_id>/learning/", views.ProjectLearningView.as_view(), name="learning-settings"),
    path("models/<int:model_id>/", views.ModelDetailView.as_view(), name="learning-model"),
    path(
        "recordings/<int:recording_id>/suggestions",
        views.RecordingSuggestionsView.as_view(),
        name="learning-suggestions",
    ),
]
