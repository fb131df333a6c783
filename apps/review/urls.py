from django.urls import path

from apps.review import pages

app_name = "review"
urlpatterns = [
    path("projects/<int:project_id>/review/", pages.review_queue_page, name="queue"),
    path("annotations/<int:annotation_id>/review/", pages.annotation_review_page, name="annotation"),
    path("projects/<int:project_id>/dashboard/", pages.dashboard_page, name="dashboard"),
    path("projects/<int:project_id>/overlap/", pages.overlap_page, name="overlap"),
    path("recordings/<int:recording_id>/consensus/", pages.consensus_page, name="consensus"),
]
