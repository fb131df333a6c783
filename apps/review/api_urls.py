from django.urls import path

from apps.review.views import qa

urlpatterns = [
    path("projects/<int:project_id>/qa/", qa.ProjectQAListView.as_view(), name="project-qa"),
    path("projects/<int:project_id>/qa/settings/", qa.ProjectQASettingsView.as_view(), name="project-qa-settings"),
    path("recordings/<int:recording_id>/qa/", qa.RecordingQAView.as_view(), name="recording-qa"),
    path("recordings/<int:recording_id>/qa/accept/", qa.RecordingQAAcceptView.as_view(), name="recording-qa-accept"),
]
