from django.urls import path

from apps.review.views import agreement, qa, review

urlpatterns = [
    path("projects/<int:project_id>/qa/", qa.ProjectQAListView.as_view(), name="project-qa"),
    path(
        "projects/<int:project_id>/qa/transcripts/",
        qa.ProjectTranscriptQAListView.as_view(),
        name="project-transcript-qa",
    ),
    path("projects/<int:project_id>/qa/settings/", qa.ProjectQASettingsView.as_view(), name="project-qa-settings"),
    path("recordings/<int:recording_id>/qa/", qa.RecordingQAView.as_view(), name="recording-qa"),
    path("recordings/<int:recording_id>/qa/accept/", qa.RecordingQAAcceptView.as_view(), name="recording-qa-accept"),
    path("projects/<int:project_id>/review/next/", review.ProjectReviewNextView.as_view(), name="project-review-next"),
    path("annotations/<int:annotation_id>/review/", review.AnnotationReviewView.as_view(), name="annotation-review"),
    path(
        "annotations/<int:annotation_id>/reviews/",
        review.AnnotationReviewHistoryView.as_view(),
        name="annotation-reviews",
    ),
    path("projects/<int:project_id>/agreement/", agreement.ProjectAgreementView.as_view(), name="project-agreement"),
    path(
        "projects/<int:project_id>/agreement/annotators/",
        agreement.ProjectAgreementAnnotatorsView.as_view(),
        name="project-agreement-annotators",
    ),
    path("projects/<int:project_id>/gold/", agreement.ProjectGoldView.as_view(), name="project-gold"),
    path(
        "recordings/<int:recording_id>/consensus/",
        agreement.RecordingConsensusView.as_view(),
        name="recording-consensus",
    ),
]
