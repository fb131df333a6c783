from django.urls import path

from apps.annotation import views

urlpatterns = [
    path("projects/<int:project_id>/labels/", views.ProjectLabelsView.as_view(), name="annotation-labels"),
    path("projects/<int:project_id>/queue/next/", views.QueueNextView.as_view(), name="annotation-queue-next"),
    path(
        "projects/<int:project_id>/queue/progress/",
        views.QueueProgressView.as_view(),
        name="annotation-queue-progress",
    ),
    path("annotations/", views.AnnotationListView.as_view(), name="annotation-list"),
    path("annotations/<int:annotation_id>/", views.AnnotationDetailView.as_view(), name="annotation-detail"),
    path("annotations/<int:annotation_id>/submit/", views.AnnotationSubmitView.as_view(), name="annotation-submit"),
    path("annotations/<int:annotation_id>/skip/", views.AnnotationSkipView.as_view(), name="annotation-skip"),
    path(
        "annotations/<int:annotation_id>/versions/", views.AnnotationVersionsView.as_view(), name="annotation-versions"
    ),
    path(
        "annotations/<int:annotation_id>/drafts/accept/",
        views.AnnotationDraftAcceptView.as_view(),
        name="annotation-draft-accept",
    ),
    path("annotations/<int:annotation_id>/words/", views.AnnotationWordsView.as_view(), name="annotation-words"),
    path("recordings/<int:recording_id>/drafts/", views.RecordingDraftsView.as_view(), name="annotation-drafts"),
]
