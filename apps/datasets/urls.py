from django.urls import path

from apps.datasets import pages

app_name = "datasets"
urlpatterns = [
    path("projects/<int:project_id>/releases/", pages.release_list_page, name="release-list"),
    path("releases/<int:release_id>/", pages.release_detail_page, name="release-detail"),
    path("releases/<int:release_id>/diff/<int:other_id>/", pages.release_diff_page, name="release-diff"),
]
